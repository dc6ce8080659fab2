use mcpstore_errors::{McpStoreError, fallback, retry};

// Out of the type's range: said as such, not as the value it wraps to.
#[retry(max_attempts = 4_294_967_296)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

#[fallback(cache(capacity = 99_999_999_999_999_999_999))]
fn tools() -> Result<Vec<String>, McpStoreError> {
    Ok(Vec::new())
}

// A cache whose entries are stale at once never answers.
#[fallback(cache(ttl = "0s"))]
fn prompts() -> Result<Vec<String>, McpStoreError> {
    Ok(Vec::new())
}

fn backup() -> Result<Vec<String>, McpStoreError> {
    Ok(Vec::new())
}

// `default` always answers: what follows it would never run.
#[fallback(default, with = backup, cache(ttl = 0))]
fn resources() -> Result<Vec<String>, McpStoreError> {
    Ok(Vec::new())
}

fn main() {
    let _ = start();
    let _ = tools();
    let _ = prompts();
    let _ = resources();
}

use mcpstore_errors::{McpStoreError, fallback, retry};

// A name written as a string: each is refused with the unquoted form, in one build.
#[retry(strategy = "fibonacci", jitter = "full", on = [Connection, "ServiceTimeout"], no_clone = ["pool"])]
fn start(pool: Vec<u8>) -> Result<usize, McpStoreError> {
    Ok(pool.len())
}

#[retry(strategy = "1.5s", jitter = "0.25")]
#[fallback(default, no_clone = ["pool"])]
fn stop(pool: Vec<u8>) -> Result<usize, McpStoreError> {
    Ok(pool.len())
}

fn main() {
    let _ = start(Vec::new());
    let _ = stop(Vec::new());
}

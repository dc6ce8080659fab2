use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = 3, delay = "10ms", jitter = 1.5)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(jitter = -0.5)]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(jitter = 2)]
fn restart() -> Result<(), McpStoreError> {
    Ok(())
}

// Too large for an `f64`: refused as out of range, the macro does not fail.
#[retry(jitter = -1e400)]
fn huge_negative() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(jitter = 1e400)]
fn huge() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(jitter = 1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000)]
fn many_digits() -> Result<(), McpStoreError> {
    Ok(())
}

// A whole fraction in range, and a raw key: accepted.
#[retry(jitter = 1, r#delay = 0)]
fn reload() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
    let _ = (huge_negative(), huge(), many_digits());
}

use mcpstore_errors::{McpStoreError, retry, timeout};

#[timeout("2s")]
fn blocking() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(attempt_timeout = "2s")]
fn blocking_retried() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {}

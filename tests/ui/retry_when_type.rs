use mcpstore_errors::{McpStoreError, retry};

// The predicate takes the error by value instead of by reference.
#[retry(when = |error: McpStoreError| error.is_retryable())]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

use mcpstore_errors::{McpStoreError, retry};

#[retry(when = |error: &McpStoreError, attempt: u32| attempt < 2 && error.is_retryable())]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

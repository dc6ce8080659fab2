use mcpstore_errors::{McpStoreError, retry};

#[retry(delay = "1s", max_attempts = 2, delay = "2s")]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

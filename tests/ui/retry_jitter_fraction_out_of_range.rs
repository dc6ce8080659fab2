use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = 3, delay = "10ms", jitter = 1.5)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = 0)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

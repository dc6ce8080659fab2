use mcpstore_errors::{McpStoreError, retry};

#[retry(delay = "5 parsecs")]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

use mcpstore_errors::{McpStoreError, retry};

#[retry(on = [ServiceStart, ServiceTimeOut])]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

use mcpstore_errors::{McpStoreError, retry};

#[retry(strategy = expo, jitter = ful)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

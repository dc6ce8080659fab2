use mcpstore_errors::{McpStoreError, retry};

// Every unknown name is reported, with the name meant when one is close.
#[retry(on = [ServiceStart, ServiceTimeOut, Flaky])]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

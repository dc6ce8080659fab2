use mcpstore_errors::{McpStoreError, collect_errors};

#[collect_errors(context = "service_management")]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = stop();
}

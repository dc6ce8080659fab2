use mcpstore_errors::{McpStoreError, collect_errors};

#[collect_errors(context = {"operation": "stop"}, sink = &COLLECTOR)]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = stop();
}

use mcpstore_errors::{McpStoreError, fallback};

#[fallback]
fn tools() -> Result<Vec<String>, McpStoreError> {
    Ok(Vec::new())
}

fn main() {
    let _ = tools();
}

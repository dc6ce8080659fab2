use mcpstore_errors::{McpStoreError, fallback};

#[fallback(otherwise = Vec::new())]
fn tools() -> Result<Vec<String>, McpStoreError> {
    Ok(Vec::new())
}

fn main() {
    let _ = tools();
}

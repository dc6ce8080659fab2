use mcpstore_errors::{McpStoreError, fallback};

// A default of the wrong type is reported at the value.
#[fallback(default = "none")]
fn count(path: &str) -> Result<usize, McpStoreError> {
    Ok(path.len())
}

fn main() {}

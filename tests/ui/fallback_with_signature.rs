use mcpstore_errors::{McpStoreError, fallback};

// The alternative must take the same arguments: this one forgot `page`.
fn tools_from_backup(service: &str) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![service.to_owned()])
}

#[fallback(with = tools_from_backup)]
fn tools(service: &str, page: u32) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![format!("{service}#{page}")])
}

// ...and return the same value type: this one lists numbers, reported at its path.
fn counts_from_backup(service: &str) -> Result<Vec<u32>, McpStoreError> {
    Ok(vec![service.len() as u32])
}

#[fallback(with = counts_from_backup)]
fn tool_names(service: &str) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![service.to_owned()])
}

fn main() {
    let _ = tools("fs", 1);
    let _ = tool_names("fs");
}

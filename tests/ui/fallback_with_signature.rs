use mcpstore_errors::{McpStoreError, fallback};

// The alternative must take the same arguments: this one forgot `page`.
fn tools_from_backup(service: &str) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![service.to_owned()])
}

#[fallback(with = tools_from_backup)]
fn tools(service: &str, page: u32) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![format!("{service}#{page}")])
}

fn main() {
    let _ = tools("fs", 1);
}

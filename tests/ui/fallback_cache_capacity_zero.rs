use mcpstore_errors::{McpStoreError, fallback};

#[fallback(cache(ttl = "1m", capacity = 0))]
fn tools(service: &str) -> Result<Vec<String>, McpStoreError> {
    Err(McpStoreError::service_not_found(service))
}

fn main() {
    let _ = tools("fs");
}

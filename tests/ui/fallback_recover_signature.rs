use mcpstore_errors::{McpStoreError, fallback};

// `recover` gets the same arguments plus `&error`: this one takes the error by value.
fn on_failure(service: &str, error: McpStoreError) -> Result<Vec<String>, McpStoreError> {
    let _ = (service, error);
    Ok(Vec::new())
}

#[fallback(recover = on_failure)]
fn tools(service: &str) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![service.to_owned()])
}

fn main() {
    let _ = tools("fs");
}

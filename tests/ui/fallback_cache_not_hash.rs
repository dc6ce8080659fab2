use mcpstore_errors::{McpStoreError, fallback};

#[derive(Clone)]
struct Filter {
    pattern: String,
}

#[fallback(cache(ttl = "10m"))]
fn tools(service: &str, filter: Filter) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![format!("{service}/{}", filter.pattern)])
}

fn main() {
    let _ = tools("fs", Filter { pattern: "*".to_owned() });
}

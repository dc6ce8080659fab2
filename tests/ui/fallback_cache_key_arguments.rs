use mcpstore_errors::{McpStoreError, fallback};

#[fallback(cache(key = service, key = service))]
fn twice(service: &str) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32)
}

#[fallback(cache(key = , ttl = "1m"))]
fn empty(service: &str) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32)
}

#[fallback(cache(ttl = "1m", key = ))]
fn empty_last(service: &str) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32)
}

#[fallback(cache(key))]
fn bare(service: &str) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32)
}

#[fallback(cache(kye = service))]
fn misspelt(service: &str) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32)
}

fn main() {
    let _ = (twice("a"), empty("a"), empty_last("a"), bare("a"), misspelt("a"));
}

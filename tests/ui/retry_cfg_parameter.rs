use mcpstore_errors::{McpStoreError, fallback, retry};

#[retry(max_attempts = 3, delay = 0)]
fn start(#[cfg(any())] verbose: bool, name: u32) -> Result<u32, McpStoreError> {
    Ok(name)
}

#[fallback(cache)]
fn stop(#[cfg_attr(any(), cfg(any()))] name: u32) -> Result<u32, McpStoreError> {
    Ok(name)
}

fn main() {
    let _ = start(1);
    let _ = stop(1);
}

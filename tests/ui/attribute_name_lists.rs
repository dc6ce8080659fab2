use mcpstore_errors::{McpStoreError, fallback, retry};

// A name listed twice, and a list of none, are each refused at the list.
#[retry(on = [Connection, ServiceTimeout, Connection], no_clone = [])]
fn start(pool: Vec<u8>) -> Result<usize, McpStoreError> {
    Ok(pool.len())
}

#[fallback(default, no_clone = [pool, pool])]
fn stop(pool: Vec<u8>) -> Result<usize, McpStoreError> {
    Ok(pool.len())
}

fn main() {
    let _ = start(Vec::new());
    let _ = stop(Vec::new());
}

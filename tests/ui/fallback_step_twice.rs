use mcpstore_errors::{McpStoreError, fallback};

// A step given twice is reported once, as a duplicate, not also as out of order.
#[fallback(default = 5, default = 6)]
fn start() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[fallback(with = backup, default, with = backup)]
fn stop() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn backup() -> Result<u32, McpStoreError> {
    Ok(2)
}

fn main() {
    let _ = (start(), stop());
}

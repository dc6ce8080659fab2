use mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};

#[retry(max_attempts = 3)]
const fn retried() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[fallback(default)]
pub const fn with_fallback() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[collect_errors]
const fn collected() -> u32 {
    1
}

fn main() {
    let _ = (retried(), with_fallback(), collected());
}

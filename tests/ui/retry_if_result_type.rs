use mcpstore_errors::{McpStoreError, retry};

// The predicate is on `&bool`, but the function's value is a `u16`.
#[retry(retry_if_result = |ok: &bool| !*ok)]
fn port() -> Result<u16, McpStoreError> {
    Ok(8080)
}

fn main() {
    let _ = port();
}

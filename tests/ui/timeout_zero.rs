use mcpstore_errors::{McpStoreError, retry, timeout};

#[timeout("0s")]
async fn zero_timeout() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[timeout(after = 0)]
async fn zero_timeout_by_key() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[retry(attempt_timeout = "0ms")]
async fn zero_attempt_timeout() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[retry(deadline = "0s")]
fn zero_deadline() -> Result<u32, McpStoreError> {
    Ok(1)
}

// With another error in the same attribute, the zero deadline is still reported.
#[retry(deadline = 0, colour = "blue")]
fn zero_deadline_among_others() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn main() {}

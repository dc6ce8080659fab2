use mcpstore_errors::{McpStoreError, collect_errors, fallback, retry, timeout};

#[fallback(default = )]
fn empty_default() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[collect_errors(context = {"a": })]
fn context_without_a_value() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[collect_errors(context = {"a" 1})]
fn context_without_a_colon() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[timeout(-1)]
async fn negative_timeout() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[timeout("1s" "2s")]
async fn two_timeouts() -> Result<u32, McpStoreError> {
    Ok(1)
}

const TWO_SECONDS: std::time::Duration = std::time::Duration::from_secs(2);

#[timeout(TWO_SECONDS)]
async fn timeout_by_name() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[retry(attempt_timeout = -2)]
async fn negative_attempt_timeout() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn main() {}

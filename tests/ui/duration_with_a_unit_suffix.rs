use mcpstore_errors::{McpStoreError, fallback, retry, timeout};

// Rust reads `250ms` as the number 250 with a suffix: each is refused, none read as seconds.
#[fallback(cache(ttl = 10m))]
#[retry(delay = 250ms, max_delay = 1.5h, deadline = 10u64)]
fn suffixed() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[retry(attempt_timeout = 2s)]
async fn per_attempt() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[timeout(50ms)]
async fn positional() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn main() {
    let _ = suffixed();
    let _ = per_attempt();
    let _ = positional();
}

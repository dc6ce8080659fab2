use mcpstore_errors::{McpStoreError, circuit_breaker, retry, timeout};

// Each attempt cancelled above the breaker: a hung service would never open it. Refused.
#[retry(max_attempts = 3, delay = 0, attempt_timeout = "2s")]
#[circuit_breaker(service = "fs")]
async fn attempts_cancelled_over_the_breaker() -> Result<u32, McpStoreError> {
    Ok(1)
}

// The call cancelled above the breaker. Refused.
#[timeout("2s")]
#[circuit_breaker(service = "git")]
async fn call_cancelled_over_the_breaker() -> Result<u32, McpStoreError> {
    Ok(1)
}

// A timeout under the breaker bounds each call first; the one above bounds the whole
// retried call. Accepted.
#[timeout("30s")]
#[retry(max_attempts = 3, delay = 0)]
#[circuit_breaker(service = "db")]
#[timeout("2s")]
async fn bounded_under_and_over_the_breaker() -> Result<u32, McpStoreError> {
    Ok(1)
}

// A breaker over the retried call sees its final timeout. Accepted.
#[circuit_breaker(service = "web")]
#[retry(max_attempts = 3, delay = 0, attempt_timeout = "2s")]
async fn breaker_over_the_attempt_timeout() -> Result<u32, McpStoreError> {
    Ok(1)
}

// The timeout under the breaker is longer than the attempt timeout above it: the attempt is
// cancelled first, and the breaker counts nothing. Refused.
#[retry(max_attempts = 3, delay = 0, attempt_timeout = "1s")]
#[circuit_breaker(service = "search")]
#[timeout("1h")]
async fn the_bound_under_the_breaker_never_fires_first() -> Result<u32, McpStoreError> {
    Ok(1)
}

// Directly above the breaker, a timeout as long as the one under it. Refused.
#[timeout("5s")]
#[circuit_breaker(service = "mail")]
#[timeout("5s")]
async fn two_equal_bounds() -> Result<u32, McpStoreError> {
    Ok(1)
}

// The attempt timeout above is the longer one: the breaker's own fires first. Accepted.
#[retry(max_attempts = 3, delay = 0, attempt_timeout = "3s")]
#[circuit_breaker(service = "calendar")]
#[timeout("2s")]
async fn the_bound_under_the_breaker_fires_first() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn main() {}

//! The demo; grows into a full tour of the crate.

use std::time::Duration;

use mcpstore_errors::{Jitter, McpStoreError, RetryConfig, RetryStrategy};

fn main() {
    let config = RetryConfig::new()
        .max_attempts(5)
        .strategy(RetryStrategy::Exponential)
        .base_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(30))
        .jitter(Jitter::None);
    let delays: Vec<_> = config.backoff().collect();
    println!("exponential backoff, 5 attempts: {delays:?}");
    let error = McpStoreError::service_start_failed("filesystem", "port busy");
    println!("{} [{}] — {}", error, error.code(), error.help());
}

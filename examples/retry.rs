//! Retrying: the `#[retry]` attribute, then `RetryManager` with each strategy and jitter.
//!
//! `cargo run -p mcpstore-errors-examples --example retry`

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use mcpstore_errors::{
    ErrorKind, Jitter, McpStoreError, RetryConfig, RetryManager, RetryStrategy, SeededRandom,
    VirtualSleeper, retry,
};
use mcpstore_errors_examples::narrate::format_delays;

/// Prints each retry: the failed attempt, its error and the wait before the next one.
fn log_attempt(attempt: u32, error: &McpStoreError, delay: Duration) {
    println!(
        "  🔄 attempt {attempt} failed, retrying in {}ms: {error}",
        delay.as_millis()
    );
}

/// The seed's `start_service_with_retry`, with 100 ms instead of 1 s so the example is quick.
/// Only start failures and timeouts are retried.
#[retry(max_attempts = 3, delay = "100ms", on = [ServiceStart, ServiceTimeout], on_retry = log_attempt)]
fn start_service_with_retry(starts: &Cell<u32>, service_name: &str) -> Result<bool, McpStoreError> {
    starts.set(starts.get() + 1);
    match starts.get() {
        1 => Err(McpStoreError::service_start_failed(
            service_name,
            "port busy",
        )),
        2 => Err(McpStoreError::service_timeout(
            service_name,
            Duration::from_secs(5),
        )),
        _ => Ok(true),
    }
}

/// Not retried: a missing service will not appear by waiting.
#[retry(max_attempts = 3, delay = "100ms", on = [ServiceStart, ServiceTimeout], on_retry = log_attempt)]
fn start_missing_service(service_name: &str) -> Result<bool, McpStoreError> {
    Err(McpStoreError::service_not_found(service_name))
}

/// The same attribute works on `async fn`; the wait is tokio's timer.
#[retry(max_attempts = 4, strategy = linear, delay = "20ms", when = retryable, on_retry = log_attempt)]
async fn fetch_status(calls: &Cell<u32>) -> Result<&'static str, McpStoreError> {
    calls.set(calls.get() + 1);
    if calls.get() < 3 {
        Err(McpStoreError::connection("connection reset by peer"))
    } else {
        Ok("running")
    }
}

fn main() {
    println!("#[retry] on a sync fn:");
    let starts = Cell::new(0);
    match start_service_with_retry(&starts, "filesystem") {
        Ok(started) => println!("  ✅ started: {started} after {} attempts", starts.get()),
        Err(e) => println!("  ❌ gave up: {e}"),
    }
    match start_missing_service("nonexistent") {
        Ok(_) => println!("  ✅ started"),
        Err(e) => println!("  ❌ not retried ({}): {e}", e.code()),
    }

    println!("\n#[retry] on an async fn:");
    match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => {
            let calls = Cell::new(0);
            match runtime.block_on(fetch_status(&calls)) {
                Ok(status) => println!("  ✅ {status} after {} attempts", calls.get()),
                Err(e) => println!("  ❌ gave up: {e}"),
            }
        }
        Err(e) => println!("  cannot start a runtime: {e}"),
    }

    println!("\nRetryManager, 6 attempts of an operation that always fails (virtual sleep):");
    for strategy in RetryStrategy::ALL {
        let config = RetryConfig::new()
            .max_attempts(6)
            .strategy(strategy)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .jitter(Jitter::None);
        println!(
            "  {:<12} {}",
            format!("{strategy:?}"),
            format_delays(&delays_of(config))
        );
    }

    println!("\nExponential with each jitter (seeded, so every run prints the same):");
    for jitter in [
        Jitter::None,
        Jitter::Proportional(0.1),
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let config = RetryConfig::new()
            .max_attempts(6)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .jitter(jitter)
            .random(Arc::new(SeededRandom::new(42)));
        println!(
            "  {:<20} {}",
            format!("{jitter:?}"),
            format_delays(&delays_of(config))
        );
    }

    println!("\nThe seed's health check: retry service and connection errors, and `false`:");
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(5)
            .strategy(RetryStrategy::Exponential)
            .base_delay(Duration::from_secs(1))
            .max_delay(Duration::from_secs(30))
            .sleeper(sleeper.clone()),
    )
    .retry_on([ErrorKind::Service, ErrorKind::Connection])
    .retry_if_result(|healthy: &bool| !*healthy);
    let checks = Cell::new(0);
    let healthy = manager.execute(|| {
        checks.set(checks.get() + 1);
        match checks.get() {
            1 => Err(McpStoreError::connection("connection refused")),
            2 => Ok(false),
            _ => Ok(true),
        }
    });
    println!(
        "  healthy: {healthy:?} after {} checks, waited {} (virtually)",
        checks.get(),
        format_delays(&sleeper.delays())
    );
}

/// The delays a `RetryManager` sleeps with `config` when every attempt fails.
fn delays_of(config: RetryConfig) -> Vec<Duration> {
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(config.sleeper(sleeper.clone()));
    let _: Result<(), McpStoreError> =
        manager.execute(|| Err(McpStoreError::connection("connection refused")));
    sleeper.delays()
}

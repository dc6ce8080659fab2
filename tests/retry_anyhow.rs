//! Retrying functions that return `anyhow::Result` (feature `anyhow`): an `anyhow::Error` is
//! classified by the `McpStoreError` (or `io::Error`) in its chain, context included, through
//! the attribute and through `RetryManager` alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcpstore_errors::{
    Classify, ErrorKind, Jitter, McpStoreError, RetryConfig, RetryManager, StopReason,
    VirtualSleeper, retry,
};

/// Fails with `errors[n]` on call `n`, then succeeds with the number of calls.
fn script(calls: &AtomicU32, errors: &[fn() -> anyhow::Error]) -> anyhow::Result<u32> {
    let call = calls.fetch_add(1, Ordering::SeqCst) as usize;
    match errors.get(call) {
        Some(error) => Err(error()),
        None => Ok(call as u32 + 1),
    }
}

fn refused() -> anyhow::Error {
    anyhow::Error::from(McpStoreError::connection("refused")).context("listing tools")
}

fn unknown_tool() -> anyhow::Error {
    anyhow::Error::from(McpStoreError::tool_not_found("raed", Some("fs"))).context("calling")
}

fn reset() -> anyhow::Error {
    anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
}

#[retry(max_attempts = 4, delay = 0, on = [Connection])]
fn on_connection(calls: &AtomicU32, errors: &[fn() -> anyhow::Error]) -> anyhow::Result<u32> {
    script(calls, errors)
}

#[retry(max_attempts = 4, delay = 0, when = retryable)]
fn when_retryable(calls: &AtomicU32, errors: &[fn() -> anyhow::Error]) -> anyhow::Result<u32> {
    script(calls, errors)
}

#[test]
fn an_anyhow_error_is_classified_by_the_store_error_in_its_chain() {
    assert_eq!(refused().error_kind(), Some(ErrorKind::Connection));
    assert!(Classify::is_retryable(&refused()));
    assert_eq!(unknown_tool().error_kind(), Some(ErrorKind::ToolNotFound));
    assert!(!Classify::is_retryable(&unknown_tool()));
    assert_eq!(reset().error_kind(), Some(ErrorKind::Connection));
    let plain = anyhow::anyhow!("no kind at all");
    assert_eq!(plain.error_kind(), None);
    assert!(!Classify::is_retryable(&plain));
    let busy = anyhow::Error::from(
        McpStoreError::connection("busy").with_retry_after(Duration::from_secs(3)),
    )
    .context("outer");
    assert_eq!(busy.retry_after(), Some(Duration::from_secs(3)));
}

#[test]
fn the_attribute_retries_an_anyhow_error_by_its_kind() {
    for retried in [on_connection, when_retryable] {
        let calls = AtomicU32::new(0);
        assert_eq!(retried(&calls, &[refused, reset]).unwrap(), 3);
        let calls = AtomicU32::new(0);
        let error = retried(&calls, &[unknown_tool, refused]).unwrap_err();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a missing tool is not retried"
        );
        assert!(error.to_string().contains("calling"), "{error}");
    }
}

#[test]
fn retry_manager_classifies_an_anyhow_error_alike() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(4)
            .jitter(Jitter::None)
            .sleeper(sleeper.clone()),
    )
    .retry_if_retryable();
    let calls = AtomicU32::new(0);
    let (result, stats) = manager.execute_outcome(|| script(&calls, &[refused, reset]));
    assert_eq!(result.unwrap(), 3);
    assert_eq!(stats.attempts, 3);
    let calls = AtomicU32::new(0);
    let (result, stats) = manager.execute_outcome(|| script(&calls, &[unknown_tool]));
    assert!(result.is_err());
    assert_eq!(
        (stats.attempts, stats.stop_reason),
        (1, StopReason::NotRetryable)
    );
}

#[test]
fn an_attempt_cut_off_by_retry_managers_attempt_timeout_fails_as_a_service_timeout() {
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(2)
            .jitter(Jitter::None)
            .attempt_timeout(Duration::from_secs(2))
            .sleeper(Arc::new(VirtualSleeper::new())),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let error = runtime
        .block_on(manager.execute_async(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<anyhow::Result<()>>().await
        }))
        .unwrap_err();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "each attempt was cut off and retried"
    );
    assert_eq!(error.error_kind(), Some(ErrorKind::ServiceTimeout));
    let store = error
        .downcast_ref::<McpStoreError>()
        .expect("the timeout error");
    assert_eq!(store.kind(), ErrorKind::ServiceTimeout);
}

//! The success path is free: a succeeding operation under `RetryManager` allocates nothing and
//! draws no random number, even with jitter, filters and a hook configured. Without the
//! `metrics` feature: with it, each success builds its counter's key, which allocates.

#![cfg(not(feature = "metrics"))]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mcpstore_errors::{
    ErrorKind, Jitter, McpStoreError, RetryConfig, RetryManager, SeededRandom, VirtualSleeper,
};
use mcpstore_errors_tests::{CountingAllocator, allocations_during};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Polls `future` once with a waker that does nothing; the success path must finish at once.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    future.poll(&mut cx)
}

/// A policy with jitter on, a seeded source to count draws, and a virtual sleeper.
fn jittered_policy() -> (RetryConfig, Arc<SeededRandom>) {
    let random = Arc::new(SeededRandom::new(11));
    let config = RetryConfig::new()
        .max_attempts(5)
        .base_delay(Duration::from_millis(100))
        .jitter(Jitter::Full)
        .random(random.clone())
        .sleeper(Arc::new(VirtualSleeper::new()));
    (config, random)
}

#[test]
fn the_counter_sees_an_allocation() {
    let (_, allocations) = allocations_during(|| black_box(Box::new(7u64)));
    assert!(allocations >= 1);
}

#[test]
fn execute_that_succeeds_allocates_nothing_and_draws_nothing() {
    let (config, random) = jittered_policy();
    let manager = RetryManager::new(config);
    let (result, allocations) =
        allocations_during(|| manager.execute(|| Ok::<_, McpStoreError>(black_box(42))));
    assert_eq!(result.unwrap(), 42);
    assert_eq!(allocations, 0);
    assert_eq!(random.draws(), 0);
}

#[test]
fn execute_with_filters_and_a_hook_that_succeeds_allocates_nothing() {
    let (config, random) = jittered_policy();
    let manager = RetryManager::new(config)
        .retry_on([ErrorKind::Service, ErrorKind::Connection])
        .retry_if_result(|healthy: &bool| !*healthy)
        .on_retry(|_: u32, _: &McpStoreError, _: Duration| {});
    let (result, allocations) =
        allocations_during(|| manager.execute(|| Ok::<_, McpStoreError>(black_box(true))));
    assert!(result.unwrap());
    assert_eq!(allocations, 0);
    assert_eq!(random.draws(), 0);
}

#[test]
fn execute_async_that_succeeds_allocates_nothing_and_draws_nothing() {
    let (config, random) = jittered_policy();
    let manager = RetryManager::new(config).retry_if_retryable();
    let (poll, allocations) = allocations_during(|| {
        poll_once(manager.execute_async(|| async { Ok::<_, McpStoreError>(black_box(42)) }))
    });
    assert!(matches!(poll, Poll::Ready(Ok(42))), "{poll:?}");
    assert_eq!(allocations, 0);
    assert_eq!(random.draws(), 0);
}

#[test]
fn a_failed_attempt_does_draw_a_number_for_its_jitter() {
    let (config, random) = jittered_policy();
    let manager = RetryManager::new(config);
    let mut calls = 0;
    let result = manager.execute(|| {
        calls += 1;
        if calls == 1 {
            Err("transient")
        } else {
            Ok(calls)
        }
    });
    assert_eq!(result, Ok(2));
    assert_eq!(random.draws(), 1);
}

// ---- the attributes ----

mod annotated {
    use std::sync::{Arc, LazyLock};

    use mcpstore_errors::{
        Jitter, McpStoreError, RetryConfig, SeededRandom, VirtualSleeper, collect_errors, fallback,
        retry,
    };

    pub static RANDOM: LazyLock<Arc<SeededRandom>> =
        LazyLock::new(|| Arc::new(SeededRandom::new(5)));

    fn jittered() -> RetryConfig {
        RetryConfig::new()
            .jitter(Jitter::Full)
            .random(RANDOM.clone())
            .sleeper(Arc::new(VirtualSleeper::new()))
    }

    #[retry]
    pub fn retried(x: u64) -> Result<u64, McpStoreError> {
        Ok(x * 2)
    }

    #[retry(config = jittered(), on = [Connection], when = retryable, retry_if_result = |v: &u64| *v == 0)]
    pub fn retried_with_everything(x: u64) -> Result<u64, McpStoreError> {
        Ok(x * 2)
    }

    #[fallback(default)]
    pub fn defaulted(x: u64) -> Result<u64, McpStoreError> {
        Ok(x * 2)
    }

    #[collect_errors(context = {"operation": "probe"})]
    pub fn collected(x: u64) -> Result<u64, McpStoreError> {
        Ok(x * 2)
    }

    #[collect_errors]
    #[fallback(default = 0)]
    #[retry(config = jittered())]
    pub fn stacked(x: u64) -> Result<u64, McpStoreError> {
        Ok(x * 2)
    }

    #[collect_errors]
    #[fallback(default)]
    #[retry]
    pub async fn stacked_async(x: u64) -> Result<u64, McpStoreError> {
        Ok(x * 2)
    }

    #[retry]
    pub fn takes_a_string(name: String) -> Result<usize, McpStoreError> {
        Ok(name.len())
    }
}

/// Calls `call` once to initialise any lazy static, then counts a second call.
fn allocations_of_second_call<T>(mut call: impl FnMut() -> T) -> (T, u64) {
    black_box(call());
    allocations_during(call)
}

#[test]
fn each_attribute_that_succeeds_allocates_nothing() {
    type Annotated = fn(u64) -> Result<u64, McpStoreError>;
    let cases: [(&str, Annotated); 5] = [
        ("retry", annotated::retried),
        (
            "retry with every option",
            annotated::retried_with_everything,
        ),
        ("fallback(default)", annotated::defaulted),
        ("collect_errors", annotated::collected),
        ("all three stacked", annotated::stacked),
    ];
    for (name, function) in cases {
        let (result, allocations) = allocations_of_second_call(|| function(black_box(21)));
        assert_eq!(result.unwrap(), 42, "{name}");
        assert_eq!(allocations, 0, "{name}");
    }
    assert_eq!(annotated::RANDOM.draws(), 0);
}

#[test]
fn an_annotated_async_fn_that_succeeds_allocates_nothing() {
    let (poll, allocations) =
        allocations_of_second_call(|| poll_once(annotated::stacked_async(black_box(21))));
    assert!(matches!(poll, Poll::Ready(Ok(42))), "{poll:?}");
    assert_eq!(allocations, 0);
}

#[test]
fn a_by_value_argument_costs_exactly_its_clone() {
    let name = String::from("filesystem");
    let (result, allocations) =
        allocations_of_second_call(|| annotated::takes_a_string(black_box(name.clone())));
    assert_eq!(result.unwrap(), 10);
    // One allocation for the caller's `name.clone()`, one for the attempt's copy: the first
    // attempt is not the last, so it gets a clone and the original waits for a retry.
    assert_eq!(allocations, 2);
}

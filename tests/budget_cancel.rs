//! A retry budget pays only for retries that are made: a call cancelled during its backoff, or whose on_retry hook panics, gets its token back.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, CircuitState, ErrorCollector, ManualClock,
    SlidingWindow, VirtualSleeper, circuit_breaker, collect_errors, fallback,
};
use mcpstore_errors::{
    Jitter, McpStoreError, RetryBudget, RetryBudgetConfig, RetryConfig, RetryManager, SleepFuture,
    Sleeper, StopReason, retry,
};

/// A sleeper whose async sleep never completes: the caller's own timeout (or `select!`)
/// cancels the retry loop during its backoff.
#[derive(Debug, Default)]
struct NeverWakes;

impl Sleeper for NeverWakes {
    fn sleep(&self, _delay: Duration) {}
    fn sleep_async(&self, _delay: Duration) -> SleepFuture {
        Box::pin(std::future::pending())
    }
}

/// Polls `future` once and drops it: a caller's timeout that fires during the first wait.
fn poll_once_then_cancel<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

fn budget_with_one_retry() -> RetryBudget {
    RetryBudget::new(
        RetryBudgetConfig::new()
            .initial(1)
            .min_retries_per_second(0),
    )
}

fn policy(sleeper: Arc<dyn Sleeper>) -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_secs(1))
        .jitter(Jitter::None)
        .sleeper(sleeper)
}

#[test]
fn manager_a_call_cancelled_during_its_backoff_keeps_its_budget_token() {
    let budget = budget_with_one_retry();
    let manager = RetryManager::new(policy(Arc::new(NeverWakes))).budget(budget.clone());
    let attempts = AtomicU32::new(0);
    let polled = poll_once_then_cancel(manager.execute_async(|| {
        attempts.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>(McpStoreError::connection("refused")) }
    }));
    assert!(polled.is_pending(), "waiting before its retry");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "the retry was never made"
    );
    assert_eq!(
        (budget.withdrawn(), budget.balance()),
        (0, 1.0),
        "a retry that was never made must not be paid for"
    );

    // Consequence: the next caller's legitimate retry is denied.
    let manager = RetryManager::new(policy(Arc::new(mcpstore_errors::VirtualSleeper::new())))
        .budget(budget.clone());
    let mut calls = 0;
    let (result, stats) = manager.execute_outcome(|| {
        calls += 1;
        if calls == 1 {
            Err(McpStoreError::connection("refused"))
        } else {
            Ok(())
        }
    });
    assert!(result.is_ok(), "{:?}", stats);
    assert_eq!(stats.stop_reason, StopReason::Succeeded);
}

static MACRO_BUDGET: LazyLock<RetryBudget> = LazyLock::new(budget_with_one_retry);
static MACRO_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

fn never_wakes() -> RetryConfig {
    policy(Arc::new(NeverWakes))
}

#[retry(config = never_wakes(), budget = &*MACRO_BUDGET)]
async fn down() -> Result<(), McpStoreError> {
    MACRO_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection("refused"))
}

#[test]
fn attribute_a_call_cancelled_during_its_backoff_keeps_its_budget_token() {
    assert!(poll_once_then_cancel(down()).is_pending());
    assert_eq!(
        MACRO_ATTEMPTS.load(Ordering::SeqCst),
        1,
        "the retry was never made"
    );
    assert_eq!(
        (MACRO_BUDGET.withdrawn(), MACRO_BUDGET.balance()),
        (0, 1.0),
        "a retry that was never made must not be paid for"
    );
}

/// The same through a caller's `tokio::time::timeout` (5 ms of real time) around a call whose
/// backoff is a real 1 s sleep: the caller's timeout fires during the backoff.
#[test]
fn a_callers_tokio_timeout_during_the_backoff_gives_the_token_back() {
    let budget = budget_with_one_retry();
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(3)
            .base_delay(Duration::from_secs(1))
            .jitter(Jitter::None),
    )
    .budget(budget.clone());
    let attempts = AtomicU32::new(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_millis(5),
            manager.execute_async(|| {
                attempts.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(McpStoreError::connection("refused")) }
            }),
        )
        .await
    });
    assert!(outcome.is_err(), "the caller gave up");
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "no retry was made");
    assert_eq!(budget.withdrawn(), 0, "yet a retry was paid for");
}

/// Sync path, same root cause: the budget is charged before `on_retry` runs; a hook that
/// panics leaves a paid retry that is never made.
#[test]
fn a_panicking_on_retry_hook_gives_the_token_back() {
    let budget = budget_with_one_retry();
    let manager = RetryManager::new(policy(Arc::new(mcpstore_errors::VirtualSleeper::new())))
        .budget(budget.clone())
        .on_retry(|_attempt: u32, _error: &McpStoreError, _delay: Duration| panic!("hook"));
    let mut attempts = 0;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        manager.execute(|| {
            attempts += 1;
            Err::<(), _>(McpStoreError::connection("refused"))
        })
    }));
    assert!(panicked.is_err(), "the panic is propagated");
    assert_eq!(attempts, 1);
    assert_eq!(
        budget.withdrawn(),
        0,
        "the hook's panic cancelled the retry"
    );
}

// ---- a panicking half-open probe under the full stack ----

static STACK_CLOCK: LazyLock<Arc<ManualClock>> = LazyLock::new(|| Arc::new(ManualClock::new()));
static STACK_BREAKERS: LazyLock<BreakerRegistry> = LazyLock::new(|| {
    BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(2))
            .minimum_calls(2)
            .failure_rate(0.5)
            .open_duration(Duration::from_secs(10))
            .jitter(0.0)
            .clock(STACK_CLOCK.clone()),
    )
});
static STACK_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));
static STACK_BUDGET: LazyLock<RetryBudget> = LazyLock::new(budget_with_one_retry);
static STACK_MODE: AtomicU32 = AtomicU32::new(0);

fn stack_policy() -> RetryConfig {
    policy(Arc::new(VirtualSleeper::new()))
}

#[collect_errors(collector = &STACK_COLLECTOR)]
#[fallback(default = 0)]
#[retry(config = stack_policy(), budget = &*STACK_BUDGET)]
#[circuit_breaker(service = "fs", registry = &STACK_BREAKERS)]
async fn stacked() -> Result<u32, McpStoreError> {
    match STACK_MODE.load(Ordering::SeqCst) {
        0 => Err(McpStoreError::connection("refused")),
        1 => panic!("the body panicked"),
        _ => Ok(7),
    }
}

#[test]
fn a_panicking_probe_under_the_full_stack_propagates_and_gives_its_permit_back() {
    let run = |f| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    };
    // Two failures trip the breaker (the retry stops at CircuitOpen, the default serves 0).
    assert_eq!(run(stacked()).unwrap(), 0);
    let breaker = STACK_BREAKERS.breaker("fs");
    assert_eq!(breaker.state(), CircuitState::Open);
    STACK_CLOCK.advance(Duration::from_secs(10));
    STACK_MODE.store(1, Ordering::SeqCst);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(stacked())));
    assert!(panicked.is_err(), "the panic propagates, not a value");
    assert_eq!(
        breaker.state(),
        CircuitState::HalfOpen,
        "the probe came back"
    );
    let collected = STACK_COLLECTOR.records().len();
    STACK_MODE.store(2, Ordering::SeqCst);
    assert_eq!(run(stacked()).unwrap(), 7);
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(
        STACK_COLLECTOR.records().len(),
        collected,
        "nothing collected for a panic"
    );
}

#[retry(config = never_wakes())]
async fn refused_never_retried() -> Result<(), McpStoreError> {
    Err(McpStoreError::connection("refused"))
}

#[test]
fn a_call_dropped_during_its_backoff_says_so_and_one_that_waits_it_out_does_not() {
    let dropped_events = |events: &[mcpstore_errors_tests::CapturedEvent]| {
        events
            .iter()
            .filter(|event| {
                event
                    .field("message")
                    .is_some_and(|message| message.contains("dropped while waiting"))
            })
            .map(|event| (event.level, event.field("next_attempt").map(str::to_owned)))
            .collect::<Vec<_>>()
    };
    let manager = RetryManager::new(policy(Arc::new(NeverWakes))).operation("read");
    let events = mcpstore_errors_tests::capture_events("mcpstore_errors::retry", || {
        let polled = poll_once_then_cancel(
            manager.execute_async(|| async { Err::<(), _>(McpStoreError::connection("refused")) }),
        );
        assert!(polled.is_pending(), "waiting before its retry");
    });
    assert_eq!(
        dropped_events(&events),
        [(tracing::Level::DEBUG, Some("2".to_owned()))]
    );
    let events = mcpstore_errors_tests::capture_events("mcpstore_errors::retry", || {
        assert!(poll_once_then_cancel(refused_never_retried()).is_pending());
    });
    assert_eq!(
        dropped_events(&events),
        [(tracing::Level::DEBUG, Some("2".to_owned()))],
        "the attribute says it too"
    );

    let manager = RetryManager::new(policy(Arc::new(VirtualSleeper::new())));
    let mut calls = 0;
    let events = mcpstore_errors_tests::capture_events("mcpstore_errors::retry", || {
        let outcome = poll_once_then_cancel(manager.execute_async(|| {
            calls += 1;
            let fail = calls == 1;
            async move {
                if fail {
                    Err(McpStoreError::connection("refused"))
                } else {
                    Ok(())
                }
            }
        }));
        assert!(matches!(outcome, Poll::Ready(Ok(()))), "{outcome:?}");
    });
    assert!(dropped_events(&events).is_empty(), "{events:?}");
}

#[test]
fn retries_the_floor_paid_for_and_never_made_go_back_to_the_floor_not_the_savings() {
    let clock = Arc::new(ManualClock::new());
    let budget = RetryBudget::new(
        RetryBudgetConfig::new()
            .share(0.0)
            .initial(0)
            .capacity(100)
            .min_retries_per_second(10)
            .clock(clock.clone()),
    );
    let manager = RetryManager::new(policy(Arc::new(NeverWakes))).budget(budget.clone());
    // Each second, 200 callers fail once and are cancelled during their backoff.
    for _ in 0..20 {
        let mut calls: Vec<_> =
            (0..200)
                .map(|_| {
                    Box::pin(manager.execute_async(|| async {
                        Err::<(), _>(McpStoreError::connection("refused"))
                    }))
                })
                .collect();
        for call in &mut calls {
            let _ = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }
        drop(calls);
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(budget.withdrawn(), 0, "no retry was made");
    assert_eq!(
        budget.balance(),
        0.0,
        "no call succeeded and successes earn nothing: nothing may be saved"
    );

    // The floor got its tokens back: this second's ten retries are still there, and no more.
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(policy(sleeper)).budget(budget.clone());
    let retried = (0..20)
        .filter(|_| {
            let mut calls = 0;
            let (_, stats) = manager.execute_outcome(|| {
                calls += 1;
                if calls == 1 {
                    Err(McpStoreError::connection("refused"))
                } else {
                    Ok(())
                }
            });
            stats.attempts == 2
        })
        .count();
    assert_eq!(retried, 10);
}

static FLOOR_CLOCK: LazyLock<Arc<ManualClock>> = LazyLock::new(|| Arc::new(ManualClock::new()));
static FLOOR_BUDGET: LazyLock<RetryBudget> = LazyLock::new(|| {
    RetryBudget::new(
        RetryBudgetConfig::new()
            .share(0.0)
            .initial(0)
            .capacity(100)
            .min_retries_per_second(10)
            .clock(FLOOR_CLOCK.clone()),
    )
});

#[retry(config = never_wakes(), budget = &*FLOOR_BUDGET)]
async fn down_on_the_floor() -> Result<(), McpStoreError> {
    Err(McpStoreError::connection("refused"))
}

#[test]
fn attribute_retries_the_floor_paid_for_and_never_made_go_back_to_the_floor() {
    for _ in 0..20 {
        let mut calls: Vec<_> = (0..200).map(|_| Box::pin(down_on_the_floor())).collect();
        for call in &mut calls {
            let _ = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }
        drop(calls);
        FLOOR_CLOCK.advance(Duration::from_secs(1));
    }
    assert_eq!(FLOOR_BUDGET.withdrawn(), 0, "no retry was made");
    assert_eq!(FLOOR_BUDGET.balance(), 0.0, "nothing may be saved");
}

// ---- retries of timed-out attempts: charged the timeout cost, all of it given back ----

/// The attempt timeout of [`timed_policy`].
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// A timer that fires at once for the attempt timeout, and a backoff that never ends: each
/// call's first attempt times out, then the call waits for its retry until it is cancelled.
#[derive(Debug, Default)]
struct TimesOutThenWaits;

impl Sleeper for TimesOutThenWaits {
    fn sleep(&self, _delay: Duration) {}
    fn sleep_async(&self, delay: Duration) -> SleepFuture {
        match delay == ATTEMPT_TIMEOUT {
            true => Box::pin(std::future::ready(())),
            false => Box::pin(std::future::pending()),
        }
    }
}

/// Three retries saved; retrying a timeout costs two of them.
fn timeout_budget() -> RetryBudget {
    RetryBudget::new(
        RetryBudgetConfig::new()
            .initial(3)
            .timeout_cost(2)
            .min_retries_per_second(0),
    )
}

fn timed_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_secs(5))
        .jitter(Jitter::None)
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .sleeper(Arc::new(TimesOutThenWaits))
}

/// Polls a call once (its first attempt times out and its backoff begins), checks that the
/// retry was paid at the timeout's price, drops the call, and checks that all of it is back.
fn timed_out_then_cancelled<F: Future>(call: F, budget: &RetryBudget, attempts: &AtomicU32) {
    let mut call = Box::pin(call);
    let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(polled.is_pending(), "waiting before its retry");
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "one attempt, timed out");
    assert_eq!(
        (budget.withdrawn(), budget.balance()),
        (1, 1.0),
        "the retry of a timed-out attempt costs the timeout cost (2), not one retry"
    );
    drop(call);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "the retry was never made"
    );
    assert_eq!(
        (budget.withdrawn(), budget.balance()),
        (0, 3.0),
        "the whole timeout cost comes back, not one retry's worth"
    );
}

/// [`timed_out_then_cancelled`] for a `RetryManager` call whose attempts fail with `E`.
fn manager_timed_out_then_cancelled<E>()
where
    E: std::fmt::Display + mcpstore_errors::Classify,
{
    let budget = timeout_budget();
    let manager = RetryManager::new(timed_policy()).budget(budget.clone());
    let attempts = AtomicU32::new(0);
    let call = manager.execute_async(|| {
        attempts.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<Result<(), E>>()
    });
    timed_out_then_cancelled(call, &budget, &attempts);
}

#[test]
fn manager_a_timed_out_attempts_retry_costs_the_timeout_cost_and_a_cancelled_wait_returns_all_of_it()
 {
    manager_timed_out_then_cancelled::<McpStoreError>();
}

static TIMED_BUDGET: LazyLock<RetryBudget> = LazyLock::new(timeout_budget);
static TIMED_ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static KEYED_BUDGET: LazyLock<RetryBudget> = LazyLock::new(timeout_budget);
static KEYED_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// The attempt timeout carried by the policy.
#[retry(config = timed_policy(), budget = &*TIMED_BUDGET)]
async fn hangs_under_the_policys_timeout() -> Result<(), McpStoreError> {
    TIMED_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

/// The attempt timeout written as the key.
#[retry(config = timed_policy(), attempt_timeout = "1s", budget = &*KEYED_BUDGET)]
async fn hangs_under_the_keys_timeout() -> Result<(), McpStoreError> {
    KEYED_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

#[test]
fn attribute_a_timed_out_attempts_retry_costs_the_timeout_cost_and_a_cancelled_wait_returns_all_of_it()
 {
    timed_out_then_cancelled(
        hangs_under_the_policys_timeout(),
        &TIMED_BUDGET,
        &TIMED_ATTEMPTS,
    );
    timed_out_then_cancelled(
        hangs_under_the_keys_timeout(),
        &KEYED_BUDGET,
        &KEYED_ATTEMPTS,
    );
}

// ---- the same, when the error type does not say it timed out: the engine knows ----

/// Made from any `McpStoreError`, classified as nothing: that its attempt timed out is known
/// to the engine that cut it off, not to the error.
#[derive(Debug)]
struct Opaque;

impl std::fmt::Display for Opaque {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("opaque failure")
    }
}

impl From<McpStoreError> for Opaque {
    fn from(_: McpStoreError) -> Self {
        Opaque
    }
}

/// Gives a timeout error of its own, but no kind.
impl mcpstore_errors::Classify for Opaque {
    fn timed_out(_: mcpstore_errors::Elapsed, _: &str) -> Option<Self> {
        Some(Opaque)
    }
}

#[test]
fn manager_an_unclassified_timed_out_attempts_retry_costs_the_timeout_cost() {
    manager_timed_out_then_cancelled::<Opaque>();
}

static OPAQUE_TIMED_BUDGET: LazyLock<RetryBudget> = LazyLock::new(timeout_budget);
static OPAQUE_TIMED_ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static OPAQUE_KEYED_BUDGET: LazyLock<RetryBudget> = LazyLock::new(timeout_budget);
static OPAQUE_KEYED_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[retry(config = timed_policy(), budget = &*OPAQUE_TIMED_BUDGET)]
async fn opaque_under_the_policys_timeout() -> Result<(), Opaque> {
    OPAQUE_TIMED_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

#[retry(config = timed_policy(), attempt_timeout = "1s", budget = &*OPAQUE_KEYED_BUDGET)]
async fn opaque_under_the_keys_timeout() -> Result<(), Opaque> {
    OPAQUE_KEYED_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

#[test]
fn attribute_an_unclassified_attempt_timed_out_by_its_policy_costs_the_timeout_cost() {
    timed_out_then_cancelled(
        opaque_under_the_policys_timeout(),
        &OPAQUE_TIMED_BUDGET,
        &OPAQUE_TIMED_ATTEMPTS,
    );
}

#[test]
fn attribute_an_unclassified_attempt_timed_out_by_the_key_costs_the_timeout_cost() {
    timed_out_then_cancelled(
        opaque_under_the_keys_timeout(),
        &OPAQUE_KEYED_BUDGET,
        &OPAQUE_KEYED_ATTEMPTS,
    );
}

static OPAQUE_LAYER_BUDGET: LazyLock<RetryBudget> = LazyLock::new(timeout_budget);
static OPAQUE_LAYER_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// [`timed_policy`] without its attempt timeout: the `#[timeout]` layer below cuts attempts
/// off instead.
fn untimed_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_secs(5))
        .jitter(Jitter::None)
        .sleeper(Arc::new(TimesOutThenWaits))
}

#[retry(config = untimed_policy(), budget = &*OPAQUE_LAYER_BUDGET)]
#[mcpstore_errors::timeout(after = "1s", sleeper = Arc::new(TimesOutThenWaits))]
async fn opaque_under_a_timeout_layer() -> Result<(), Opaque> {
    OPAQUE_LAYER_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

#[test]
fn attribute_an_unclassified_attempt_timed_out_by_a_timeout_layer_costs_the_timeout_cost() {
    timed_out_then_cancelled(
        opaque_under_a_timeout_layer(),
        &OPAQUE_LAYER_BUDGET,
        &OPAQUE_LAYER_ATTEMPTS,
    );
}

// ---- a lapse an inner fallback recovered from is not charged to a later attempt ----

/// Every wait ends at once: the attempt timeout's and the backoff's.
#[derive(Debug, Default)]
struct AllAtOnce;

impl Sleeper for AllAtOnce {
    fn sleep(&self, _delay: Duration) {}
    fn sleep_async(&self, _delay: Duration) -> SleepFuture {
        Box::pin(std::future::ready(()))
    }
}

static RECOVERED_BUDGET: LazyLock<RetryBudget> = LazyLock::new(|| {
    RetryBudget::new(
        RetryBudgetConfig::new()
            .initial(10)
            .timeout_cost(3)
            .min_retries_per_second(0),
    )
});
static RECOVERED_ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static RECOVERED_FALLBACKS: AtomicU32 = AtomicU32::new(0);

fn all_at_once_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_secs(5))
        .jitter(Jitter::None)
        .sleeper(Arc::new(AllAtOnce))
}

/// Serves a value the predicate rejects the first time, fails after.
async fn rejected_value_once() -> Result<u32, Opaque> {
    match RECOVERED_FALLBACKS.fetch_add(1, Ordering::SeqCst) {
        0 => Ok(0),
        _ => Err(Opaque),
    }
}

/// The first attempt times out and the fallback serves a rejected value; the next two fail
/// at once, not timed out.
#[retry(config = all_at_once_policy(), budget = &*RECOVERED_BUDGET, retry_if_result = |value: &u32| *value == 0)]
#[fallback(with = rejected_value_once)]
#[mcpstore_errors::timeout(after = "1s", sleeper = Arc::new(AllAtOnce))]
async fn times_out_once_then_fails() -> Result<u32, Opaque> {
    match RECOVERED_ATTEMPTS.fetch_add(1, Ordering::SeqCst) {
        0 => std::future::pending().await,
        _ => Err(Opaque),
    }
}

#[test]
fn a_lapse_a_fallback_recovered_from_is_not_charged_to_the_next_attempts_failure() {
    let mut call = pin!(times_out_once_then_fails());
    let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(polled, Poll::Ready(Err(Opaque))), "{polled:?}");
    assert_eq!(RECOVERED_ATTEMPTS.load(Ordering::SeqCst), 3);
    assert_eq!(
        (RECOVERED_BUDGET.withdrawn(), RECOVERED_BUDGET.balance()),
        (2, 8.0),
        "two retries of one retry each: the rejected value's, and the plain failure's (not the \
         timeout cost of the lapse the fallback recovered from)"
    );
}

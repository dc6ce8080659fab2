//! Timeouts, deadlines, retry budgets and circuit breakers through the attributes, on virtual
//! time, and the stop reasons they leave.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, CircuitState, ErrorKind, Jitter, ManualClock,
    McpStoreError, RetryBudget, RetryBudgetConfig, RetryConfig, RetryManager, SlidingWindow,
    StopReason, VirtualSleeper, circuit_breaker, collect_errors, fallback, retry, timeout,
};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// A future that is pending on its first poll and ready on the next: with a virtual timer,
/// which fires as soon as the attempt has to wait, it always loses the race.
async fn hang() {
    std::future::pending::<()>().await;
}

// ---- attempt timeout ----

static TIMEOUT_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));

fn timeout_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .jitter(Jitter::None)
        .sleeper(TIMEOUT_SLEEPER.clone())
}

static TIMED_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(config = timeout_policy(), attempt_timeout = "2s")]
async fn slow_then_fast() -> Result<u32, McpStoreError> {
    let call = TIMED_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 {
        hang().await;
    }
    Ok(call)
}

#[test]
fn a_late_attempt_is_dropped_and_retried_like_a_timeout() {
    let value = block_on(slow_then_fast()).unwrap();
    assert_eq!(value, 2, "the first attempt timed out, the second answered");
    // The timer of the first attempt (2 s), then the backoff (10 ms).
    assert_eq!(
        TIMEOUT_SLEEPER.delays(),
        [Duration::from_secs(2), Duration::from_millis(10)]
    );
}

static HANGING_CALLS: AtomicU32 = AtomicU32::new(0);

fn virtual_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(2)
        .sleeper(Arc::new(VirtualSleeper::new()))
}

#[retry(config = virtual_policy(), attempt_timeout = "1s", on = [Connection])]
async fn always_hangs() -> Result<(), McpStoreError> {
    HANGING_CALLS.fetch_add(1, Ordering::SeqCst);
    hang().await;
    Ok(())
}

#[test]
fn a_timeout_fails_as_service_timeout_which_a_kind_filter_judges() {
    // `on = [Connection]` does not retry a ServiceTimeout: one attempt, then its error.
    let error = block_on(always_hangs()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    assert!(error.message().contains("always_hangs"), "{error}");
    assert_eq!(HANGING_CALLS.load(Ordering::SeqCst), 1);
}

#[timeout(after = "250ms", sleeper = Arc::new(VirtualSleeper::new()))]
async fn answers_at_once() -> Result<u8, McpStoreError> {
    Ok(7)
}

#[test]
fn an_attempt_that_finishes_at_once_beats_its_timer() {
    assert_eq!(block_on(answers_at_once()).unwrap(), 7);
}

// ---- attempt timeout from `config =` and through `RetryManager` ----

/// Polls `future` to its end, at most a hundred times: on virtual time every timer is ready at
/// once, so a call still pending then would hang for ever (an ignored attempt timeout).
fn run_to_end<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..100 {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("still pending after a hundred polls: an attempt ran past its timeout");
}

/// Three attempts, each cut off after 2 s, 10 ms apart, on its own virtual sleeper.
fn policy_with_attempt_timeout(sleeper: &Arc<VirtualSleeper>) -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .jitter(Jitter::None)
        .attempt_timeout(Duration::from_secs(2))
        .sleeper(sleeper.clone())
}

static CONFIG_TIMEOUT_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));
static CONFIG_TIMED_CALLS: AtomicU32 = AtomicU32::new(0);

/// Hangs on its first call, answers its number on the next.
async fn hangs_once(calls: &AtomicU32) -> u32 {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 {
        hang().await;
    }
    call
}

#[retry(config = policy_with_attempt_timeout(&CONFIG_TIMEOUT_SLEEPER))]
async fn timed_by_its_config() -> Result<u32, McpStoreError> {
    Ok(hangs_once(&CONFIG_TIMED_CALLS).await)
}

#[test]
fn an_attempt_timeout_in_the_config_cuts_off_attempts_as_through_the_key() {
    assert_eq!(run_to_end(timed_by_its_config()).unwrap(), 2);
    let delays = [Duration::from_secs(2), Duration::from_millis(10)];
    assert_eq!(CONFIG_TIMEOUT_SLEEPER.delays(), delays);

    // The same policy through `RetryManager`: the same attempts, the same waits.
    let sleeper = Arc::new(VirtualSleeper::new());
    let calls = AtomicU32::new(0);
    let manager = RetryManager::new(policy_with_attempt_timeout(&sleeper));
    let (result, stats) = run_to_end(
        manager
            .execute_async_outcome(|| async { Ok::<_, McpStoreError>(hangs_once(&calls).await) }),
    );
    assert_eq!(result.unwrap(), 2);
    assert_eq!(stats.attempts, 2);
    assert_eq!(sleeper.delays(), delays);

    // A call that always hangs ends, after its three attempts, with a ServiceTimeout.
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(policy_with_attempt_timeout(&sleeper));
    let error = run_to_end(manager.execute_async(|| async {
        hang().await;
        Ok::<(), McpStoreError>(())
    }))
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    assert_eq!(sleeper.delays().len(), 5, "three timers, two waits");
}

#[test]
fn an_io_error_cut_off_by_its_attempt_timeout_is_timed_out() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(policy_with_attempt_timeout(&sleeper).max_attempts(1));
    let error = run_to_end(manager.execute_async(|| async {
        hang().await;
        Ok::<(), std::io::Error>(())
    }))
    .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    let cause = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<McpStoreError>());
    assert_eq!(
        cause.map(McpStoreError::kind),
        Some(ErrorKind::ServiceTimeout)
    );
}

#[test]
fn an_io_error_cut_off_by_its_attempt_timeout_is_retried_as_a_service_timeout() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let manager = RetryManager::new(policy_with_attempt_timeout(&sleeper))
        .retry_on([ErrorKind::ServiceTimeout]);
    let (result, stats) = run_to_end(manager.execute_async_outcome(|| async {
        hang().await;
        Ok::<(), std::io::Error>(())
    }));
    let error = result.unwrap_err();
    assert_eq!(
        mcpstore_errors::Classify::error_kind(&error),
        Some(ErrorKind::ServiceTimeout)
    );
    assert_eq!(
        (stats.attempts, stats.stop_reason),
        (3, StopReason::AttemptsExhausted)
    );
    // An io::Error of its own is classified by its io kind, as before.
    let refused = std::io::Error::from(std::io::ErrorKind::TimedOut);
    assert_eq!(
        mcpstore_errors::Classify::error_kind(&refused),
        Some(ErrorKind::Connection)
    );
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The `ServiceTimeout` inside an error cut off by its attempt timeout.
fn timeout_kind(error: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    error
        .downcast_ref::<McpStoreError>()
        .map(McpStoreError::kind)
}

#[test]
fn a_type_erased_or_pointer_error_cut_off_by_its_attempt_timeout_holds_a_service_timeout() {
    let manager = || {
        RetryManager::new(
            policy_with_attempt_timeout(&Arc::new(VirtualSleeper::new())).max_attempts(1),
        )
    };
    let boxed = run_to_end(manager().execute_async(|| async {
        hang().await;
        Ok::<(), BoxError>(())
    }))
    .unwrap_err();
    assert_eq!(timeout_kind(&*boxed), Some(ErrorKind::ServiceTimeout));

    // The attribute, on the same policy, gives the same error.
    let boxed = run_to_end(hangs_with_a_boxed_error()).unwrap_err();
    assert_eq!(timeout_kind(&*boxed), Some(ErrorKind::ServiceTimeout));

    let shared = run_to_end(manager().execute_async(|| async {
        hang().await;
        Ok::<(), Arc<dyn std::error::Error + Send + Sync>>(())
    }))
    .unwrap_err();
    assert_eq!(timeout_kind(&*shared), Some(ErrorKind::ServiceTimeout));

    // A pointer to a sized error gets the pointee's own timeout error.
    let boxed_store = run_to_end(manager().execute_async(|| async {
        hang().await;
        Ok::<(), Box<McpStoreError>>(())
    }))
    .unwrap_err();
    assert_eq!(boxed_store.kind(), ErrorKind::ServiceTimeout);
    let shared_io = run_to_end(manager().execute_async(|| async {
        hang().await;
        Ok::<(), Arc<std::io::Error>>(())
    }))
    .unwrap_err();
    assert_eq!(shared_io.kind(), std::io::ErrorKind::TimedOut);
}

/// Pending on its first poll, ready on the next: an attempt the virtual timer outruns that
/// still finishes when polled on.
async fn late_answer() -> u32 {
    let mut polled = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut polled, true) {
            std::task::Poll::Ready(7)
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[retry(config = policy_with_attempt_timeout(&Arc::new(VirtualSleeper::new())))]
async fn late_with_a_plain_error() -> Result<u32, String> {
    Ok(late_answer().await)
}

#[test]
fn an_error_type_without_a_timeout_error_lets_the_attempt_run_on_and_says_so() {
    let mut values = Vec::new();
    let events = mcpstore_errors_tests::capture_events("mcpstore_errors::retry", || {
        values.push(run_to_end(late_with_a_plain_error()));
        let manager = RetryManager::new(policy_with_attempt_timeout(&Arc::new(
            VirtualSleeper::new(),
        )));
        values.push(run_to_end(
            manager.execute_async(|| async { Ok::<_, String>(late_answer().await) }),
        ));
    });
    assert_eq!(values, [Ok(7), Ok(7)]);
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .map(|e| (e.field("timeout"), e.field("error_type")))
        .collect();
    assert_eq!(warned, [(Some("2s"), Some("alloc::string::String")); 2]);
}

// ---- deadline ----

static DEADLINE_CLOCK: LazyLock<Arc<ManualClock>> = LazyLock::new(|| Arc::new(ManualClock::new()));

fn deadline_policy() -> RetryConfig {
    // 1 s, 2 s, 4 s.. apart, on a clock the sleeper moves.
    RetryConfig::new()
        .max_attempts(10)
        .base_delay(Duration::from_secs(1))
        .jitter(Jitter::None)
        .clock(DEADLINE_CLOCK.clone())
        .sleeper(Arc::new(VirtualSleeper::advancing(DEADLINE_CLOCK.clone())))
}

static DEADLINE_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(config = deadline_policy(), deadline = "5s")]
fn never_up() -> Result<(), McpStoreError> {
    DEADLINE_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection("refused"))
}

#[test]
fn no_attempt_starts_after_the_deadline() {
    let start = mcpstore_errors::Clock::now(&**DEADLINE_CLOCK);
    assert!(never_up().is_err());
    // Attempts at 0 s, 1 s and 3 s; the next would start at 7 s, past the 5 s deadline.
    assert_eq!(DEADLINE_CALLS.load(Ordering::SeqCst), 3);
    let waited = mcpstore_errors::Clock::now(&**DEADLINE_CLOCK) - start;
    assert_eq!(
        waited,
        Duration::from_secs(3),
        "no sleep runs into the deadline"
    );
}

#[test]
fn an_attempt_that_would_start_at_the_deadline_does_not() {
    let clock = Arc::new(ManualClock::new());
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(10)
            .strategy(mcpstore_errors::RetryStrategy::Fixed)
            .base_delay(Duration::from_secs(1))
            .jitter(Jitter::None)
            .deadline(Duration::from_secs(2))
            .clock(clock.clone())
            .sleeper(Arc::new(VirtualSleeper::advancing(clock.clone()))),
    );
    let (_, stats) = manager.execute_outcome(|| Err::<(), _>(McpStoreError::connection("refused")));
    // Attempts at 0 s and 1 s; the third would start at 2 s, the deadline itself.
    assert_eq!(stats.attempts, 2);
    assert_eq!(stats.stop_reason, StopReason::Deadline);
    assert_eq!(stats.total_delay, Duration::from_secs(1));
}

#[test]
fn without_a_clock_of_its_own_a_deadline_passes_on_the_sleepers_clock() {
    let clock = Arc::new(ManualClock::new());
    let policy = RetryConfig::new()
        .max_attempts(10)
        .strategy(mcpstore_errors::RetryStrategy::Fixed)
        .base_delay(Duration::from_secs(4))
        .jitter(Jitter::None)
        .deadline(Duration::from_secs(10))
        .sleeper(Arc::new(VirtualSleeper::advancing(clock.clone())));
    let start = mcpstore_errors::Clock::now(&*clock);
    assert_eq!(policy.now(), start, "the policy reads the sleeper's clock");
    let (_, stats) = RetryManager::new(policy)
        .execute_outcome(|| Err::<(), _>(McpStoreError::connection("refused")));
    // Attempts at 0 s, 4 s and 8 s; waiting for a fourth would end at 12 s, past the
    // deadline. On the system's clock the deadline would never come: ten attempts.
    assert_eq!(stats.stop_reason, StopReason::Deadline);
    assert_eq!(stats.attempts, 3);
    assert_eq!(stats.elapsed, Duration::from_secs(8));
}

static SLEEPER_CLOCK: std::sync::LazyLock<Arc<ManualClock>> =
    std::sync::LazyLock::new(|| Arc::new(ManualClock::new()));
static SLEEPER_CLOCK_ATTEMPTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The same policy for the attribute: a deadline, no clock, a sleeper that advances one.
fn deadline_on_the_sleepers_clock() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(10)
        .strategy(mcpstore_errors::RetryStrategy::Fixed)
        .base_delay(Duration::from_secs(4))
        .jitter(Jitter::None)
        .deadline(Duration::from_secs(10))
        .sleeper(Arc::new(VirtualSleeper::advancing(SLEEPER_CLOCK.clone())))
}

#[retry(config = deadline_on_the_sleepers_clock())]
fn always_refused_within_a_deadline() -> Result<(), McpStoreError> {
    SLEEPER_CLOCK_ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Err(McpStoreError::connection("refused"))
}

#[test]
fn attribute_without_a_clock_of_its_own_a_deadline_passes_on_the_sleepers_clock() {
    let start = mcpstore_errors::Clock::now(&**SLEEPER_CLOCK);
    assert!(always_refused_within_a_deadline().is_err());
    // As through the manager: attempts at 0 s, 4 s and 8 s, then the deadline stops it.
    assert_eq!(
        SLEEPER_CLOCK_ATTEMPTS.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    assert_eq!(
        mcpstore_errors::Clock::now(&**SLEEPER_CLOCK) - start,
        Duration::from_secs(8)
    );
}

/// A deadline and no attempt timeout, on a timer that fires at once.
fn deadline_only_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .jitter(Jitter::None)
        .deadline(Duration::from_secs(1))
        .sleeper(Arc::new(VirtualSleeper::new()))
}

#[retry(config = deadline_only_policy())]
async fn late_under_a_deadline() -> Result<u32, McpStoreError> {
    Ok(late_answer().await)
}

#[test]
fn a_deadline_does_not_cut_off_an_attempt_already_running() {
    // Were the deadline raced against the attempt, the virtual timer would win.
    assert_eq!(run_to_end(late_under_a_deadline()).unwrap(), 7);
    let manager = RetryManager::new(deadline_only_policy());
    let answer =
        run_to_end(manager.execute_async(|| async { Ok::<_, McpStoreError>(late_answer().await) }));
    assert_eq!(answer.unwrap(), 7);
}

#[test]
fn a_delay_longer_than_u64_milliseconds_is_reported_as_the_largest_not_wrapped() {
    let huge = Duration::from_secs(u64::MAX / 1000 + 10);
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(2)
            .max_delay(Duration::MAX)
            .jitter(Jitter::None)
            .sleeper(Arc::new(VirtualSleeper::new())),
    );
    let events = mcpstore_errors_tests::capture_events("mcpstore_errors::retry", || {
        let _ = manager
            .execute(|| Err::<(), _>(McpStoreError::connection("busy").with_retry_after(huge)));
    });
    let said: Vec<_> = events
        .iter()
        .filter_map(|e| e.field("delay_ms").or(e.field("total_delay_ms")))
        .collect();
    let largest = u64::MAX.to_string();
    assert_eq!(said, [largest.as_str(), largest.as_str()]);
}

#[test]
fn the_manager_reports_the_deadline_as_its_stop_reason() {
    let clock = Arc::new(ManualClock::new());
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(10)
            .base_delay(Duration::from_secs(1))
            .jitter(Jitter::None)
            .deadline(Duration::from_secs(5))
            .clock(clock.clone())
            .sleeper(Arc::new(VirtualSleeper::advancing(clock.clone()))),
    );
    let (result, stats) =
        manager.execute_outcome(|| Err::<(), _>(McpStoreError::connection("refused")));
    assert!(result.is_err());
    assert_eq!(stats.attempts, 3);
    assert_eq!(stats.stop_reason, StopReason::Deadline);
    assert_eq!(stats.total_delay, Duration::from_secs(3));
    assert_eq!(stats.elapsed, Duration::from_secs(3));
}

#[test]
fn a_delay_as_long_as_a_duration_gets_stops_at_the_deadline_instead_of_overflowing() {
    let clock = Arc::new(ManualClock::new());
    let sleeper = Arc::new(VirtualSleeper::advancing(clock.clone()));
    let uncapped = |base: Duration| {
        RetryConfig::new()
            .max_attempts(3)
            .base_delay(base)
            .max_delay(Duration::MAX)
            .jitter(Jitter::None)
            .deadline(Duration::from_secs(10))
            .clock(clock.clone())
            .sleeper(sleeper.clone())
    };
    // Time has passed since the first attempt, so its elapsed part is not zero.
    let failing = || {
        clock.advance(Duration::from_millis(1));
        Err::<(), _>(McpStoreError::connection("refused"))
    };
    let (result, stats) = RetryManager::new(uncapped(Duration::MAX)).execute_outcome(failing);
    assert!(result.is_err());
    assert_eq!(
        (stats.attempts, stats.stop_reason),
        (1, StopReason::Deadline)
    );
    // The same through a server's suggestion, after a short computed delay.
    let (result, stats) =
        RetryManager::new(uncapped(Duration::from_millis(1))).execute_outcome(|| {
            clock.advance(Duration::from_millis(1));
            Err::<(), _>(McpStoreError::connection("busy").with_retry_after(Duration::MAX))
        });
    assert!(result.is_err());
    assert_eq!(
        (stats.attempts, stats.stop_reason),
        (1, StopReason::Deadline)
    );
    assert_eq!(sleeper.delays(), Vec::<Duration>::new(), "nothing slept");
}

// ---- retry budget ----

static BUDGET: LazyLock<RetryBudget> = LazyLock::new(|| {
    RetryBudget::new(
        RetryBudgetConfig::new()
            .share(0.5)
            .initial(0)
            .min_retries_per_second(0),
    )
});
static BUDGET_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max_attempts = 5, delay = 0, jitter = false, budget = &*BUDGET)]
fn spends_the_budget(fail: bool) -> Result<(), McpStoreError> {
    BUDGET_CALLS.fetch_add(1, Ordering::SeqCst);
    match fail {
        true => Err(McpStoreError::connection("refused")),
        false => Ok(()),
    }
}

#[test]
fn retries_stop_when_the_budget_is_spent_and_successes_refill_it() {
    // Nothing saved: a failure is not retried.
    assert!(spends_the_budget(true).is_err());
    assert_eq!(BUDGET_CALLS.swap(0, Ordering::SeqCst), 1);
    // Two successes earn one retry (a share of 0.5).
    spends_the_budget(false).unwrap();
    spends_the_budget(false).unwrap();
    BUDGET_CALLS.store(0, Ordering::SeqCst);
    assert!(spends_the_budget(true).is_err());
    assert_eq!(
        BUDGET_CALLS.load(Ordering::SeqCst),
        2,
        "one attempt, one paid retry"
    );
    assert_eq!(BUDGET.withdrawn(), 1);
}

#[test]
fn the_manager_stops_with_budget_exhausted() {
    let budget = RetryBudget::new(RetryBudgetConfig::new().min_retries_per_second(0));
    let manager = RetryManager::new(RetryConfig::new().base_delay(Duration::ZERO)).budget(budget);
    let (_, stats) = manager.execute_outcome(|| Err::<(), _>(McpStoreError::connection("refused")));
    assert_eq!(
        (stats.attempts, stats.stop_reason),
        (1, StopReason::BudgetExhausted)
    );
}

// ---- circuit breaker ----

fn registry(clock: Arc<ManualClock>) -> BreakerRegistry {
    BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(4))
            .minimum_calls(4)
            .failure_rate(0.5)
            .open_duration(Duration::from_secs(30))
            .jitter(0.0)
            .clock(clock),
    )
}

static BREAKER_CLOCK: LazyLock<Arc<ManualClock>> = LazyLock::new(|| Arc::new(ManualClock::new()));
static BREAKERS: LazyLock<BreakerRegistry> = LazyLock::new(|| registry(BREAKER_CLOCK.clone()));
static GUARDED_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max_attempts = 3, delay = 0, jitter = false)]
#[circuit_breaker(service = service, registry = &BREAKERS)]
fn guarded(service: &str, up: bool) -> Result<&'static str, McpStoreError> {
    GUARDED_CALLS.fetch_add(1, Ordering::SeqCst);
    match up {
        true => Ok("ok"),
        false => Err(McpStoreError::connection("refused")),
    }
}

#[test]
fn retry_stops_at_once_on_an_open_circuit_and_the_breaker_half_opens_later() {
    // 3 attempts, then 1 more (the 4th failure trips the breaker), then CircuitOpen.
    assert!(guarded("fs", false).is_err());
    assert_eq!(GUARDED_CALLS.swap(0, Ordering::SeqCst), 3);
    // Its first attempt is the 4th failure and trips the breaker; the retry is rejected, and
    // the loop stops on that rejection instead of spinning on it.
    let error = guarded("fs", false).unwrap_err();
    assert_eq!(GUARDED_CALLS.swap(0, Ordering::SeqCst), 1);
    assert_eq!(error.kind(), ErrorKind::CircuitOpen);
    assert_eq!(BREAKERS.breaker("fs").state(), CircuitState::Open);

    let rejected = guarded("fs", true).unwrap_err();
    assert_eq!(rejected.kind(), ErrorKind::CircuitOpen);
    assert_eq!(
        GUARDED_CALLS.load(Ordering::SeqCst),
        0,
        "no attempt reached the body, none was retried"
    );
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(30)));

    // Another service has its own breaker.
    assert_eq!(guarded("git", true).unwrap(), "ok");

    BREAKER_CLOCK.advance(Duration::from_secs(30));
    assert_eq!(
        guarded("fs", true).unwrap(),
        "ok",
        "a probe is let through and closes it"
    );
    assert_eq!(BREAKERS.breaker("fs").state(), CircuitState::Closed);
}

static STACK_CLOCK: LazyLock<Arc<ManualClock>> = LazyLock::new(|| Arc::new(ManualClock::new()));
static STACK_BREAKERS: LazyLock<BreakerRegistry> = LazyLock::new(|| registry(STACK_CLOCK.clone()));
static STACK_COLLECTOR: LazyLock<mcpstore_errors::ErrorCollector> =
    LazyLock::new(|| mcpstore_errors::ErrorCollector::new(100));
static STACK_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));
static STACK_CALLS: AtomicU32 = AtomicU32::new(0);
static STACK_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn stack_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(2)
        .base_delay(Duration::ZERO)
        .jitter(Jitter::None)
        .sleeper(STACK_SLEEPER.clone())
}

/// The recommended order, outermost first: collect, fallback, retry, breaker, timeout.
#[collect_errors(collector = &STACK_COLLECTOR)]
#[fallback(cache)]
#[retry(config = stack_policy())]
#[circuit_breaker(service = "tools", registry = &STACK_BREAKERS)]
#[timeout(after = "2s", sleeper = STACK_SLEEPER.clone())]
async fn list_tools() -> Result<Vec<String>, McpStoreError> {
    STACK_CALLS.fetch_add(1, Ordering::SeqCst);
    if !STACK_UP.load(Ordering::SeqCst) {
        hang().await;
    }
    Ok(vec!["read".to_owned()])
}

#[test]
fn the_recommended_stack_times_out_counts_trips_falls_back_and_collects() {
    block_on(async {
        assert_eq!(list_tools().await.unwrap(), ["read"]);
        // Hung: 2 attempts time out (2 breaker failures), then the cache answers.
        STACK_UP.store(false, Ordering::SeqCst);
        assert_eq!(list_tools().await.unwrap(), ["read"]);
        assert_eq!(STACK_CALLS.swap(0, Ordering::SeqCst), 3);
        // One more timeout: 3 failures in 4 calls trip the breaker; the retry is rejected at
        // once and the cache answers.
        assert_eq!(list_tools().await.unwrap(), ["read"]);
        assert_eq!(STACK_CALLS.swap(0, Ordering::SeqCst), 1);
        assert_eq!(STACK_BREAKERS.breaker("tools").state(), CircuitState::Open);
        // Open: rejected at once, not retried, served from the cache.
        STACK_UP.store(true, Ordering::SeqCst);
        assert_eq!(list_tools().await.unwrap(), ["read"]);
        assert_eq!(STACK_CALLS.load(Ordering::SeqCst), 0);
    });
    assert_eq!(STACK_COLLECTOR.len(), 0, "the cache answered every failure");
}

// ---- other orders ----

static OUTER_CLOCK: LazyLock<Arc<ManualClock>> = LazyLock::new(|| Arc::new(ManualClock::new()));
static OUTER_BREAKERS: LazyLock<BreakerRegistry> = LazyLock::new(|| registry(OUTER_CLOCK.clone()));
static OUTER_CALLS: AtomicU32 = AtomicU32::new(0);

/// A breaker outside the retries counts one outcome per call, whatever the attempts.
#[circuit_breaker(service = "outer", registry = &OUTER_BREAKERS)]
#[retry(max_attempts = 3, delay = 0, jitter = false)]
fn breaker_outside(up: bool) -> Result<(), McpStoreError> {
    OUTER_CALLS.fetch_add(1, Ordering::SeqCst);
    match up {
        true => Ok(()),
        false => Err(McpStoreError::connection("refused")),
    }
}

#[test]
fn a_breaker_outside_retry_counts_calls_not_attempts() {
    for _ in 0..3 {
        assert!(breaker_outside(false).is_err());
    }
    assert_eq!(
        OUTER_CALLS.load(Ordering::SeqCst),
        9,
        "3 calls of 3 attempts"
    );
    assert_eq!(OUTER_BREAKERS.breaker("outer").metrics().calls, 3);
    assert_eq!(
        OUTER_BREAKERS.breaker("outer").state(),
        CircuitState::Closed
    );
    assert!(
        breaker_outside(false).is_err(),
        "the 4th failed call trips it"
    );
    assert_eq!(OUTER_BREAKERS.breaker("outer").state(), CircuitState::Open);
    OUTER_CALLS.store(0, Ordering::SeqCst);
    assert_eq!(
        breaker_outside(true).unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );
    assert_eq!(OUTER_CALLS.load(Ordering::SeqCst), 0);
}

static WHOLE_CALLS: AtomicU32 = AtomicU32::new(0);

/// A timeout outside the retries bounds the whole call, waits included.
#[timeout(after = "5s", sleeper = Arc::new(VirtualSleeper::new()))]
#[retry(max_attempts = 3, delay = 0, jitter = false)]
async fn timeout_outside() -> Result<(), McpStoreError> {
    WHOLE_CALLS.fetch_add(1, Ordering::SeqCst);
    hang().await;
    Ok(())
}

#[test]
fn a_timeout_outside_retry_bounds_the_whole_call() {
    let error = block_on(timeout_outside()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    assert_eq!(
        WHOLE_CALLS.load(Ordering::SeqCst),
        1,
        "the first attempt was still running"
    );
}

// ---- time spent before an attempt first waits ----

static SLOW_START_CLOCK: LazyLock<Arc<ManualClock>> =
    LazyLock::new(|| Arc::new(ManualClock::new()));
static SLOW_START_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::advancing(SLOW_START_CLOCK.clone())));

/// Spends `busy` of virtual time in its first poll (work before its first wait), then hangs.
async fn busy_then_hang(busy: Duration) -> Result<u8, McpStoreError> {
    SLOW_START_CLOCK.advance(busy);
    hang().await;
    Ok(1)
}

#[timeout(after = "2s", sleeper = SLOW_START_SLEEPER.clone())]
async fn timed_busy_start(busy: Duration) -> Result<u8, McpStoreError> {
    busy_then_hang(busy).await
}

#[retry(max_attempts = 1, attempt_timeout = "2s", config = RetryConfig::new().sleeper(SLOW_START_SLEEPER.clone()))]
async fn attempt_timed_busy_start(busy: Duration) -> Result<u8, McpStoreError> {
    busy_then_hang(busy).await
}

#[test]
fn time_spent_before_the_first_wait_counts_against_the_timeout() {
    // One test owns the shared clock and sleeper: the cases run in turn.
    let timers = |run: &dyn Fn(Duration) -> Result<u8, McpStoreError>, busy: Duration| {
        SLOW_START_SLEEPER.clear();
        let error = run(busy).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
        SLOW_START_SLEEPER.delays()
    };
    let attribute = |busy| block_on(timed_busy_start(busy));
    let retried = |busy| block_on(attempt_timed_busy_start(busy));
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(1)
            .attempt_timeout(Duration::from_secs(2))
            .sleeper(SLOW_START_SLEEPER.clone()),
    );
    let api = |busy| block_on(manager.execute_async(|| busy_then_hang(busy)));
    let plain = |busy| {
        block_on(mcpstore_errors::race_timeout_with(
            busy_then_hang(busy),
            Duration::from_secs(2),
            &**SLOW_START_SLEEPER,
        ))
        .unwrap_or_else(|elapsed| Err(elapsed.into_error("plain")))
    };
    for run in [&attribute as &dyn Fn(Duration) -> _, &retried, &api, &plain] {
        // 1.5 s of the 2 s spent: the timer runs for what is left.
        assert_eq!(
            timers(run, Duration::from_millis(1500)),
            [Duration::from_millis(500)]
        );
        // All of it spent: it fails at its first wait, no timer started.
        assert_eq!(timers(run, Duration::from_secs(3)), []);
        // None spent: the whole timeout.
        assert_eq!(timers(run, Duration::ZERO), [Duration::from_secs(2)]);
    }

    // `race_timeout` and a timer closure has no clock: it counts from the first wait.
    SLOW_START_SLEEPER.clear();
    let lazy = block_on(mcpstore_errors::race_timeout(
        busy_then_hang(Duration::from_secs(3)),
        Duration::from_secs(2),
        |delay| mcpstore_errors::Sleeper::sleep_async(&**SLOW_START_SLEEPER, delay),
    ));
    assert!(lazy.is_err());
    assert_eq!(SLOW_START_SLEEPER.delays(), [Duration::from_secs(2)]);
}

// ---- timeout and breaker (the other order is refused: tests/ui/timeout_over_breaker.rs) ----

static TIMED_BREAKER_CLOCK: LazyLock<Arc<ManualClock>> =
    LazyLock::new(|| Arc::new(ManualClock::new()));
static TIMED_BREAKERS: LazyLock<BreakerRegistry> =
    LazyLock::new(|| registry(TIMED_BREAKER_CLOCK.clone()));

/// The recommended order: a hung call is a timeout the breaker counts as a failure.
#[circuit_breaker(service = "inner", registry = &TIMED_BREAKERS)]
#[timeout(after = "2s", sleeper = Arc::new(VirtualSleeper::new()))]
async fn timeout_inside_breaker() -> Result<(), McpStoreError> {
    hang().await;
    Ok(())
}

#[test]
fn a_timeout_under_the_breaker_counts_as_a_failure() {
    for _ in 0..4 {
        let error = block_on(timeout_inside_breaker()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    }
    let inner = TIMED_BREAKERS.breaker("inner");
    assert_eq!(inner.state(), CircuitState::Open, "4 timeouts of 4 calls");
    assert_eq!(
        block_on(timeout_inside_breaker()).unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );
}

// A `config =` attempt timeout above a breaker, which the compiler cannot see: said when the
// policy is built (once), unless a shorter `#[timeout]` under the breaker cuts the call first.

static CONFIG_BREAKERS: LazyLock<BreakerRegistry> =
    LazyLock::new(|| registry(Arc::new(ManualClock::new())));

fn two_second_attempts() -> RetryConfig {
    policy_with_attempt_timeout(&Arc::new(VirtualSleeper::new())).max_attempts(1)
}

#[retry(config = two_second_attempts())]
#[circuit_breaker(service = "config-uncut", registry = &CONFIG_BREAKERS)]
async fn config_timeout_over_an_uncut_breaker() -> Result<u8, McpStoreError> {
    Ok(1)
}

#[retry(config = two_second_attempts())]
#[circuit_breaker(service = "config-cut-later", registry = &CONFIG_BREAKERS)]
#[timeout(after = "5s", sleeper = Arc::new(VirtualSleeper::new()))]
async fn config_timeout_over_a_longer_cut() -> Result<u8, McpStoreError> {
    Ok(2)
}

#[retry(config = two_second_attempts())]
#[circuit_breaker(service = "config-cut-first", registry = &CONFIG_BREAKERS)]
#[timeout(after = "1s", sleeper = Arc::new(VirtualSleeper::new()))]
async fn config_timeout_over_a_shorter_cut() -> Result<u8, McpStoreError> {
    Ok(3)
}

#[retry(config = RetryConfig::new().max_attempts(1))]
#[circuit_breaker(service = "config-no-timeout", registry = &CONFIG_BREAKERS)]
async fn config_without_a_timeout_over_a_breaker() -> Result<u8, McpStoreError> {
    Ok(4)
}

#[test]
fn a_config_attempt_timeout_over_a_breaker_is_reported_once_unless_cut_shorter_under_it() {
    let warnings = |call: &dyn Fn()| {
        mcpstore_errors_tests::capture_events("mcpstore_errors::retry", call)
            .into_iter()
            .filter(|event| event.level == tracing::Level::WARN)
            .collect::<Vec<_>>()
    };
    let uncut = warnings(&|| {
        assert_eq!(block_on(config_timeout_over_an_uncut_breaker()).unwrap(), 1);
        assert_eq!(block_on(config_timeout_over_an_uncut_breaker()).unwrap(), 1);
    });
    assert_eq!(uncut.len(), 1, "once, when the policy is built: {uncut:?}");
    assert!(
        uncut[0]
            .field("operation")
            .is_some_and(|operation| operation.ends_with("config_timeout_over_an_uncut_breaker")),
        "{uncut:?}"
    );
    assert_eq!(uncut[0].field("attempt_timeout"), Some("2s"));
    assert_eq!(uncut[0].field("timeout_under_breaker"), Some("None"));

    let later = warnings(&|| assert_eq!(block_on(config_timeout_over_a_longer_cut()).unwrap(), 2));
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].field("timeout_under_breaker"), Some("Some(5s)"));

    let first = warnings(&|| assert_eq!(block_on(config_timeout_over_a_shorter_cut()).unwrap(), 3));
    assert!(
        first.is_empty(),
        "the 1 s timeout under the breaker fires first: {first:?}"
    );
    let none = warnings(&|| {
        assert_eq!(
            block_on(config_without_a_timeout_over_a_breaker()).unwrap(),
            4
        )
    });
    assert!(none.is_empty(), "{none:?}");
}

#[timeout("250ms", sleeper = Arc::new(VirtualSleeper::new()))]
async fn hangs_under_a_positional_timeout() -> Result<u8, McpStoreError> {
    hang().await;
    Ok(7)
}

#[test]
fn a_positional_duration_may_be_followed_by_keys() {
    let error = block_on(hangs_under_a_positional_timeout()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    assert!(error.message().contains("250ms"), "{error}");
}

/// An error with both `Classify` (no `timed_out` of its own) and `From<McpStoreError>`.
#[derive(Debug)]
enum ApiError {
    Store(McpStoreError),
}

impl From<McpStoreError> for ApiError {
    fn from(error: McpStoreError) -> Self {
        ApiError::Store(error)
    }
}

impl mcpstore_errors::Classify for ApiError {
    fn error_kind(&self) -> Option<ErrorKind> {
        match self {
            ApiError::Store(error) => Some(error.kind()),
        }
    }
}

#[retry(config = policy_with_attempt_timeout(&Arc::new(VirtualSleeper::new())).max_attempts(1))]
async fn hangs_with_a_converting_error() -> Result<u32, ApiError> {
    hang().await;
    Ok(1)
}

#[retry(config = policy_with_attempt_timeout(&Arc::new(VirtualSleeper::new())).max_attempts(1))]
async fn hangs_with_a_boxed_error() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    hang().await;
    Ok(1)
}

#[test]
fn under_the_attribute_an_error_made_from_a_store_error_is_cut_off_first() {
    let ApiError::Store(error) = run_to_end(hangs_with_a_converting_error()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    let boxed = run_to_end(hangs_with_a_boxed_error()).unwrap_err();
    let error = boxed
        .downcast_ref::<McpStoreError>()
        .expect("a store error");
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
}

// An `io::Error` function under the timeout keys: cut off, failing `TimedOut` with the
// `ServiceTimeout` inside (another type that cannot say so is refused: ui/timeout_error_type.rs).

static IO_TIMEOUT_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));

#[timeout(after = "2s", sleeper = IO_TIMEOUT_SLEEPER.clone())]
async fn reads_from_a_hung_socket() -> Result<u8, std::io::Error> {
    hang().await;
    Ok(1)
}

#[retry(
    config = RetryConfig::new().sleeper(IO_TIMEOUT_SLEEPER.clone()).jitter(Jitter::None),
    max_attempts = 2,
    delay = "10ms",
    attempt_timeout = "1s"
)]
async fn retries_a_hung_socket() -> Result<u8, std::io::Error> {
    hang().await;
    Ok(2)
}

#[test]
fn an_io_error_function_is_cut_off_by_the_timeout_keys() {
    let timed = |error: &std::io::Error| {
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{error}");
        let inner = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<McpStoreError>());
        assert_eq!(
            inner.map(McpStoreError::kind),
            Some(ErrorKind::ServiceTimeout)
        );
    };
    IO_TIMEOUT_SLEEPER.clear();
    timed(&run_to_end(reads_from_a_hung_socket()).unwrap_err());
    assert_eq!(IO_TIMEOUT_SLEEPER.delays(), [Duration::from_secs(2)]);
    IO_TIMEOUT_SLEEPER.clear();
    timed(&run_to_end(retries_a_hung_socket()).unwrap_err());
    assert_eq!(
        IO_TIMEOUT_SLEEPER.delays(),
        [
            Duration::from_secs(1),
            Duration::from_millis(10),
            Duration::from_secs(1)
        ],
        "each attempt cut at 1 s, and the io::Error's TimedOut retried"
    );
}

// A positional duration through a `macro_rules!` fragment, alone or before keys.
macro_rules! timed {
    ($name:ident, $after:literal) => {
        #[timeout($after)]
        async fn $name() -> Result<u8, McpStoreError> {
            Ok(7)
        }
    };
    ($name:ident, $after:expr, $sleeper:expr) => {
        #[timeout($after, sleeper = $sleeper)]
        async fn $name() -> Result<u8, McpStoreError> {
            hang().await;
            Ok(7)
        }
    };
}

static FRAGMENT_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));

fn fragment_policy() -> RetryConfig {
    RetryConfig::new()
        .jitter(Jitter::None)
        .sleeper(FRAGMENT_SLEEPER.clone())
}

// Durations of #[retry] through `$d:literal` fragments: once read as expressions of type
// `&str`, they failed to compile.
macro_rules! retried_after {
    ($name:ident, $delay:literal, $timeout:literal) => {
        #[retry(config = fragment_policy(), max_attempts = 2, delay = $delay, attempt_timeout = $timeout)]
        async fn $name() -> Result<u8, McpStoreError> {
            hang().await;
            Ok(7)
        }
    };
}

retried_after!(retried_after_fragments, "30ms", "2s");

#[test]
fn retry_durations_may_come_through_macro_fragments() {
    let error = run_to_end(retried_after_fragments()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    let (timeout, delay) = (Duration::from_secs(2), Duration::from_millis(30));
    assert_eq!(FRAGMENT_SLEEPER.delays(), [timeout, delay, timeout]);
}

timed!(timed_by_a_literal_fragment, "2s");
timed!(
    timed_by_an_expr_fragment,
    "250ms",
    Arc::new(VirtualSleeper::new())
);

#[test]
fn a_positional_duration_may_come_through_a_macro_fragment() {
    assert_eq!(block_on(timed_by_a_literal_fragment()).unwrap(), 7);
    let error = block_on(timed_by_an_expr_fragment()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
}

// ---- pointers to unsized errors keep their classification ----

trait ServiceFailure: std::fmt::Debug {
    fn busy(&self) -> bool;
}

#[derive(Debug)]
struct Busy;

impl ServiceFailure for Busy {
    fn busy(&self) -> bool {
        true
    }
}

impl mcpstore_errors::Classify for Busy {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(ErrorKind::Connection)
    }
}

/// A user's own trait object, boxed: classified by the impl the orphan rule allows.
impl mcpstore_errors::Classify for Box<dyn ServiceFailure> {
    fn error_kind(&self) -> Option<ErrorKind> {
        self.busy().then_some(ErrorKind::Connection)
    }
}

static BOXED_FAILURES: AtomicU32 = AtomicU32::new(0);

#[retry(max_attempts = 2, delay = 0, when = retryable)]
fn fails_with_a_boxed_trait_object() -> Result<(), Box<dyn ServiceFailure>> {
    BOXED_FAILURES.fetch_add(1, Ordering::SeqCst);
    Err(Box::new(Busy))
}

#[test]
fn boxed_and_shared_trait_objects_are_classified() {
    use mcpstore_errors::Classify;
    let boxed: Box<dyn Classify> = Box::new(Busy);
    assert_eq!(boxed.error_kind(), Some(ErrorKind::Connection));
    let shared: Arc<dyn Classify + Send + Sync> = Arc::new(McpStoreError::connection("x"));
    assert!(shared.is_retryable());
    assert!(fails_with_a_boxed_trait_object().is_err());
    assert_eq!(BOXED_FAILURES.load(Ordering::SeqCst), 2, "retried once");
}

// A positional duration written as an expression: a path call, not a key.
#[timeout(Duration::from_millis(250), sleeper = Arc::new(VirtualSleeper::new()))]
async fn timed_by_an_expression() -> Result<u8, McpStoreError> {
    hang().await;
    Ok(7)
}

#[test]
fn a_positional_duration_may_be_an_expression() {
    let error = block_on(timed_by_an_expression()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
}

// A `#[timeout]` on a function a `macro_rules!` passes on as tokens.
macro_rules! with_timeout {
    ($($item:tt)*) => {
        #[timeout(after = "2s", sleeper = Arc::new(VirtualSleeper::new()))]
        $($item)*
    };
}

with_timeout! {
    async fn timed_from_tokens() -> Result<u32, McpStoreError> {
        hang().await;
        Ok(1)
    }
}

#[test]
fn a_timeout_on_a_function_passed_as_tokens_cuts_it_off() {
    let error = run_to_end(timed_from_tokens()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
}

// ---- a deadline under a paused tokio runtime ----

/// Three 1 ms waits fit in the deadline, on the default sleeper (no clock of its own).
fn paused_runtime_deadline() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(20)
        .strategy(mcpstore_errors::RetryStrategy::Fixed)
        .base_delay(Duration::from_millis(1))
        .jitter(Jitter::None)
        .deadline(Duration::from_millis(3))
}

static PAUSED_SYNC_CALLS: AtomicU32 = AtomicU32::new(0);
static PAUSED_ASYNC_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(config = paused_runtime_deadline())]
fn refused_while_paused() -> Result<(), McpStoreError> {
    PAUSED_SYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection("refused"))
}

#[retry(config = paused_runtime_deadline())]
async fn refused_while_paused_async() -> Result<(), McpStoreError> {
    PAUSED_ASYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection("refused"))
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

/// A sync call waits with `std::thread::sleep`, which a paused tokio clock does not see pass:
/// its deadline is measured on the system's clock, an async call's on tokio's.
#[test]
fn a_sync_call_inside_a_paused_tokio_runtime_meets_its_deadline() {
    paused_runtime().block_on(async {
        let (_, stats) = RetryManager::new(paused_runtime_deadline())
            .execute_outcome(|| Err::<(), _>(McpStoreError::connection("refused")));
        assert_eq!(stats.stop_reason, StopReason::Deadline);
        assert!((1..=3).contains(&stats.attempts), "{stats:?}");
        assert!(stats.elapsed >= Duration::from_millis(stats.attempts as u64 - 1));

        assert!(refused_while_paused().is_err());
        let attempts = PAUSED_SYNC_CALLS.load(Ordering::SeqCst);
        assert!((1..=3).contains(&attempts), "{attempts} attempts");

        // An async call waits on tokio's timer: on the paused clock, exactly three attempts.
        let paused = tokio::time::Instant::now();
        assert!(refused_while_paused_async().await.is_err());
        assert_eq!(PAUSED_ASYNC_CALLS.load(Ordering::SeqCst), 3);
        assert_eq!(paused.elapsed(), Duration::from_millis(2));
    });
}

// ---- tokio's clock ----

fn tokio_breakers() -> BreakerRegistry {
    BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(2))
            .minimum_calls(2)
            .failure_rate(0.5)
            .open_duration(Duration::from_millis(200))
            .jitter(0.0)
            .clock(Arc::new(mcpstore_errors::TokioClock::new())),
    )
}

static TOKIO_BREAKERS: LazyLock<BreakerRegistry> = LazyLock::new(tokio_breakers);

#[circuit_breaker(service = "paused", registry = &TOKIO_BREAKERS)]
async fn guarded_on_tokio_time(up: bool) -> Result<&'static str, McpStoreError> {
    match up {
        true => Ok("ok"),
        false => Err(McpStoreError::connection("refused")),
    }
}

/// A breaker on `TokioClock` sees its open period pass with tokio's paused time, through the
/// attribute and through the plain API alike.
#[test]
fn a_breaker_on_tokios_clock_half_opens_as_paused_time_passes() {
    paused_runtime().block_on(async {
        assert!(guarded_on_tokio_time(false).await.is_err());
        assert!(guarded_on_tokio_time(false).await.is_err());
        let refused = guarded_on_tokio_time(true).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::CircuitOpen);
        tokio::time::sleep(Duration::from_millis(200)).await; // paused: no real wait
        assert_eq!(guarded_on_tokio_time(true).await.unwrap(), "ok");
        assert_eq!(
            TOKIO_BREAKERS.get("paused").unwrap().state(),
            CircuitState::Closed
        );

        let plain = tokio_breakers().breaker("paused");
        for _ in 0..2 {
            plain
                .try_acquire()
                .unwrap()
                .failure(Some(ErrorKind::Connection), None);
        }
        assert!(plain.try_acquire().is_err());
        tokio::time::advance(Duration::from_millis(200)).await;
        plain
            .try_acquire()
            .expect("a probe after the open period")
            .success();
        assert_eq!(plain.state(), CircuitState::Closed);
    });
}

#[test]
fn tokios_clock_moves_both_its_times_with_paused_time() {
    use mcpstore_errors::{Clock, TokioClock};
    paused_runtime().block_on(async {
        let clock = TokioClock::new();
        let (start, wall) = (clock.now(), clock.system_time());
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now() - start, Duration::from_secs(90));
        assert_eq!(
            clock.system_time().duration_since(wall).unwrap(),
            Duration::from_secs(90)
        );
    });
}

// ---- what a timed-out call's error names ----

struct Files;

impl Files {
    #[timeout(after = "2s", sleeper = Arc::new(VirtualSleeper::new()))]
    async fn read(&self) -> Result<u32, McpStoreError> {
        hang().await;
        Ok(1)
    }
}

/// A timeout knows the operation it cut off, not a service: it says so, and does not pass the
/// function's path off as a service name.
#[test]
fn a_timed_out_call_names_its_operation_not_a_service() {
    let error = block_on(Files.read()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    let operation = concat!(module_path!(), "::Files::read");
    assert_eq!(error.details()["operation"], operation);
    assert_eq!(error.details()["timeout"], 2.0);
    assert!(
        error.details().get("service_name").is_none(),
        "{:?}",
        error.details()
    );
    assert_eq!(error.message(), format!("'{operation}' timed out after 2s"));
    // The plain API's error alike.
    let plain = mcpstore_errors::Elapsed {
        timeout: Duration::from_secs(2),
    }
    .into_error(operation);
    assert_eq!(
        (plain.message(), plain.details()),
        (error.message(), error.details())
    );
}

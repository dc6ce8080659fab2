//! `#[retry]`: how many calls, which delays, which errors and values are retried, the hook, and
//! how arguments reach each attempt.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use mcpstore_errors::{
    Classify, ErrorKind, Jitter, McpStoreError, RetryConfig, RetryStrategy, VirtualSleeper, retry,
};

/// Counts a call and returns its number, 1-based.
fn next_call(calls: &AtomicU32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst) + 1
}

fn start_failure(call: u32) -> McpStoreError {
    McpStoreError::service_start_failed("fs", format!("attempt {call}"))
}

/// Plays `script` one error per call, then succeeds with the call's number.
fn play(calls: &AtomicU32, script: &[McpStoreError]) -> Result<u32, McpStoreError> {
    let call = next_call(calls);
    match script.get(call as usize - 1) {
        Some(error) => Err(error.clone()),
        None => Ok(call),
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

/// A policy without jitter that sleeps on `sleeper`: 100 ms base, exponential ×2, 3 attempts.
fn virtual_policy(sleeper: &Arc<VirtualSleeper>) -> RetryConfig {
    RetryConfig::new()
        .base_delay(ms(100))
        .jitter(Jitter::None)
        .sleeper(sleeper.clone())
}

// ---------------------------------------------------------------------------------------------
// Attempts

#[retry(max_attempts = 3, delay = 0)]
fn fails_until_third_call(calls: &AtomicU32) -> Result<&'static str, McpStoreError> {
    let call = next_call(calls);
    if call < 3 {
        Err(start_failure(call))
    } else {
        Ok("running")
    }
}

#[test]
fn retries_until_an_attempt_succeeds() {
    let calls = AtomicU32::new(0);
    assert_eq!(fails_until_third_call(&calls).unwrap(), "running");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[retry(max_attempts = 4, delay = 0)]
fn always_fails(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn gives_up_after_max_attempts_with_the_last_error() {
    let calls = AtomicU32::new(0);
    let error = always_fails(&calls).unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(error.details()["reason"], "attempt 4");
}

#[retry(max_attempts = 1, delay = 0)]
fn single_attempt(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn max_attempts_one_calls_once() {
    let calls = AtomicU32::new(0);
    assert_eq!(
        single_attempt(&calls).unwrap_err().details()["reason"],
        "attempt 1"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry]
fn bare_retry_succeeds(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    Ok(next_call(calls))
}

#[test]
fn bare_retry_returns_the_first_success_without_another_call() {
    let calls = AtomicU32::new(0);
    assert_eq!(bare_retry_succeeds(&calls).unwrap(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

static SEED_DEFAULTS_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

#[retry(config = RetryConfig::attribute_default().sleeper(SEED_DEFAULTS_SLEEPER.clone()))]
fn fails_with_seed_defaults(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn seed_defaults_make_three_calls_with_jittered_exponential_delays() {
    let calls = AtomicU32::new(0);
    assert!(fails_with_seed_defaults(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let delays = SEED_DEFAULTS_SLEEPER.delays();
    assert_eq!(delays.len(), 2, "{delays:?}");
    assert!((ms(750)..=ms(1250)).contains(&delays[0]), "{delays:?}");
    assert!((ms(1500)..=ms(2500)).contains(&delays[1]), "{delays:?}");
}

// ---------------------------------------------------------------------------------------------
// Delays through `config = ...`, recorded by a virtual sleeper

static EXPONENTIAL_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

#[retry(config = virtual_policy(&EXPONENTIAL_SLEEPER).max_attempts(4))]
fn exponential_by_config(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn config_policy_sleeps_its_delays_between_attempts() {
    let calls = AtomicU32::new(0);
    assert!(exponential_by_config(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(EXPONENTIAL_SLEEPER.delays(), [ms(100), ms(200), ms(400)]);
}

static CONFIG_ONCE_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);
static CONFIG_EVALUATIONS: AtomicU32 = AtomicU32::new(0);

fn counted_policy() -> RetryConfig {
    CONFIG_EVALUATIONS.fetch_add(1, Ordering::SeqCst);
    virtual_policy(&CONFIG_ONCE_SLEEPER).strategy(RetryStrategy::Fixed)
}

#[retry(config = counted_policy())]
fn fails_twice_with_counted_policy(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    let call = next_call(calls);
    if call % 3 == 0 {
        Ok(call)
    } else {
        Err(start_failure(call))
    }
}

#[test]
fn config_expression_is_evaluated_once_per_function() {
    let calls = AtomicU32::new(0);
    assert_eq!(fails_twice_with_counted_policy(&calls).unwrap(), 3);
    assert_eq!(fails_twice_with_counted_policy(&calls).unwrap(), 6);
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    assert_eq!(CONFIG_EVALUATIONS.load(Ordering::SeqCst), 1);
    assert_eq!(CONFIG_ONCE_SLEEPER.delays(), [ms(100); 4]);
}

static NO_SLEEP_ON_SUCCESS_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

#[retry(config = virtual_policy(&NO_SLEEP_ON_SUCCESS_SLEEPER))]
fn succeeds_with_config(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    Ok(next_call(calls))
}

#[test]
fn a_first_success_sleeps_nothing() {
    let calls = AtomicU32::new(0);
    assert_eq!(succeeds_with_config(&calls).unwrap(), 1);
    assert!(NO_SLEEP_ON_SUCCESS_SLEEPER.delays().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Delays through the attribute's own keys, seen by the `on_retry` hook (microsecond delays, so
// the real sleeps stay far below a millisecond or two)

type HookLog = Mutex<Vec<(u32, String, Duration)>>;

fn record(log: &HookLog, attempt: u32, error: &McpStoreError, delay: Duration) {
    log.lock().unwrap().push((
        attempt,
        error.details()["reason"]
            .as_str()
            .unwrap_or_default()
            .into(),
        delay,
    ));
}

fn recorded_delays(log: &HookLog) -> Vec<Duration> {
    log.lock().unwrap().iter().map(|entry| entry.2).collect()
}

static FIXED_LOG: HookLog = Mutex::new(Vec::new());

fn record_fixed(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&FIXED_LOG, attempt, error, delay);
}

#[retry(max_attempts = 4, strategy = fixed, delay = "100us", jitter = false, on_retry = record_fixed)]
fn fixed_by_keys(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn strategy_fixed_repeats_the_delay() {
    let calls = AtomicU32::new(0);
    assert!(fixed_by_keys(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(recorded_delays(&FIXED_LOG), [us(100); 3]);
}

static LINEAR_LOG: HookLog = Mutex::new(Vec::new());

fn record_linear(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&LINEAR_LOG, attempt, error, delay);
}

#[retry(max_attempts = 4, strategy = linear, delay = "100us", jitter = false, on_retry = record_linear)]
fn linear_by_keys(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn strategy_linear_grows_by_the_base_delay() {
    let calls = AtomicU32::new(0);
    assert!(linear_by_keys(&calls).is_err());
    assert_eq!(recorded_delays(&LINEAR_LOG), [us(100), us(200), us(300)]);
}

static EXPONENTIAL_LOG: HookLog = Mutex::new(Vec::new());

fn record_exponential(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&EXPONENTIAL_LOG, attempt, error, delay);
}

#[retry(
    max_attempts = 5,
    delay = "100us",
    backoff = 3.0,
    max_delay = "1ms",
    jitter = false,
    on_retry = record_exponential
)]
fn exponential_by_keys(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn default_strategy_is_exponential_with_backoff_and_max_delay() {
    let calls = AtomicU32::new(0);
    assert!(exponential_by_keys(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(
        recorded_delays(&EXPONENTIAL_LOG),
        [us(100), us(300), us(900), us(1000)]
    );
}

static FIBONACCI_LOG: HookLog = Mutex::new(Vec::new());

fn record_fibonacci(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&FIBONACCI_LOG, attempt, error, delay);
}

#[retry(strategy = fibonacci, delay = "50us", max_attempts = 6, jitter = false, on_retry = record_fibonacci)]
fn fibonacci_by_keys(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn strategy_fibonacci_follows_the_sequence() {
    let calls = AtomicU32::new(0);
    assert!(fibonacci_by_keys(&calls).is_err());
    assert_eq!(
        recorded_delays(&FIBONACCI_LOG),
        [us(50), us(50), us(100), us(150), us(250)]
    );
}

static SECONDS_LOG: HookLog = Mutex::new(Vec::new());

fn record_seconds(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&SECONDS_LOG, attempt, error, delay);
}

#[retry(max_attempts = 2, strategy = fixed, delay = 0.0002, jitter = false, on_retry = record_seconds)]
fn bare_number_delay(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn a_bare_number_delay_is_in_seconds() {
    let calls = AtomicU32::new(0);
    assert!(bare_number_delay(&calls).is_err());
    let delays = recorded_delays(&SECONDS_LOG);
    assert_eq!(delays.len(), 1);
    let off_by = delays[0].abs_diff(us(200));
    assert!(off_by <= Duration::from_nanos(1), "{delays:?}");
}

static EXPRESSION_LOG: HookLog = Mutex::new(Vec::new());

fn record_expression(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&EXPRESSION_LOG, attempt, error, delay);
}

const SHORT_DELAY: Duration = Duration::from_micros(70);

#[retry(max_attempts = 3, strategy = linear, delay = SHORT_DELAY, jitter = false, on_retry = record_expression)]
fn expression_delay(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn a_delay_expression_is_a_duration() {
    let calls = AtomicU32::new(0);
    assert!(expression_delay(&calls).is_err());
    assert_eq!(recorded_delays(&EXPRESSION_LOG), [us(70), us(140)]);
}

static JITTER_LOG: HookLog = Mutex::new(Vec::new());

fn record_jitter(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&JITTER_LOG, attempt, error, delay);
}

#[retry(max_attempts = 30, strategy = fixed, delay = "40us", on_retry = record_jitter)]
fn jittered_by_default(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn the_attribute_jitters_by_a_quarter_unless_told_not_to() {
    let calls = AtomicU32::new(0);
    assert!(jittered_by_default(&calls).is_err());
    let delays = recorded_delays(&JITTER_LOG);
    assert_eq!(delays.len(), 29);
    assert!(
        delays.iter().all(|d| (us(30)..=us(50)).contains(d)),
        "{delays:?}"
    );
    // 29 draws of ±25 % that all land on exactly 40 µs would mean there is no jitter at all.
    assert!(delays.iter().any(|d| *d != us(40)), "{delays:?}");
}

// ---------------------------------------------------------------------------------------------
// The hook

static HOOK_LOG: HookLog = Mutex::new(Vec::new());

fn log_attempt(attempt: u32, error: &McpStoreError, delay: Duration) {
    record(&HOOK_LOG, attempt, error, delay);
}

#[retry(max_attempts = 3, strategy = linear, delay = "10us", jitter = false, on_retry = log_attempt)]
fn hooked(calls: &AtomicU32) -> Result<(), McpStoreError> {
    Err(start_failure(next_call(calls)))
}

#[test]
fn on_retry_sees_the_failed_attempt_its_error_and_the_next_delay() {
    let calls = AtomicU32::new(0);
    assert!(hooked(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Called before each retry only: not after the last attempt.
    assert_eq!(
        *HOOK_LOG.lock().unwrap(),
        [
            (1, "attempt 1".to_string(), us(10)),
            (2, "attempt 2".to_string(), us(20)),
        ]
    );
}

static CLOSURE_HOOK_LOG: Mutex<Vec<u32>> = Mutex::new(Vec::new());

#[retry(
    max_attempts = 3,
    delay = 0,
    on = [ServiceStart],
    on_retry = |attempt: u32, _error: &McpStoreError, _delay: Duration| {
        CLOSURE_HOOK_LOG.lock().unwrap().push(attempt)
    }
)]
fn hooked_by_closure(calls: &AtomicU32, script: &[McpStoreError]) -> Result<u32, McpStoreError> {
    play(calls, script)
}

#[test]
fn on_retry_accepts_a_closure_and_is_not_called_for_an_error_that_is_not_retried() {
    let calls = AtomicU32::new(0);
    let script = [start_failure(1), McpStoreError::service_not_found("fs")];
    let error = hooked_by_closure(&calls, &script).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(*CLOSURE_HOOK_LOG.lock().unwrap(), [1]);
}

// ---------------------------------------------------------------------------------------------
// Which errors are retried: `on = [...]`

#[retry(max_attempts = 3, delay = 0, on = [ServiceStart, ServiceTimeout])]
fn on_start_or_timeout(calls: &AtomicU32, script: &[McpStoreError]) -> Result<u32, McpStoreError> {
    play(calls, script)
}

#[test]
fn on_retries_the_listed_kinds() {
    let calls = AtomicU32::new(0);
    let script = [
        start_failure(1),
        McpStoreError::service_timeout("fs", ms(500)),
    ];
    assert_eq!(on_start_or_timeout(&calls, &script).unwrap(), 3);
}

#[test]
fn on_does_not_retry_other_kinds() {
    let calls = AtomicU32::new(0);
    let script = [McpStoreError::service_not_found("fs")];
    let error = on_start_or_timeout(&calls, &script).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn on_stops_at_the_first_error_it_does_not_list() {
    let calls = AtomicU32::new(0);
    let script = [start_failure(1), McpStoreError::connection("refused")];
    let error = on_start_or_timeout(&calls, &script).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[retry(max_attempts = 4, delay = 0, on = [Service])]
fn on_any_service_error(calls: &AtomicU32, script: &[McpStoreError]) -> Result<u32, McpStoreError> {
    play(calls, script)
}

#[test]
fn on_a_parent_kind_covers_its_sub_kinds() {
    let calls = AtomicU32::new(0);
    let script = [
        McpStoreError::service_not_found("fs"),
        McpStoreError::service_stop_failed("fs", "busy"),
        McpStoreError::new(ErrorKind::Service, "generic"),
    ];
    assert_eq!(on_any_service_error(&calls, &script).unwrap(), 4);

    let calls = AtomicU32::new(0);
    let script = [McpStoreError::tool_not_found("read", Some("fs"))];
    assert!(on_any_service_error(&calls, &script).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A user's error type that takes part in kind-based decisions.
#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Busy,
    RateLimited(Duration),
    Invalid,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ApiError {}

impl Classify for ApiError {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(match self {
            ApiError::Busy | ApiError::RateLimited(_) => ErrorKind::Connection,
            ApiError::Invalid => ErrorKind::Configuration,
        })
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited(delay) => Some(*delay),
            _ => None,
        }
    }
}

fn play_api(calls: &AtomicU32, script: &[ApiError]) -> Result<u32, ApiError> {
    let call = next_call(calls);
    match script.get(call as usize - 1) {
        Some(error) => Err(error.clone()),
        None => Ok(call),
    }
}

#[retry(max_attempts = 3, delay = 0, on = [Connection])]
fn api_on_connection(calls: &AtomicU32, script: &[ApiError]) -> Result<u32, ApiError> {
    play_api(calls, script)
}

#[test]
fn on_works_with_a_users_error_type() {
    let calls = AtomicU32::new(0);
    assert_eq!(
        api_on_connection(&calls, &[ApiError::Busy, ApiError::Busy]).unwrap(),
        3
    );
    let calls = AtomicU32::new(0);
    assert_eq!(
        api_on_connection(&calls, &[ApiError::Invalid]),
        Err(ApiError::Invalid)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// Which errors are retried: `when = ...`

#[retry(max_attempts = 3, delay = 0, when = retryable)]
fn when_retryable(calls: &AtomicU32, script: &[McpStoreError]) -> Result<u32, McpStoreError> {
    play(calls, script)
}

#[test]
fn when_retryable_retries_transient_kinds() {
    let calls = AtomicU32::new(0);
    let script = [start_failure(1), McpStoreError::connection("reset")];
    assert_eq!(when_retryable(&calls, &script).unwrap(), 3);
}

#[test]
fn when_retryable_does_not_retry_permanent_kinds() {
    for permanent in [
        McpStoreError::service_not_found("fs"),
        McpStoreError::tool_not_found("read", None),
        McpStoreError::configuration("bad port"),
        McpStoreError::tool_execution_failed("write", "disk full", None),
    ] {
        let calls = AtomicU32::new(0);
        let kind = permanent.kind();
        let error = when_retryable(&calls, &[permanent]).unwrap_err();
        assert_eq!(error.kind(), kind);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind:?}");
    }
}

static RETRY_AFTER_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

#[retry(
    config = virtual_policy(&RETRY_AFTER_SLEEPER)
        .strategy(RetryStrategy::Fixed)
        .max_delay(Duration::from_secs(2))
        .max_attempts(4),
    when = retryable
)]
fn rate_limited(calls: &AtomicU32, script: &[ApiError]) -> Result<u32, ApiError> {
    play_api(calls, script)
}

#[test]
fn when_retryable_honours_retry_after_up_to_max_delay() {
    let calls = AtomicU32::new(0);
    let script = [
        ApiError::RateLimited(ms(700)),
        ApiError::RateLimited(ms(30)),
        ApiError::RateLimited(Duration::from_secs(60)),
    ];
    assert_eq!(rate_limited(&calls, &script).unwrap(), 4);
    // Wait at least what the server asked, at least the policy's delay, never beyond max_delay.
    assert_eq!(
        RETRY_AFTER_SLEEPER.delays(),
        [ms(700), ms(100), Duration::from_secs(2)]
    );
}

/// A user's error type that knows nothing of kinds.
#[derive(Debug, Clone, PartialEq)]
struct FlakyError {
    transient: bool,
}

impl FlakyError {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl std::fmt::Display for FlakyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "flaky (transient: {})", self.transient)
    }
}

#[retry(max_attempts = 5, delay = 0, when = |e: &FlakyError| e.is_transient())]
fn when_closure(calls: &AtomicU32, script: &[FlakyError]) -> Result<u32, FlakyError> {
    let call = next_call(calls);
    match script.get(call as usize - 1) {
        Some(error) => Err(error.clone()),
        None => Ok(call),
    }
}

#[test]
fn when_closure_decides_per_error() {
    let transient = FlakyError { transient: true };
    let permanent = FlakyError { transient: false };

    let calls = AtomicU32::new(0);
    assert_eq!(
        when_closure(&calls, &[transient.clone(), transient.clone()]).unwrap(),
        3
    );

    let calls = AtomicU32::new(0);
    assert_eq!(
        when_closure(&calls, &[transient.clone(), permanent.clone(), transient]),
        Err(permanent)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

fn is_timeout(error: &McpStoreError) -> bool {
    error.kind() == ErrorKind::ServiceTimeout
}

#[retry(max_attempts = 3, delay = 0, when = is_timeout)]
fn when_path(calls: &AtomicU32, script: &[McpStoreError]) -> Result<u32, McpStoreError> {
    play(calls, script)
}

#[test]
fn when_accepts_a_function_path() {
    let calls = AtomicU32::new(0);
    let timeout = McpStoreError::service_timeout("fs", ms(10));
    assert_eq!(when_path(&calls, &[timeout]).unwrap(), 2);

    let calls = AtomicU32::new(0);
    assert!(when_path(&calls, &[start_failure(1)]).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry(max_attempts = 3, delay = 0)]
fn every_error_by_default(
    calls: &AtomicU32,
    script: &[McpStoreError],
) -> Result<u32, McpStoreError> {
    play(calls, script)
}

#[test]
fn without_a_filter_every_error_is_retried() {
    // The seed's decorator retries `Exception`: even kinds that are not retryable.
    let calls = AtomicU32::new(0);
    let script = [
        McpStoreError::service_not_found("fs"),
        McpStoreError::configuration("bad"),
    ];
    assert_eq!(every_error_by_default(&calls, &script).unwrap(), 3);
}

// ---------------------------------------------------------------------------------------------
// Which values are retried: `retry_if_result`

#[retry(max_attempts = 5, delay = 0, retry_if_result = |ok: &bool| !*ok)]
fn healthy_on_third(calls: &AtomicU32) -> Result<bool, McpStoreError> {
    Ok(next_call(calls) >= 3)
}

#[test]
fn retry_if_result_retries_rejected_values() {
    let calls = AtomicU32::new(0);
    assert!(healthy_on_third(&calls).unwrap());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[retry(max_attempts = 3, delay = 0, retry_if_result = |ok: &bool| !*ok)]
fn never_healthy(calls: &AtomicU32) -> Result<bool, McpStoreError> {
    next_call(calls);
    Ok(false)
}

#[test]
fn retry_if_result_returns_the_last_rejected_value_when_attempts_run_out() {
    let calls = AtomicU32::new(0);
    assert!(!never_healthy(&calls).unwrap());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

static MIXED_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

#[retry(
    config = virtual_policy(&MIXED_SLEEPER).max_attempts(5),
    on = [Connection],
    retry_if_result = |ok: &bool| !*ok
)]
fn error_then_rejected_then_healthy(calls: &AtomicU32) -> Result<bool, McpStoreError> {
    match next_call(calls) {
        1 => Err(McpStoreError::connection("refused")),
        2 => Ok(false),
        _ => Ok(true),
    }
}

#[test]
fn errors_and_rejected_values_share_the_attempts_and_the_backoff() {
    let calls = AtomicU32::new(0);
    assert!(error_then_rejected_then_healthy(&calls).unwrap());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(MIXED_SLEEPER.delays(), [ms(100), ms(200)]);
}

// ---------------------------------------------------------------------------------------------
// The body: `?` and `return` end one attempt

#[retry(max_attempts = 3, delay = 0)]
fn parse_port(calls: &AtomicU32, inputs: &[&str]) -> Result<u16, McpStoreError> {
    let call = next_call(calls) as usize;
    let port: u16 = inputs[call - 1].parse()?;
    Ok(port)
}

#[test]
fn question_mark_ends_the_attempt_and_is_retried() {
    let calls = AtomicU32::new(0);
    assert_eq!(parse_port(&calls, &["x", "99999", "8080"]).unwrap(), 8080);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let calls = AtomicU32::new(0);
    let error = parse_port(&calls, &["a", "b", "c"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[retry(max_attempts = 4, delay = 0)]
fn early_returns(calls: &AtomicU32, succeed_at: u32) -> Result<u32, McpStoreError> {
    let call = next_call(calls);
    if call < succeed_at {
        return Err(start_failure(call));
    }
    if call == succeed_at {
        return Ok(call * 10);
    }
    unreachable!("an attempt after a success")
}

#[test]
fn return_ends_the_attempt_not_the_retry_loop() {
    let calls = AtomicU32::new(0);
    assert_eq!(early_returns(&calls, 3).unwrap(), 30);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let calls = AtomicU32::new(0);
    assert_eq!(early_returns(&calls, 1).unwrap(), 10);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry(max_attempts = 3, delay = 0)]
fn nested_closure_returns(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    let call = next_call(calls);
    // A `return` inside an inner closure belongs to that closure.
    let double = |x: u32| -> u32 {
        if x > 100 {
            return 0;
        }
        x * 2
    };
    if call < 2 {
        Err(start_failure(call))
    } else {
        Ok(double(call))
    }
}

#[test]
fn return_in_an_inner_closure_is_untouched() {
    let calls = AtomicU32::new(0);
    assert_eq!(nested_closure_returns(&calls).unwrap(), 4);
}

// ---------------------------------------------------------------------------------------------
// Arguments

#[retry(max_attempts = 3, delay = 0)]
fn consumes_its_argument(
    calls: &AtomicU32,
    mut names: Vec<String>,
    seen: &Mutex<Vec<Vec<String>>>,
) -> Result<usize, McpStoreError> {
    let call = next_call(calls);
    names.push(format!("attempt {call}"));
    seen.lock().unwrap().push(names.clone());
    if call < 3 {
        Err(start_failure(call))
    } else {
        Ok(names.len())
    }
}

#[test]
fn each_attempt_gets_a_fresh_copy_of_by_value_arguments() {
    let calls = AtomicU32::new(0);
    let seen = Mutex::new(Vec::new());
    let names = vec!["fs".to_string()];
    assert_eq!(consumes_its_argument(&calls, names, &seen).unwrap(), 2);
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen,
        [1, 2, 3].map(|call| vec!["fs".to_string(), format!("attempt {call}")])
    );
}

/// Counts its clones.
#[derive(Debug)]
struct Counted {
    clones: Arc<AtomicU32>,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Counted {
            clones: self.clones.clone(),
        }
    }
}

#[retry(max_attempts = 3, delay = 0)]
fn takes_counted(
    calls: &AtomicU32,
    fail_until: u32,
    counted: Counted,
) -> Result<u32, McpStoreError> {
    let _ = &counted;
    let call = next_call(calls);
    if call < fail_until {
        Err(start_failure(call))
    } else {
        Ok(call)
    }
}

#[test]
fn by_value_arguments_are_cloned_at_most_once_per_attempt() {
    let clones = Arc::new(AtomicU32::new(0));
    let calls = AtomicU32::new(0);
    let counted = Counted {
        clones: clones.clone(),
    };
    assert!(takes_counted(&calls, 10, counted).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // One clone per attempt, except that the last attempt may take the original.
    assert!(
        (2..=3).contains(&clones.load(Ordering::SeqCst)),
        "{clones:?}"
    );

    let clones = Arc::new(AtomicU32::new(0));
    let calls = AtomicU32::new(0);
    let counted = Counted {
        clones: clones.clone(),
    };
    assert_eq!(takes_counted(&calls, 1, counted).unwrap(), 1);
    assert!(clones.load(Ordering::SeqCst) <= 1, "{clones:?}");
}

/// Not `Clone`: the body only borrows it, so it is exempt from cloning.
#[derive(Debug)]
struct Connection {
    address: String,
}

#[retry(max_attempts = 3, delay = 0, no_clone = [connection])]
fn borrows_an_owned_argument(
    calls: &AtomicU32,
    connection: Connection,
) -> Result<String, McpStoreError> {
    let call = next_call(calls);
    if call < 3 {
        Err(McpStoreError::connection(format!(
            "{} refused attempt {call}",
            connection.address
        )))
    } else {
        Ok(format!("connected to {}", connection.address))
    }
}

#[test]
fn no_clone_exempts_an_argument_the_body_only_borrows() {
    let calls = AtomicU32::new(0);
    let connection = Connection {
        address: "localhost:8080".to_string(),
    };
    assert_eq!(
        borrows_an_owned_argument(&calls, connection).unwrap(),
        "connected to localhost:8080"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[retry(max_attempts = 3, delay = 0, no_clone = [connection])]
async fn borrows_an_owned_argument_async(
    calls: &AtomicU32,
    connection: Connection,
) -> Result<String, McpStoreError> {
    tokio::task::yield_now().await;
    let call = next_call(calls);
    if call < 2 {
        Err(start_failure(call))
    } else {
        Ok(connection.address.clone())
    }
}

#[tokio::test]
async fn no_clone_works_in_async_fns() {
    let calls = AtomicU32::new(0);
    let connection = Connection {
        address: "db:5432".to_string(),
    };
    let future = borrows_an_owned_argument_async(&calls, connection);
    assert_send(&future);
    assert_eq!(future.await.unwrap(), "db:5432");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[retry(max_attempts = 3, delay = 0)]
fn appends_through_a_reference(log: &mut Vec<u32>) -> Result<usize, McpStoreError> {
    log.push(log.len() as u32 + 1);
    if log.len() < 3 {
        Err(start_failure(log.len() as u32))
    } else {
        Ok(log.len())
    }
}

#[test]
fn references_pass_through_to_every_attempt() {
    let mut log = Vec::new();
    assert_eq!(appends_through_a_reference(&mut log).unwrap(), 3);
    assert_eq!(log, [1, 2, 3]);
}

// ---------------------------------------------------------------------------------------------
// async fn

static ASYNC_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

#[retry(config = virtual_policy(&ASYNC_SLEEPER).max_attempts(4), on = [ServiceStart])]
async fn start_async(calls: &AtomicU32, name: String) -> Result<String, McpStoreError> {
    tokio::task::yield_now().await;
    let call = next_call(calls);
    if call < 3 {
        Err(McpStoreError::service_start_failed(name, "port busy"))
    } else {
        Ok(format!("{name} started on attempt {call}"))
    }
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn async_fn_retries_and_sleeps_through_the_sleeper() {
    let calls = AtomicU32::new(0);
    let future = start_async(&calls, "fs".to_string());
    assert_send(&future);
    assert_eq!(future.await.unwrap(), "fs started on attempt 3");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(ASYNC_SLEEPER.delays(), [ms(100), ms(200)]);
}

#[retry(max_attempts = 3, delay = 0, when = retryable)]
async fn async_not_retryable(calls: &AtomicU32) -> Result<(), McpStoreError> {
    next_call(calls);
    tokio::task::yield_now().await;
    Err(McpStoreError::service_not_found("fs"))?;
    Ok(())
}

#[tokio::test]
async fn async_fn_question_mark_ends_the_attempt_and_filters_apply() {
    let calls = AtomicU32::new(0);
    let error = async_not_retryable(&calls).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry(max_attempts = 3, delay = 0)]
async fn async_records_each_attempt(
    calls: &AtomicU32,
    seen: Arc<Mutex<Vec<u32>>>,
) -> Result<usize, McpStoreError> {
    let call = next_call(calls);
    seen.lock().unwrap().push(call);
    tokio::task::yield_now().await;
    let count = seen.lock().unwrap().len();
    if count < 3 {
        return Err(start_failure(call));
    }
    Ok(count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_future_can_be_spawned_on_a_multi_thread_runtime() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let task = tokio::spawn(async_records_each_attempt(&CALLS, seen.clone()));
    assert_eq!(task.await.unwrap().unwrap(), 3);
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
}

// Every kind name of the runtime's `ErrorKind` is accepted by `on = [...]`: the macro keeps its
// own list of names, so a kind added to one side only breaks this test.
#[retry(max_attempts = 2, delay = 0, on = [
    McpStore, Service, ServiceNotFound, ServiceStart, ServiceStop, ServiceTimeout,
    Tool, ToolNotFound, ToolExecution, Configuration, Connection, CircuitOpen,
])]
fn any_kind(calls: &AtomicU32, error: &McpStoreError) -> Result<(), McpStoreError> {
    next_call(calls);
    Err(error.clone())
}

#[test]
fn on_accepts_every_error_kind_by_name() {
    assert_eq!(
        ErrorKind::ALL.len(),
        12,
        "a new kind needs adding to `on` above"
    );
    for kind in ErrorKind::ALL {
        let calls = AtomicU32::new(0);
        let _ = any_kind(&calls, &McpStoreError::new(kind, "boom"));
        // An open circuit is never retried, whatever the filter: retrying would spin on it.
        let expected = if kind == ErrorKind::CircuitOpen { 1 } else { 2 };
        assert_eq!(calls.load(Ordering::SeqCst), expected, "{kind:?}");
    }
}

// Without `on` or `when = retryable`, every error is retried, and one that implements
// `Classify` still has its server-suggested delay honoured (up to `max_delay`).
static SUGGESTED_DELAY_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));

#[retry(config = virtual_policy(&SUGGESTED_DELAY_SLEEPER).max_delay(Duration::from_secs(3)))]
fn asks_to_slow_down(calls: &AtomicU32, asks_for: Duration) -> Result<u32, McpStoreError> {
    match next_call(calls) {
        1 => Err(McpStoreError::connection("slow down").with_retry_after(asks_for)),
        2 => Err(McpStoreError::connection("slow down").with_retry_after(asks_for * 10)),
        call => Ok(call),
    }
}

#[test]
fn every_error_retried_still_honours_a_suggested_delay() {
    let calls = AtomicU32::new(0);
    assert_eq!(asks_to_slow_down(&calls, ms(500)).unwrap(), 3);
    // 500 ms instead of the 100 ms base; then 5 s, capped at the 3 s `max_delay`.
    assert_eq!(
        SUGGESTED_DELAY_SLEEPER.delays(),
        [ms(500), Duration::from_secs(3)]
    );
}

// ---- `when` and `on_retry` read an argument the body moves ----

static MOVED_HOOK_NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn consume(name: String) -> McpStoreError {
    McpStoreError::connection(format!("{name} is down"))
}

// In an async fn, the hooks read the loop's per-attempt copy, which the body had moved: this
// failed to compile, while the same sync fn did.
#[retry(
    max_attempts = 3,
    delay = 0,
    when = |_: &McpStoreError| name.len() < 10,
    on_retry = |_, _: &McpStoreError, _| MOVED_HOOK_NAMES.lock().unwrap().push(name.clone())
)]
async fn hooks_read_a_moved_argument(name: String) -> Result<(), McpStoreError> {
    Err(consume(name))
}

#[retry(
    max_attempts = 3,
    delay = 0,
    when = |_: &McpStoreError| name.len() < 10,
    on_retry = |_, _: &McpStoreError, _| MOVED_HOOK_NAMES.lock().unwrap().push(name.clone())
)]
fn hooks_read_a_moved_argument_sync(name: String) -> Result<(), McpStoreError> {
    Err(consume(name))
}

#[tokio::test]
async fn when_and_on_retry_read_the_argument_the_body_moved() {
    let error = hooks_read_a_moved_argument("fs".to_owned())
        .await
        .unwrap_err();
    assert_eq!(error.message(), "fs is down");
    assert_eq!(*MOVED_HOOK_NAMES.lock().unwrap(), ["fs", "fs"]);
    MOVED_HOOK_NAMES.lock().unwrap().clear();
    // The sync twin behaves the same.
    let error = hooks_read_a_moved_argument_sync("git".to_owned()).unwrap_err();
    assert_eq!(error.message(), "git is down");
    assert_eq!(*MOVED_HOOK_NAMES.lock().unwrap(), ["git", "git"]);
}

//! The attributes and the plain API are two front-ends of one engine per layer: the same outcome
//! script under the same policy gives, through `#[retry]` and through `RetryManager`, through
//! `#[fallback]` and through `FallbackChain`, through `#[collect_errors]` and through
//! `ErrorCollector::collect`, the same result, the same calls, the same delays, the same random
//! draws, the same hook calls and the same `tracing` events.
//!
//! Where the front-ends legitimately differ (a fallback step's name in events, the `function`
//! key `#[collect_errors]` adds to the context), the test shows the difference before setting
//! it aside, so that a change on either side fails here.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mcpstore_errors::{
    Clock, ErrorCollector, ErrorKind, FallbackChain, Jitter, ManualClock, McpStoreError,
    RandomSource, ResponseCache, RetryConfig, RetryManager, RetryStrategy, SeededRandom,
    SleepFuture, Sleeper, VirtualSleeper, collect_errors, fallback, retry,
};
use mcpstore_errors_tests::capture_events;
use serde_json::{Value, json};

type Outcome = Result<u32, McpStoreError>;

/// The seed of both sides' random source.
const SEED: u64 = 0x5eed;

// ---------------------------------------------------------------------------------------------
// The rig: what one side of a case runs against, fresh for each side

/// One side's sleeper, random source, script, hook calls and collector. Thread-local because
/// an attribute's policy is built once per function: its sleeper and random source forward
/// here, so each side of a case (and each test thread) gets its own.
struct Rig {
    sleeper: Arc<VirtualSleeper>,
    /// The policy's clock; a sleep advances it.
    clock: Arc<ManualClock>,
    random: Arc<SeededRandom>,
    script: Vec<Outcome>,
    calls: usize,
    hooks: Vec<(u32, String, Duration)>,
    asked: usize,
    collector: ErrorCollector,
}

thread_local! {
    static RIG: RefCell<Option<Rig>> = const { RefCell::new(None) };
}

fn with_rig<R>(f: impl FnOnce(&mut Rig) -> R) -> R {
    RIG.with(|rig| f(rig.borrow_mut().as_mut().expect("a case installs its rig")))
}

/// Sleeps on the current rig's virtual sleeper, moving its clock on by the delay.
#[derive(Debug)]
struct RigSleeper;

impl RigSleeper {
    fn sleeper(delay: Duration) -> Arc<VirtualSleeper> {
        with_rig(|rig| {
            rig.clock.advance(delay);
            rig.sleeper.clone()
        })
    }
}

impl Sleeper for RigSleeper {
    fn sleep(&self, delay: Duration) {
        RigSleeper::sleeper(delay).sleep(delay);
    }

    fn sleep_async(&self, delay: Duration) -> SleepFuture {
        RigSleeper::sleeper(delay).sleep_async(delay)
    }
}

/// Reads the current rig's clock.
#[derive(Debug)]
struct RigClock;

impl Clock for RigClock {
    fn now(&self) -> Instant {
        with_rig(|rig| rig.clock.clone()).now()
    }

    fn system_time(&self) -> SystemTime {
        with_rig(|rig| rig.clock.clone()).system_time()
    }
}

/// Draws from the current rig's seeded source.
#[derive(Debug)]
struct RigRandom;

impl RandomSource for RigRandom {
    fn next_f64(&self) -> f64 {
        let random = with_rig(|rig| rig.random.clone());
        random.next_f64()
    }
}

/// `RetryConfig::new()` sleeping, drawing and reading the time through the rig: the base of
/// both sides' policy.
fn rig() -> RetryConfig {
    RetryConfig::new()
        .sleeper(Arc::new(RigSleeper))
        .random(Arc::new(RigRandom))
        .clock(Arc::new(RigClock))
}

/// The next outcome of the script; the last one repeats.
fn play() -> Outcome {
    with_rig(|rig| {
        let outcome = rig.script[rig.calls.min(rig.script.len() - 1)].clone();
        rig.calls += 1;
        outcome
    })
}

/// The rig's collector (a handle on the same records).
fn collector() -> ErrorCollector {
    with_rig(|rig| rig.collector.clone())
}

/// Counts a call of a filter or a predicate: each side must ask as often as the other.
fn asked() {
    with_rig(|rig| rig.asked += 1);
}

/// An error filter: every error but the one whose server is busy.
fn not_busy(error: &McpStoreError) -> bool {
    asked();
    error.message() != "busy"
}

/// An error filter that accepts every error, but is asked.
fn any(_error: &McpStoreError) -> bool {
    asked();
    true
}

/// A result predicate: rejects values below 3.
fn below_three(value: &u32) -> bool {
    asked();
    *value < 3
}

/// A result predicate: rejects 0.
fn is_zero(value: &u32) -> bool {
    asked();
    *value == 0
}

/// The `on_retry` hook of both sides: records its arguments.
fn record_hook(attempt: u32, error: &McpStoreError, delay: Duration) {
    with_rig(|rig| rig.hooks.push((attempt, error.to_string(), delay)));
}

// ---------------------------------------------------------------------------------------------
// Observing one side

/// A result as compared: the value, or the error's code, message and suggested delay.
type Shown = Result<u32, (&'static str, String, Option<Duration>)>;

fn shown(outcome: &Outcome) -> Shown {
    outcome
        .as_ref()
        .map(|value| *value)
        .map_err(|error| (error.code(), error.to_string(), error.retry_after()))
}

/// One captured event: level, target, and every field (the message included).
#[derive(Debug, Clone, PartialEq)]
struct Event {
    level: String,
    target: String,
    fields: BTreeMap<String, String>,
}

/// Everything one side did.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    results: Vec<Shown>,
    calls: usize,
    delays: Vec<Duration>,
    draws: u64,
    hooks: Vec<(u32, String, Duration)>,
    /// Calls of the filters and predicates.
    asked: usize,
    events: Vec<Event>,
    records: Vec<Value>,
}

/// Runs `body` against a fresh rig playing `script` and records what it did.
fn observe(script: &[Outcome], body: impl FnOnce() -> Vec<Outcome>) -> Observed {
    RIG.with(|rig| {
        *rig.borrow_mut() = Some(Rig {
            sleeper: Arc::new(VirtualSleeper::new()),
            clock: Arc::new(ManualClock::new()),
            random: Arc::new(SeededRandom::new(SEED)),
            script: script.to_vec(),
            calls: 0,
            hooks: Vec::new(),
            asked: 0,
            // A manual clock: both sides' records carry the same time.
            collector: ErrorCollector::builder().clock(ManualClock::new()).build(),
        })
    });
    let mut results = Vec::new();
    let events = capture_events("mcpstore_errors", || {
        results = body().iter().map(shown).collect();
    });
    let rig = RIG.with(|rig| rig.borrow_mut().take().expect("installed above"));
    Observed {
        results,
        calls: rig.calls,
        delays: rig.sleeper.delays(),
        draws: rig.random.draws(),
        hooks: rig.hooks,
        asked: rig.asked,
        events: events
            .into_iter()
            .map(|event| Event {
                level: event.level.to_string(),
                target: event.target,
                fields: event.fields,
            })
            .collect(),
        records: mcpstore_errors_tests::history(&rig.collector),
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    // A current-thread runtime polls on this thread, where the rig and the capture live.
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

/// `observed` with every occurrence of `from` in event fields replaced by `to`.
fn renamed(mut observed: Observed, from: &str, to: &str) -> Observed {
    for event in &mut observed.events {
        for value in event.fields.values_mut() {
            *value = value.replace(from, to);
        }
    }
    observed
}

// ---------------------------------------------------------------------------------------------
// Errors of the scripts

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn connection() -> McpStoreError {
    McpStoreError::connection("refused")
}

/// A connection error whose server asks for `millis` before the next attempt.
fn busy(millis: u64) -> McpStoreError {
    McpStoreError::connection("busy").with_retry_after(ms(millis))
}

fn timeout() -> McpStoreError {
    McpStoreError::service_timeout("fs", Duration::from_secs(5))
}

fn start_failed() -> McpStoreError {
    McpStoreError::service_start_failed("fs", "port busy")
}

fn not_found() -> McpStoreError {
    McpStoreError::tool_not_found("read", Some("fs"))
}

// ---------------------------------------------------------------------------------------------
// Retry: the table

/// What a case must give on both sides: the result (a value or an error code), the number of
/// calls and, for cases without jitter, the delays in milliseconds.
type Expect = (Result<u32, &'static str>, usize, Option<&'static [u64]>);

/// Checks one retry case: the attribute (sync and async) against the manager (sync and async),
/// and all four against the expectation.
fn check_retry(
    script: &[Outcome],
    expect: Expect,
    sync: [&dyn Fn() -> Outcome; 2],
    asynchronous: [&dyn Fn() -> Outcome; 2],
    (sync_name, async_name): (&str, &str),
) {
    let [attribute, manager] = sync.map(|side| observe(script, || vec![side()]));
    assert_eq!(attribute, manager, "sync: #[retry] and RetryManager differ");
    let [attribute_async, manager_async] =
        asynchronous.map(|side| observe(script, || vec![side()]));
    assert_eq!(
        attribute_async, manager_async,
        "async: #[retry] and RetryManager::execute_async differ"
    );
    // The async function has its own name; otherwise it does what the sync one does.
    assert_eq!(
        renamed(attribute_async, async_name, sync_name),
        attribute,
        "async and sync differ"
    );

    let (result, calls, delays) = expect;
    let code = attribute.results[0]
        .as_ref()
        .map(|value| *value)
        .map_err(|error| error.0);
    assert_eq!(code, result, "result");
    assert_eq!(attribute.calls, calls, "calls");
    match delays {
        Some(delays) => {
            let delays: Vec<Duration> = delays.iter().copied().map(ms).collect();
            assert_eq!(attribute.delays, delays, "delays");
        }
        // Jitter: the draws happened, on both sides alike (compared above).
        None => assert!(attribute.draws > 0, "a jittered case draws"),
    }
    // One retry event per delay, all naming the sync function.
    let retry_events = attribute
        .events
        .iter()
        .filter(|event| event.fields.contains_key("delay_ms"))
        .count();
    assert_eq!(retry_events, attribute.delays.len(), "one event per retry");
    assert!(
        attribute
            .events
            .iter()
            .all(|event| event.fields.get("operation").map(String::as_str) == Some(sync_name)),
        "every event names the operation"
    );
}

/// Stamps out one case: the annotated sync and async functions (in a module named after the
/// case, unless `written_out` says they are written by hand in it), and the test that runs the
/// case's script through them and through the manager `manager` builds from `rig()`.
///
/// A case whose attribute has a `when` closure or an `on_retry` hook is written out: passed
/// through `macro_rules!` as token trees, those tokens do not see the bindings the attribute
/// generates around them (`__mcpstore_error`: error E0425), a hygiene gap of `#[retry]`.
macro_rules! retry_cases {
    ($(
        $(#[$doc:meta])*
        $name:ident {
            $(attribute: #[$($attr:tt)*],)?
            $(written_out: $written:ident,)?
            manager: $api:expr,
            script: [$($step:expr),* $(,)?],
            expect: $expect:expr $(,)?
        }
    )*) => {$(
        $(
            mod $name {
                use super::*;

                #[$($attr)*]
                pub fn sync_fn() -> Result<u32, McpStoreError> {
                    play()
                }

                #[$($attr)*]
                pub async fn async_fn() -> Result<u32, McpStoreError> {
                    play()
                }
            }
        )?

        $(#[$doc])*
        $(#[doc = concat!("The functions are written out in `", stringify!($written), "`.")])?
        #[test]
        fn $name() {
            const SYNC: &str = concat!(module_path!(), "::", stringify!($name), "::sync_fn");
            const ASYNC: &str = concat!(module_path!(), "::", stringify!($name), "::async_fn");
            let script: Vec<Outcome> = vec![$($step),*];
            let manager = || ($api)(rig());
            check_retry(
                &script,
                $expect,
                [&$name::sync_fn, &|| manager().operation(SYNC).execute(play)],
                [
                    &|| block_on($name::async_fn()),
                    &|| block_on(manager().operation(ASYNC).execute_async(|| async { play() })),
                ],
                (SYNC, ASYNC),
            );
        }
    )*};
}

retry_cases! {
    // ---- each strategy, without and with jitter
    fixed {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = fixed, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, Some(&[100, 100, 100])),
    }
    fixed_jitter {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = fixed, delay = "100ms", jitter = 0.25)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::Proportional(0.25))),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, None),
    }
    // A whole-number fraction: `jitter = 1` is ±100 %.
    fixed_whole_jitter {
        attribute: #[retry(config = rig(), max_attempts = 3, strategy = fixed, delay = "100ms", jitter = 1)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(3).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::Proportional(1.0))),
        script: [Err(connection()), Err(timeout()), Ok(7)],
        expect: (Ok(7), 3, None),
    }
    linear {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = linear, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Linear).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, Some(&[100, 200, 300])),
    }
    linear_full_jitter {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = linear, delay = "100ms", jitter = full)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Linear).base_delay(ms(100)).jitter(Jitter::Full)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, None),
    }
    exponential {
        attribute: #[retry(config = rig(), max_attempts = 5, strategy = exponential, delay = "100ms", backoff = 3, max_delay = "1s", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(5).strategy(RetryStrategy::Exponential).base_delay(ms(100))
                .multiplier(3.0).max_delay(ms(1000)).jitter(Jitter::None)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Err(timeout()), Ok(7)],
        expect: (Ok(7), 5, Some(&[100, 300, 900, 1000])),
    }
    exponential_equal_jitter {
        attribute: #[retry(config = rig(), max_attempts = 5, strategy = exponential, delay = "100ms", max_delay = "1s", jitter = equal)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(5).strategy(RetryStrategy::Exponential).base_delay(ms(100))
                .max_delay(ms(1000)).jitter(Jitter::Equal)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Err(timeout()), Ok(7)],
        expect: (Ok(7), 5, None),
    }
    fibonacci {
        attribute: #[retry(config = rig(), max_attempts = 6, strategy = fibonacci, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(6).strategy(RetryStrategy::Fibonacci).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection())],
        expect: (Err("CONNECTION_ERROR"), 6, Some(&[100, 100, 200, 300, 500])),
    }
    fibonacci_decorrelated_jitter {
        attribute: #[retry(config = rig(), max_attempts = 6, strategy = fibonacci, delay = "100ms", max_delay = "2s", jitter = decorrelated)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(6).strategy(RetryStrategy::Fibonacci).base_delay(ms(100))
                .max_delay(ms(2000)).jitter(Jitter::Decorrelated)),
        script: [Err(connection())],
        expect: (Err("CONNECTION_ERROR"), 6, None),
    }
    /// The whole policy from `config = ..`, no key on top.
    config_alone {
        attribute: #[retry(config = rig())],
        manager: RetryManager::new,
        script: [Err(connection()), Ok(7)],
        expect: (Ok(7), 2, None),
    }

    // ---- filters
    on_kinds_retries_a_listed_kind_and_a_sub_kind {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, on = [Service, Connection])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::Service, ErrorKind::Connection]),
        script: [Err(start_failed()), Err(connection()), Ok(7)],
        expect: (Ok(7), 3, Some(&[100, 200])),
    }
    on_kinds_stops_at_another_kind {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, on = [ServiceStart])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::ServiceStart]),
        script: [Err(start_failed()), Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Some(&[100])),
    }
    when_retryable {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, when = retryable)],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_retryable(),
        script: [Err(timeout()), Err(not_found()), Ok(7)],
        expect: (Err("TOOL_NOT_FOUND"), 2, Some(&[100])),
    }
    when_closure {
        written_out: when_closure,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if(|error: &McpStoreError| not_busy(error)),
        script: [Err(not_found()), Err(busy(0)), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Some(&[100])),
    }
    on_and_when_both_must_accept {
        written_out: on_and_when_both_must_accept,
        manager: |c: RetryConfig| {
            // `retry_on` and `retry_if` each replace the filter: the pair is built by hand.
            let kinds: mcpstore_errors::KindSet =
                [ErrorKind::Service, ErrorKind::Connection].into_iter().collect();
            RetryManager::new(c.max_attempts(5).base_delay(ms(100)).jitter(Jitter::None))
                .retry_if((kinds, |error: &McpStoreError| not_busy(error)))
        },
        script: [Err(timeout()), Err(connection()), Err(busy(0)), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 3, Some(&[100, 200])),
    }
    on_and_when_kind_refused {
        written_out: on_and_when_kind_refused,
        manager: |c: RetryConfig| {
            let kinds: mcpstore_errors::KindSet = [ErrorKind::Service].into_iter().collect();
            RetryManager::new(c.max_attempts(5).base_delay(ms(100)).jitter(Jitter::None))
                .retry_if((kinds, |error: &McpStoreError| not_busy(error)))
        },
        script: [Err(timeout()), Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Some(&[100])),
    }

    // ---- a server-suggested delay, under every filter, and capped by max_delay
    retry_after_without_filter {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Some(&[2000, 200])),
    }
    retry_after_under_on {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [Connection])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::Connection]),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Some(&[2000, 200])),
    }
    retry_after_under_retryable {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, when = retryable)],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_retryable(),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Some(&[2000, 200])),
    }
    retry_after_under_closure {
        written_out: retry_after_under_closure,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if(|error: &McpStoreError| any(error)),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Some(&[2000, 200])),
    }
    retry_after_under_both_filters {
        written_out: retry_after_under_both_filters,
        manager: |c: RetryConfig| {
            let kinds: mcpstore_errors::KindSet = [ErrorKind::Connection].into_iter().collect();
            RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
                .retry_if((kinds, |error: &McpStoreError| any(error)))
        },
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Some(&[2000, 200])),
    }
    retry_after_capped_by_max_delay {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", max_delay = "1s", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(3).base_delay(ms(100)).max_delay(ms(1000)).jitter(Jitter::None)),
        script: [Err(busy(60_000)), Err(busy(60_000)), Ok(7)],
        expect: (Ok(7), 3, Some(&[1000, 1000])),
    }
    retry_after_with_jitter {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", max_delay = "5s", jitter = 0.5)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(3).base_delay(ms(100)).max_delay(ms(5000)).jitter(Jitter::Proportional(0.5))),
        script: [Err(busy(2000)), Err(connection()), Ok(7)],
        expect: (Ok(7), 3, None),
    }
    retry_after_on_a_refused_error_is_not_waited {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [ServiceStart])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::ServiceStart]),
        script: [Err(busy(2000)), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 1, Some(&[])),
    }

    // ---- result predicate, hook, a single attempt
    retry_if_result_until_accepted {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, retry_if_result = |value: &u32| below_three(value))],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_result(|value: &u32| below_three(value)),
        script: [Ok(1), Err(connection()), Ok(2), Ok(3)],
        expect: (Ok(3), 4, Some(&[100, 200, 400])),
    }
    retry_if_result_last_value_returned {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, retry_if_result = |value: &u32| below_three(value))],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_result(|value: &u32| below_three(value)),
        script: [Ok(1), Ok(2)],
        expect: (Ok(2), 3, Some(&[100, 200])),
    }
    on_retry_hook_arguments {
        written_out: on_retry_hook_arguments,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::Proportional(0.25)))
            .retry_if_result(|value: &u32| is_zero(value))
            .on_retry(record_hook),
        script: [Err(busy(500)), Ok(0), Err(timeout()), Ok(7)],
        expect: (Ok(7), 4, None),
    }
    single_attempt {
        written_out: single_attempt,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(1).base_delay(ms(100))).on_retry(record_hook),
        script: [Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 1, Some(&[])),
    }
    single_attempt_rejected_value_returned {
        attribute: #[retry(config = rig(), max_attempts = 1, retry_if_result = |value: &u32| is_zero(value))],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(1)).retry_if_result(|value: &u32| is_zero(value)),
        script: [Ok(0), Ok(7)],
        expect: (Ok(0), 1, Some(&[])),
    }

    // ---- a deadline, measured on the policy's clock from before the first attempt
    deadline_stops_before_crossing {
        attribute: #[retry(config = rig().deadline(ms(250)), max_attempts = 10, strategy = fixed, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.deadline(ms(250)).max_attempts(10).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection())],
        expect: (Err("CONNECTION_ERROR"), 3, Some(&[100, 100])),
    }
}

// The cases whose attribute holds a closure or a hook, written out.

mod when_closure {
    use super::*;

    #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false,
        when = |error: &McpStoreError| not_busy(error))]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false,
        when = |error: &McpStoreError| not_busy(error))]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

mod on_and_when_both_must_accept {
    use super::*;

    #[retry(config = rig(), max_attempts = 5, delay = "100ms", jitter = false, on = [Service, Connection],
        when = |error: &McpStoreError| not_busy(error))]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 5, delay = "100ms", jitter = false, on = [Service, Connection],
        when = |error: &McpStoreError| not_busy(error))]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

mod on_and_when_kind_refused {
    use super::*;

    #[retry(config = rig(), max_attempts = 5, delay = "100ms", jitter = false, on = [Service],
        when = |error: &McpStoreError| not_busy(error))]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 5, delay = "100ms", jitter = false, on = [Service],
        when = |error: &McpStoreError| not_busy(error))]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

mod retry_after_under_closure {
    use super::*;

    #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, when = |error: &McpStoreError| any(error))]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, when = |error: &McpStoreError| any(error))]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

mod retry_after_under_both_filters {
    use super::*;

    #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [Connection], when = |error: &McpStoreError| any(error))]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [Connection], when = |error: &McpStoreError| any(error))]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

mod on_retry_hook_arguments {
    use super::*;

    #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = 0.25, on_retry = record_hook,
        retry_if_result = |value: &u32| is_zero(value))]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = 0.25, on_retry = record_hook,
        retry_if_result = |value: &u32| is_zero(value))]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

mod single_attempt {
    use super::*;

    #[retry(config = rig(), max_attempts = 1, delay = "100ms", on_retry = record_hook)]
    pub fn sync_fn() -> Result<u32, McpStoreError> {
        play()
    }

    #[retry(config = rig(), max_attempts = 1, delay = "100ms", on_retry = record_hook)]
    pub async fn async_fn() -> Result<u32, McpStoreError> {
        play()
    }
}

/// The hook saw what the events and the sleeper saw: the failed attempt's number, its error and
/// the delay slept, for errors only (a rejected value calls no hook).
#[test]
fn the_hook_sees_each_failed_attempt_and_its_delay() {
    let script = [Err(busy(500)), Ok(0), Err(timeout()), Ok(7)];
    let observed = observe(&script, || vec![on_retry_hook_arguments::sync_fn()]);
    let delays = &observed.delays;
    assert_eq!(
        observed.hooks,
        [
            (1, busy(500).to_string(), delays[0]),
            (3, timeout().to_string(), delays[2]),
        ]
    );
    assert!(
        delays[0] >= ms(500),
        "the suggested delay is waited at least"
    );
}

// ---------------------------------------------------------------------------------------------
// Fallback: each step

/// The TTL of both sides' caches.
const TTL: Duration = Duration::from_secs(10);

/// An alternative service that answers.
fn backup_up(_service: &str) -> Outcome {
    Ok(70)
}

/// An alternative service that is down too.
fn backup_down(_service: &str) -> Outcome {
    Err(McpStoreError::connection("backup down"))
}

/// A recovery that serves an empty answer for a connection error only.
fn rescue(_service: &str, error: &McpStoreError) -> Outcome {
    match error.kind() {
        ErrorKind::Connection => Ok(0),
        _ => Err(McpStoreError::configuration(format!(
            "cannot recover from {error}"
        ))),
    }
}

/// A chain's name for a step added as a function: its path (`type_name` of the fn item).
fn step_name<F>(_step: &F) -> &'static str {
    std::any::type_name::<F>()
}

/// Runs the calls through the attribute and through the chain; asserts they agree, except for
/// the names of `with` and `recover` steps (`renames`: the chain's name, the attribute's), which
/// this also asserts appear on each side as stated.
fn check_fallback(
    script: &[Outcome],
    calls: &[&str],
    attribute: &dyn Fn(&str) -> Outcome,
    chain: &dyn Fn(&str) -> Outcome,
    renames: &[(&str, &str)],
) -> Observed {
    let through_attribute = observe(script, || {
        calls.iter().map(|call| attribute(call)).collect()
    });
    let mut through_chain = observe(script, || calls.iter().map(|call| chain(call)).collect());
    for (chain_name, attribute_name) in renames {
        let named = |observed: &Observed, name: &str| {
            observed
                .events
                .iter()
                .any(|event| event.fields.get("strategy").map(String::as_str) == Some(name))
        };
        // The difference, shown: the chain names the step by its function's path, the attribute
        // by the key it was written with.
        assert!(
            named(&through_chain, chain_name),
            "the chain names the step {chain_name}"
        );
        assert!(!named(&through_chain, attribute_name));
        assert!(
            named(&through_attribute, attribute_name),
            "the attribute names it {attribute_name}"
        );
        assert!(!named(&through_attribute, chain_name));
        through_chain = renamed(through_chain, chain_name, attribute_name);
    }
    assert_eq!(
        through_attribute, through_chain,
        "#[fallback] and FallbackChain differ"
    );
    through_attribute
}

/// Whether some event has these `strategy` and `message` fields and this level.
fn has_event(observed: &Observed, level: &str, strategy: Option<&str>, message: &str) -> bool {
    observed.events.iter().any(|event| {
        event.level == level
            && event.target == "mcpstore_errors::fallback"
            && event.fields.get("strategy").map(String::as_str) == strategy
            && event
                .fields
                .get("message")
                .is_some_and(|m| m.contains(message))
    })
}

mod cache_then_default {
    use super::*;

    #[fallback(cache(ttl = TTL), default = 0)]
    pub fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

/// The clock of every `#[fallback(cache)]` cache in this binary. Only the test below stores
/// entries in one (`all_failing` never succeeds), so only it advances the clock.
static FN_CACHE_CLOCK: ManualClock = ManualClock::new();

/// The cache steps, in one test because the attribute's cache is one static: a hit, a miss then
/// the default, and an entry that reached its TTL.
#[test]
fn fallback_cache_steps() {
    assert!(
        mcpstore_errors::set_fn_cache_clock(&FN_CACHE_CLOCK),
        "this binary sets the cache clock once"
    );
    let chain_clock = Arc::new(ManualClock::new());
    let chain = FallbackChain::new()
        .operation(cache_then_default::NAME)
        .cache(ResponseCache::with_clock(TTL, 1024, chain_clock.clone()))
        .default_value(0);
    let through_chain = |service: &str| chain.execute(service, |_| play());

    // A success is stored; the next failure for the same arguments is served from the cache.
    let hit = check_fallback(
        &[Ok(5), Err(connection())],
        &["fs", "fs"],
        &cache_then_default::tools,
        &through_chain,
        &[],
    );
    assert_eq!(hit.results, [Ok(5), Ok(5)]);
    assert!(has_event(
        &hit,
        "WARN",
        Some("cache"),
        "served by fallback strategy cache"
    ));
    assert_eq!(hit.events.len(), 1, "{:?}", hit.events);

    // Nothing stored for "web": the cache misses and the default serves.
    let miss = check_fallback(
        &[Err(connection())],
        &["web"],
        &cache_then_default::tools,
        &through_chain,
        &[],
    );
    assert_eq!(miss.results, [Ok(0)]);
    assert!(has_event(
        &miss,
        "INFO",
        Some("cache"),
        "fallback strategy cache failed"
    ));
    assert!(has_event(
        &miss,
        "WARN",
        Some("default"),
        "served by fallback strategy default"
    ));
    assert_eq!(miss.events.len(), 2, "{:?}", miss.events);

    // A fresh success for "db", then a failure once it is exactly TTL old: expired on both.
    let script = [Ok(9), Err(connection())];
    let attribute = observe(&script, || {
        let first = cache_then_default::tools("db");
        FN_CACHE_CLOCK.advance(TTL);
        vec![first, cache_then_default::tools("db")]
    });
    let api = observe(&script, || {
        let first = through_chain("db");
        chain_clock.advance(TTL);
        vec![first, through_chain("db")]
    });
    assert_eq!(
        attribute, api,
        "#[fallback(cache)] and ResponseCache age alike"
    );
    assert_eq!(attribute.results, [Ok(9), Ok(0)]);
    assert!(has_event(
        &attribute,
        "INFO",
        Some("cache"),
        "fallback strategy cache failed"
    ));
}

mod with_alternative {
    use super::*;

    #[fallback(with = backup_up)]
    pub fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

#[test]
fn fallback_with_alternative() {
    let chain = FallbackChain::new()
        .operation(with_alternative::NAME)
        .alternative(backup_up);
    let observed = check_fallback(
        &[Err(connection())],
        &["fs"],
        &with_alternative::tools,
        &|service| chain.execute(service, |_| play()),
        &[(step_name(&backup_up), "with")],
    );
    assert_eq!(observed.results, [Ok(70)]);
    assert!(has_event(
        &observed,
        "WARN",
        Some("with"),
        "served by fallback strategy with"
    ));
    assert_eq!(observed.events.len(), 1, "{:?}", observed.events);
}

mod recover_step {
    use super::*;

    #[fallback(recover = rescue)]
    pub fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

#[test]
fn fallback_recover_is_given_the_error() {
    let chain = FallbackChain::new()
        .operation(recover_step::NAME)
        .recover(rescue);
    let observed = check_fallback(
        &[Err(connection()), Err(timeout())],
        &["fs", "fs"],
        &recover_step::tools,
        &|service| chain.execute(service, |_| play()),
        &[(step_name(&rescue), "recover")],
    );
    // A connection error is recovered; a timeout is not, and is returned as it was.
    assert_eq!(
        observed.results,
        [Ok(0), Err(shown(&Err(timeout())).unwrap_err())]
    );
    assert!(has_event(
        &observed,
        "WARN",
        Some("recover"),
        "served by fallback strategy recover"
    ));
    assert!(has_event(
        &observed,
        "INFO",
        Some("recover"),
        "fallback strategy recover failed"
    ));
    assert!(has_event(
        &observed,
        "WARN",
        None,
        "every fallback strategy failed"
    ));
}

mod all_failing {
    use super::*;

    #[fallback(cache(ttl = TTL), with = backup_down, recover = rescue)]
    pub fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

#[test]
fn fallback_all_failing_returns_the_original_error() {
    let chain = FallbackChain::new()
        .operation(all_failing::NAME)
        .cache(ResponseCache::new(TTL, 1024))
        .alternative(backup_down)
        .recover(rescue);
    let observed = check_fallback(
        &[Err(start_failed())],
        &["fs"],
        &all_failing::tools,
        &|service| chain.execute(service, |_| play()),
        &[
            (step_name(&backup_down), "with"),
            (step_name(&rescue), "recover"),
        ],
    );
    assert_eq!(
        observed.results,
        [Err(shown(&Err(start_failed())).unwrap_err())]
    );
    let strategies: Vec<Option<&str>> = observed
        .events
        .iter()
        .map(|event| event.fields.get("strategy").map(String::as_str))
        .collect();
    assert_eq!(
        strategies,
        [Some("cache"), Some("with"), Some("recover"), None]
    );
    assert_eq!(
        observed.events[3].fields.get("error").map(String::as_str),
        Some(start_failed().to_string().as_str()),
        "the exhausted event names the original error"
    );
}

mod async_chain {
    use super::*;

    pub async fn backup_down(service: &str) -> Result<u32, McpStoreError> {
        super::backup_down(service)
    }

    pub async fn rescue(service: &str, error: &McpStoreError) -> Result<u32, McpStoreError> {
        super::rescue(service, error)
    }

    #[fallback(cache(ttl = TTL), with = backup_down, recover = rescue)]
    pub async fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

/// The async forms: `#[fallback]` on an `async fn` and `FallbackChain::execute_async` with an
/// async alternative. A success is stored; a failure for other arguments goes through every
/// step; a connection error is recovered, a start failure is returned as it was.
#[test]
fn async_fallback_matches_execute_async() {
    // The chain's async alternative makes a `'static` future: it owns its arguments.
    let backup = |service: &str| {
        let service = service.to_owned();
        async move { async_chain::backup_down(&service).await }
    };
    let backup_name = step_name(&backup);
    let chain = FallbackChain::new()
        .operation(async_chain::NAME)
        .cache(ResponseCache::new(TTL, 1024))
        .alternative_async(backup)
        .recover(rescue);
    let script = [Ok(3), Err(connection()), Err(start_failed())];
    let calls = ["fs", "web", "web"];
    let attribute = observe(&script, || {
        calls
            .iter()
            .map(|call| block_on(async_chain::tools(call)))
            .collect()
    });
    let api = observe(&script, || {
        calls
            .iter()
            .map(|call| block_on(chain.execute_async(call, async { play() })))
            .collect()
    });
    let api = renamed(api, backup_name, "with");
    let api = renamed(api, step_name(&rescue), "recover");
    assert_eq!(
        attribute, api,
        "async #[fallback] and FallbackChain::execute_async differ"
    );
    assert_eq!(
        attribute.results,
        [Ok(3), Ok(0), Err(shown(&Err(start_failed())).unwrap_err())]
    );
    let strategies: Vec<Option<&str>> = attribute
        .events
        .iter()
        .map(|event| event.fields.get("strategy").map(String::as_str))
        .collect();
    assert_eq!(
        strategies,
        [
            Some("cache"),
            Some("with"),
            Some("recover"),
            Some("cache"),
            Some("with"),
            Some("recover"),
            None,
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Collection

mod collected {
    use super::*;

    #[collect_errors(collector = &collector(), context = {"operation": "service_management", "attempt": 1})]
    pub fn store_call() -> Outcome {
        play()
    }

    #[collect_errors(collector = &collector(), context = {"operation": "io"})]
    pub fn io_call() -> Result<u32, std::io::Error> {
        play().map_err(std::io::Error::other)
    }

    #[collect_errors(collector = &collector())]
    pub fn without_context() -> Outcome {
        play()
    }

    pub const STORE: &str = concat!(module_path!(), "::store_call");
    pub const IO: &str = concat!(module_path!(), "::io_call");
    pub const WITHOUT: &str = concat!(module_path!(), "::without_context");
}

/// The attribute's records carry the function under `"function"` in the context; the plain
/// `collect` records the context as given. Asserts the former and removes it.
fn without_function(mut observed: Observed, function: &str) -> Observed {
    for record in &mut observed.records {
        let context = record["context"]
            .as_object_mut()
            .expect("an object context");
        assert_eq!(context.remove("function"), Some(json!(function)));
    }
    observed
}

#[test]
fn collect_errors_records_what_collect_records() {
    let script = [Err(timeout()), Ok(7), Err(connection())];
    let context = json!({"operation": "service_management", "attempt": 1});
    let attribute = observe(&script, || {
        (0..3).map(|_| collected::store_call()).collect()
    });
    let api = observe(&script, || {
        (0..3)
            .map(|_| {
                let outcome = play();
                if let Err(error) = &outcome {
                    collector().collect(error, context.clone());
                }
                outcome
            })
            .collect()
    });
    let attribute = without_function(attribute, collected::STORE);
    assert_eq!(attribute, api);
    let fields: Vec<(&str, &str)> = api
        .records
        .iter()
        .map(|r| {
            (
                r["error_type"].as_str().unwrap(),
                r["error_code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("ServiceTimeoutError", "SERVICE_TIMEOUT"),
            ("ConnectionError", "CONNECTION_ERROR")
        ]
    );
    assert_eq!(api.records[0]["context"], context);
}

#[test]
fn collect_errors_records_a_foreign_error_as_collect_does() {
    let script = [Err(connection())];
    let attribute = observe(&script, || {
        vec![collected::io_call().map_err(|_| connection())]
    });
    let api = observe(&script, || {
        let outcome = play().map_err(std::io::Error::other);
        if let Err(error) = &outcome {
            collector().collect(error, json!({"operation": "io"}));
        }
        vec![outcome.map_err(|_| connection())]
    });
    let attribute = without_function(attribute, collected::IO);
    assert_eq!(attribute, api);
    // Found through the source chain: the wrapped error's code.
    assert_eq!(api.records[0]["error_code"], "CONNECTION_ERROR");
}

#[test]
fn collect_errors_without_context_records_only_the_function() {
    let script = [Err(not_found())];
    let attribute = observe(&script, || vec![collected::without_context()]);
    let api = observe(&script, || {
        let outcome = play();
        if let Err(error) = &outcome {
            collector().collect(error, Value::Null);
        }
        vec![outcome]
    });
    assert_eq!(
        attribute.records[0]["context"],
        json!({"function": collected::WITHOUT})
    );
    // Null is exported as `{}`: with the function removed, the same.
    assert_eq!(without_function(attribute, collected::WITHOUT), api);
}

/// A result predicate is asked once per value on both sides (the sync attribute runs its first
/// attempt inline and hands a rejected value to the retry loop without asking again).
#[test]
fn the_result_predicate_is_asked_once_per_value() {
    let script = [Ok(1), Err(connection()), Ok(2), Ok(3)];
    let attribute = observe(&script, || vec![retry_if_result_until_accepted::sync_fn()]);
    assert_eq!(attribute.asked, 3);
    let attribute = observe(&script, || {
        vec![block_on(retry_if_result_until_accepted::async_fn())]
    });
    assert_eq!(attribute.asked, 3);
}

/// A difference of the plain API, shown: `on = [..], when = ..` retries what both accept, but
/// on a manager `retry_on` and `retry_if` each replace the filter, so chaining them keeps only
/// the last. The same pair is written `.retry_if((kinds, closure))`
/// (`on_and_when_both_must_accept`).
#[test]
fn chained_retry_on_and_retry_if_keep_only_the_last_filter() {
    let script = [Err(not_found()), Ok(7)];
    let attribute = observe(&script, || vec![on_and_when_kind_refused::sync_fn()]);
    let chained = observe(&script, || {
        let manager = RetryManager::new(
            rig()
                .max_attempts(5)
                .base_delay(ms(100))
                .jitter(Jitter::None),
        )
        .retry_on([ErrorKind::Service])
        .retry_if(|error: &McpStoreError| not_busy(error));
        vec![manager.execute(play)]
    });
    // `on = [Service]` refuses a tool error; the chained manager retries it.
    assert_eq!(attribute.calls, 1);
    assert_eq!(
        attribute.results,
        [Err(shown(&Err(not_found())).unwrap_err())]
    );
    assert_eq!(chained.calls, 2);
    assert_eq!(chained.results, [Ok(7)]);
}

// ---------------------------------------------------------------------------------------------
// Stacking: the three layers on one function, and the API composed the same way

mod stacked {
    use super::*;

    #[collect_errors(collector = &collector(), context = {"operation": "stacked"})]
    #[fallback(recover = rescue)]
    #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [Connection])]
    pub fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

#[test]
fn stacked_attributes_do_what_the_composed_api_does() {
    let manager = RetryManager::new(
        rig()
            .max_attempts(3)
            .base_delay(ms(100))
            .jitter(Jitter::None),
    )
    .retry_on([ErrorKind::Connection])
    .operation(stacked::NAME);
    let chain = FallbackChain::new()
        .operation(stacked::NAME)
        .recover(rescue);
    let composed = |service: &str| {
        let outcome = chain.execute(service, |_| manager.execute(play));
        if let Err(error) = &outcome {
            collector().collect(error, json!({"operation": "stacked"}));
        }
        outcome
    };
    // A connection error, retried; a timeout, not retried, not recovered, collected. Then a
    // connection error on every attempt: recovered.
    let script = [Err(connection()), Err(timeout()), Err(connection())];
    let attribute = observe(&script, || vec![stacked::tools("fs"), stacked::tools("fs")]);
    let api = observe(&script, || vec![composed("fs"), composed("fs")]);
    let attribute = without_function(attribute, stacked::NAME);
    assert_eq!(renamed(api, step_name(&rescue), "recover"), attribute);
    assert_eq!(
        attribute.results,
        [Err(shown(&Err(timeout())).unwrap_err()), Ok(0)]
    );
    assert_eq!(attribute.calls, 5);
    assert_eq!(attribute.delays, [ms(100), ms(100), ms(200)]);
    assert_eq!(attribute.records.len(), 1);
    assert_eq!(attribute.records[0]["error_code"], "SERVICE_TIMEOUT");
}

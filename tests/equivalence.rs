//! The attributes and the plain API are two front-ends of one engine per layer: the same outcome
//! script under the same policy gives, through `#[retry]` and through `RetryManager`, through
//! `#[fallback]` and through `FallbackChain`, through `#[collect_errors]` and through
//! `ErrorCollector::collect`, through `#[timeout]` and through `race_timeout`, through
//! `#[circuit_breaker]` and through `CircuitBreaker`, the same result, the same calls, the same
//! delays, the same random draws, the same hook calls and the same `tracing` events.
//!
//! Since both sides emit through the same code, agreeing is not enough: each retry case also
//! states why the call stops, and its give-up event and `RetryStats` are checked against that;
//! a jittered case's delays are recomputed from the `Jitter` formulas with a second generator.
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
    BreakerRegistry, CircuitBreakerConfig, CircuitState, Clock, ErrorCollector, ErrorKind,
    FallbackChain, Jitter, ManualClock, McpStoreError, RandomSource, ResponseCache, RetryBudget,
    RetryBudgetConfig, RetryConfig, RetryManager, RetryStats, RetryStrategy, SeededRandom,
    ServedBy, SleepFuture, Sleeper, SlidingWindow, StopReason, VirtualSleeper, circuit_breaker,
    collect_errors, fallback, race_timeout_with, retry, timeout,
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
    /// The retry budget of a case that draws on one: one retry saved, no floor per second.
    budget: RetryBudget,
    /// The breakers of a case that guards its calls with one, made on first use (leaked: an
    /// attribute's `registry = ..` must outlive the call).
    breakers: Option<&'static BreakerRegistry>,
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

/// The rig's retry budget (a handle on the same budget).
fn budget() -> RetryBudget {
    with_rig(|rig| rig.budget.clone())
}

/// The rig's breaker registry: a breaker per service on the rig's clock and random source,
/// opened by 2 failures in the last 4 calls (4 at least) for 30 s, without jitter.
fn breakers() -> &'static BreakerRegistry {
    if let Some(breakers) = with_rig(|rig| rig.breakers) {
        return breakers;
    }
    let breakers: &'static BreakerRegistry = Box::leak(Box::new(BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(4))
            .minimum_calls(4)
            .failure_rate(0.5)
            .open_duration(Duration::from_secs(30))
            .jitter(0.0)
            .clock(Arc::new(RigClock))
            .random(Arc::new(RigRandom)),
    )));
    with_rig(|rig| rig.breakers = Some(breakers));
    breakers
}

/// Moves the rig's clock on, as time passing between calls.
fn advance(by: Duration) {
    with_rig(|rig| rig.clock.advance(by));
}

/// A script's value that an async attempt never returns: it hangs instead (pending for ever,
/// so only a timer ends it).
const HANGS: u32 = u32::MAX;

/// One async attempt: the script's next outcome, or a hang for [`HANGS`]. Pending on its first
/// poll when it hangs: a virtual timer, ready at once, then always wins the race.
async fn attempt() -> Outcome {
    let outcome = play();
    if outcome.as_ref().ok() == Some(&HANGS) {
        std::future::pending::<()>().await;
    }
    outcome
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
            budget: RetryBudget::new(
                RetryBudgetConfig::new()
                    .initial(1)
                    .min_retries_per_second(0),
            ),
            breakers: None,
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

/// The delays a case must sleep.
#[derive(Debug, Clone, Copy)]
enum Delays {
    /// Without jitter: exactly these, in milliseconds, and no random draw.
    Exact(&'static [u64]),
    /// The strategy's delay `d` of each retry, in milliseconds, jittered as `Jitter` documents
    /// (`d * (1 + f * (2u - 1))`, `d * u`, `d/2 + d/2 * u`) with `u` drawn in turn from a
    /// second `SeededRandom::new(SEED)`; then at least the delay the failed attempt's error
    /// suggests, as the script says. None of these cases reaches its cap.
    Jittered(Jitter, &'static [u64]),
    /// `retries` decorrelated delays: `base + (min(cap, 3 * previous) - base) * u`, `previous`
    /// being `base` at first, then the last jittered delay; in milliseconds.
    Decorrelated { base: u64, cap: u64, retries: usize },
}

/// What a case must give on both sides: the result (a value or an error code), the number of
/// calls, the delays, and why the retries stop (`Succeeded`: an accepted value, for which the
/// engine emits no give-up event).
type Expect = (Result<u32, &'static str>, usize, Delays, StopReason);

/// The delays `expected` describes for a run of `script`, each with the band `Jitter` documents
/// for it (`None` where a suggested delay was waited instead), recomputed without the engine.
#[allow(clippy::type_complexity)]
fn expected_delays(
    expected: Delays,
    script: &[Outcome],
) -> Vec<(Duration, Option<(Duration, Duration)>)> {
    let second = SeededRandom::new(SEED);
    let secs = |millis: u64| ms(millis).as_secs_f64();
    // The error of the attempt before retry `n` may suggest a delay.
    let suggested = |n: usize| {
        script[n.min(script.len() - 1)]
            .as_ref()
            .err()
            .and_then(McpStoreError::retry_after)
    };
    let floored = |n: usize, jittered: f64, band: (f64, f64)| {
        let jittered = Duration::from_secs_f64(jittered);
        let band = (
            Duration::from_secs_f64(band.0),
            Duration::from_secs_f64(band.1),
        );
        match suggested(n) {
            Some(at_least) if at_least > jittered => (at_least, None),
            _ => (jittered, Some(band)),
        }
    };
    match expected {
        Delays::Exact(delays) => delays.iter().map(|&d| (ms(d), None)).collect(),
        Delays::Jittered(jitter, nominal) => nominal
            .iter()
            .enumerate()
            .map(|(n, &d)| {
                let (d, u) = (secs(d), second.next_f64());
                let (jittered, band) = match jitter {
                    Jitter::Proportional(f) => {
                        (d * (1.0 + f * (2.0 * u - 1.0)), (d - f * d, d + f * d))
                    }
                    Jitter::Full => (d * u, (0.0, d)),
                    Jitter::Equal => (d / 2.0 + d / 2.0 * u, (d / 2.0, d)),
                    other => panic!("{other:?} is not a jitter of nominal delays"),
                };
                floored(n, jittered, band)
            })
            .collect(),
        Delays::Decorrelated { base, cap, retries } => {
            let (base, cap) = (secs(base), secs(cap));
            let mut previous = base;
            (0..retries)
                .map(|n| {
                    let high = (3.0 * previous).min(cap);
                    previous = base + (high - base) * second.next_f64();
                    floored(n, previous, (base, high))
                })
                .collect()
        }
    }
}

/// Checks one retry case: the attribute (sync and async) against the manager (sync and async,
/// and `execute_outcome`), and all against the expectation.
fn check_retry(
    script: &[Outcome],
    expect: Expect,
    sync: [&dyn Fn() -> Outcome; 2],
    asynchronous: [&dyn Fn() -> Outcome; 2],
    with_stats: &dyn Fn() -> (Outcome, RetryStats),
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
    let mut stats = None;
    let outcome = observe(script, || {
        let (outcome, figures) = with_stats();
        stats = Some(figures);
        vec![outcome]
    });
    assert_eq!(outcome, manager, "execute_outcome and execute differ");
    let stats = stats.expect("execute_outcome ran");

    let (result, calls, delays, stop) = expect;
    let code = attribute.results[0]
        .as_ref()
        .map(|value| *value)
        .map_err(|error| error.0);
    assert_eq!(code, result, "result");
    assert_eq!(attribute.calls, calls, "calls");

    // Each delay as the table says, or as the jitter formula gives from the same draws.
    let expected = expected_delays(delays, script);
    assert_eq!(
        attribute.delays.len(),
        expected.len(),
        "the number of delays"
    );
    for (n, (&slept, (wanted, band))) in attribute.delays.iter().zip(&expected).enumerate() {
        match delays {
            Delays::Exact(_) => assert_eq!(slept, *wanted, "delay {n}"),
            // The formula in f64 seconds, the engine in `Duration`s: a nanosecond apart at most.
            _ => assert!(
                slept.abs_diff(*wanted) <= Duration::from_nanos(10),
                "delay {n}: slept {slept:?}, the formula gives {wanted:?}"
            ),
        }
        if let Some((low, high)) = band {
            let slack = Duration::from_nanos(10);
            assert!(
                *low <= slept + slack && slept <= *high + slack,
                "delay {n}: {slept:?} outside its jitter band [{low:?}, {high:?}]"
            );
        }
    }
    let draws = match delays {
        Delays::Exact(_) => 0,
        // One draw per retry.
        _ => expected.len() as u64,
    };
    assert_eq!(attribute.draws, draws, "random draws");
    let total_delay: Duration = attribute.delays.iter().sum();

    // One retry event per delay, all naming the sync function.
    let retry_events: Vec<&Event> = attribute
        .events
        .iter()
        .filter(|event| event.target == "mcpstore_errors::retry")
        .collect();
    let scheduled = retry_events
        .iter()
        .filter(|event| event.fields.contains_key("delay_ms"))
        .count();
    assert_eq!(scheduled, attribute.delays.len(), "one event per retry");
    assert!(
        retry_events
            .iter()
            .all(|event| event.fields.get("operation").map(String::as_str) == Some(sync_name)),
        "every retry event names the operation"
    );

    // Why it stopped, as the give-up event says it, against the table.
    let stops: Vec<&&Event> = retry_events
        .iter()
        .filter(|event| event.fields.contains_key("stop_reason"))
        .collect();
    let field = |event: &Event, name: &str| event.fields.get(name).cloned();
    match stop {
        StopReason::Succeeded => assert!(stops.is_empty(), "a success gives nothing up: {stops:?}"),
        _ => {
            assert_eq!(stops.len(), 1, "one give-up event: {stops:?}");
            let last = *stops[0];
            assert!(
                retry_events
                    .last()
                    .is_some_and(|event| std::ptr::eq(*event, last)),
                "the give-up event is the last retry event"
            );
            assert_eq!(
                field(last, "stop_reason").as_deref(),
                Some(stop.as_str()),
                "stop_reason"
            );
            assert_eq!(
                field(last, "attempt"),
                Some(calls.to_string()),
                "the give-up's attempt"
            );
            match stop {
                // A debug event, without the attempt count or the delays.
                StopReason::NotRetryable => {
                    assert_eq!(last.level, "DEBUG");
                    assert_eq!(field(last, "total_delay_ms"), None);
                }
                _ => {
                    assert_eq!(last.level, "WARN");
                    assert_eq!(
                        field(last, "total_delay_ms"),
                        Some(total_delay.as_millis().to_string()),
                        "total_delay_ms"
                    );
                    assert!(field(last, "max_attempts").is_some());
                }
            }
        }
    }
    // And as `RetryStats` says it. Only a sleep moves the rig's clock: the call took its delays.
    assert_eq!(
        stats,
        RetryStats {
            attempts: calls as u32,
            elapsed: total_delay,
            total_delay,
            stop_reason: stop,
        },
        "execute_outcome's figures"
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
                &|| manager().operation(SYNC).execute_outcome(play),
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
        expect: (Ok(7), 4, Delays::Exact(&[100, 100, 100]), StopReason::Succeeded),
    }
    fixed_jitter {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = fixed, delay = "100ms", jitter = 0.25)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::Proportional(0.25))),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, Delays::Jittered(Jitter::Proportional(0.25), &[100, 100, 100]), StopReason::Succeeded),
    }
    // A whole-number fraction: `jitter = 1` is ±100 %.
    fixed_whole_jitter {
        attribute: #[retry(config = rig(), max_attempts = 3, strategy = fixed, delay = "100ms", jitter = 1)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(3).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::Proportional(1.0))),
        script: [Err(connection()), Err(timeout()), Ok(7)],
        expect: (Ok(7), 3, Delays::Jittered(Jitter::Proportional(1.0), &[100, 100]), StopReason::Succeeded),
    }
    linear {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = linear, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Linear).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, Delays::Exact(&[100, 200, 300]), StopReason::Succeeded),
    }
    linear_full_jitter {
        attribute: #[retry(config = rig(), max_attempts = 4, strategy = linear, delay = "100ms", jitter = full)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(4).strategy(RetryStrategy::Linear).base_delay(ms(100)).jitter(Jitter::Full)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Ok(7)],
        expect: (Ok(7), 4, Delays::Jittered(Jitter::Full, &[100, 200, 300]), StopReason::Succeeded),
    }
    exponential {
        attribute: #[retry(config = rig(), max_attempts = 5, strategy = exponential, delay = "100ms", backoff = 3, max_delay = "1s", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(5).strategy(RetryStrategy::Exponential).base_delay(ms(100))
                .multiplier(3.0).max_delay(ms(1000)).jitter(Jitter::None)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Err(timeout()), Ok(7)],
        expect: (Ok(7), 5, Delays::Exact(&[100, 300, 900, 1000]), StopReason::Succeeded),
    }
    exponential_equal_jitter {
        attribute: #[retry(config = rig(), max_attempts = 5, strategy = exponential, delay = "100ms", max_delay = "1s", jitter = equal)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(5).strategy(RetryStrategy::Exponential).base_delay(ms(100))
                .max_delay(ms(1000)).jitter(Jitter::Equal)),
        script: [Err(connection()), Err(timeout()), Err(connection()), Err(timeout()), Ok(7)],
        expect: (Ok(7), 5, Delays::Jittered(Jitter::Equal, &[100, 200, 400, 800]), StopReason::Succeeded),
    }
    fibonacci {
        attribute: #[retry(config = rig(), max_attempts = 6, strategy = fibonacci, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(6).strategy(RetryStrategy::Fibonacci).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection())],
        expect: (Err("CONNECTION_ERROR"), 6, Delays::Exact(&[100, 100, 200, 300, 500]), StopReason::AttemptsExhausted),
    }
    fibonacci_decorrelated_jitter {
        attribute: #[retry(config = rig(), max_attempts = 6, strategy = fibonacci, delay = "100ms", max_delay = "2s", jitter = decorrelated)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(6).strategy(RetryStrategy::Fibonacci).base_delay(ms(100))
                .max_delay(ms(2000)).jitter(Jitter::Decorrelated)),
        script: [Err(connection())],
        expect: (Err("CONNECTION_ERROR"), 6, Delays::Decorrelated { base: 100, cap: 2000, retries: 5 }, StopReason::AttemptsExhausted),
    }
    /// The whole policy from `config = ..`, no key on top.
    config_alone {
        attribute: #[retry(config = rig())],
        manager: RetryManager::new,
        script: [Err(connection()), Ok(7)],
        expect: (Ok(7), 2, Delays::Jittered(Jitter::Proportional(0.1), &[1000]), StopReason::Succeeded),
    }

    // ---- filters
    on_kinds_retries_a_listed_kind_and_a_sub_kind {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, on = [Service, Connection])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::Service, ErrorKind::Connection]),
        script: [Err(start_failed()), Err(connection()), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[100, 200]), StopReason::Succeeded),
    }
    on_kinds_stops_at_another_kind {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, on = [ServiceStart])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::ServiceStart]),
        script: [Err(start_failed()), Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Delays::Exact(&[100]), StopReason::NotRetryable),
    }
    when_retryable {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, when = retryable)],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_retryable(),
        script: [Err(timeout()), Err(not_found()), Ok(7)],
        expect: (Err("TOOL_NOT_FOUND"), 2, Delays::Exact(&[100]), StopReason::NotRetryable),
    }
    when_closure {
        written_out: when_closure,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if(|error: &McpStoreError| not_busy(error)),
        script: [Err(not_found()), Err(busy(0)), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Delays::Exact(&[100]), StopReason::NotRetryable),
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
        expect: (Err("CONNECTION_ERROR"), 3, Delays::Exact(&[100, 200]), StopReason::NotRetryable),
    }
    on_and_when_kind_refused {
        written_out: on_and_when_kind_refused,
        manager: |c: RetryConfig| {
            let kinds: mcpstore_errors::KindSet = [ErrorKind::Service].into_iter().collect();
            RetryManager::new(c.max_attempts(5).base_delay(ms(100)).jitter(Jitter::None))
                .retry_if((kinds, |error: &McpStoreError| not_busy(error)))
        },
        script: [Err(timeout()), Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Delays::Exact(&[100]), StopReason::NotRetryable),
    }

    // ---- a server-suggested delay, under every filter, and capped by max_delay
    retry_after_without_filter {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[2000, 200]), StopReason::Succeeded),
    }
    retry_after_under_on {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [Connection])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::Connection]),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[2000, 200]), StopReason::Succeeded),
    }
    retry_after_under_retryable {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, when = retryable)],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_retryable(),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[2000, 200]), StopReason::Succeeded),
    }
    retry_after_under_closure {
        written_out: retry_after_under_closure,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if(|error: &McpStoreError| any(error)),
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[2000, 200]), StopReason::Succeeded),
    }
    retry_after_under_both_filters {
        written_out: retry_after_under_both_filters,
        manager: |c: RetryConfig| {
            let kinds: mcpstore_errors::KindSet = [ErrorKind::Connection].into_iter().collect();
            RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
                .retry_if((kinds, |error: &McpStoreError| any(error)))
        },
        script: [Err(busy(2000)), Err(busy(50)), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[2000, 200]), StopReason::Succeeded),
    }
    retry_after_capped_by_max_delay {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", max_delay = "1s", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(3).base_delay(ms(100)).max_delay(ms(1000)).jitter(Jitter::None)),
        script: [Err(busy(60_000)), Err(busy(60_000)), Ok(7)],
        expect: (Ok(7), 3, Delays::Exact(&[1000, 1000]), StopReason::Succeeded),
    }
    retry_after_with_jitter {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", max_delay = "5s", jitter = 0.5)],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(3).base_delay(ms(100)).max_delay(ms(5000)).jitter(Jitter::Proportional(0.5))),
        script: [Err(busy(2000)), Err(connection()), Ok(7)],
        expect: (Ok(7), 3, Delays::Jittered(Jitter::Proportional(0.5), &[100, 200]), StopReason::Succeeded),
    }
    retry_after_on_a_refused_error_is_not_waited {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, on = [ServiceStart])],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_on([ErrorKind::ServiceStart]),
        script: [Err(busy(2000)), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 1, Delays::Exact(&[]), StopReason::NotRetryable),
    }

    // ---- result predicate, hook, a single attempt
    retry_if_result_until_accepted {
        attribute: #[retry(config = rig(), max_attempts = 4, delay = "100ms", jitter = false, retry_if_result = |value: &u32| below_three(value))],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_result(|value: &u32| below_three(value)),
        script: [Ok(1), Err(connection()), Ok(2), Ok(3)],
        expect: (Ok(3), 4, Delays::Exact(&[100, 200, 400]), StopReason::Succeeded),
    }
    retry_if_result_last_value_returned {
        attribute: #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, retry_if_result = |value: &u32| below_three(value))],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(3).base_delay(ms(100)).jitter(Jitter::None))
            .retry_if_result(|value: &u32| below_three(value)),
        script: [Ok(1), Ok(2)],
        expect: (Ok(2), 3, Delays::Exact(&[100, 200]), StopReason::AttemptsExhausted),
    }
    on_retry_hook_arguments {
        written_out: on_retry_hook_arguments,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(4).base_delay(ms(100)).jitter(Jitter::Proportional(0.25)))
            .retry_if_result(|value: &u32| is_zero(value))
            .on_retry(record_hook),
        script: [Err(busy(500)), Ok(0), Err(timeout()), Ok(7)],
        expect: (Ok(7), 4, Delays::Jittered(Jitter::Proportional(0.25), &[100, 200, 400]), StopReason::Succeeded),
    }
    single_attempt {
        written_out: single_attempt,
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(1).base_delay(ms(100))).on_retry(record_hook),
        script: [Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 1, Delays::Exact(&[]), StopReason::AttemptsExhausted),
    }
    single_attempt_rejected_value_returned {
        attribute: #[retry(config = rig(), max_attempts = 1, retry_if_result = |value: &u32| is_zero(value))],
        manager: |c: RetryConfig| RetryManager::new(c.max_attempts(1)).retry_if_result(|value: &u32| is_zero(value)),
        script: [Ok(0), Ok(7)],
        expect: (Ok(0), 1, Delays::Exact(&[]), StopReason::AttemptsExhausted),
    }

    // ---- a deadline, measured on the policy's clock from before the first attempt
    deadline_stops_before_crossing {
        attribute: #[retry(config = rig().deadline(ms(250)), max_attempts = 10, strategy = fixed, delay = "100ms", jitter = false)],
        manager: |c: RetryConfig| RetryManager::new(
            c.deadline(ms(250)).max_attempts(10).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::None)),
        script: [Err(connection())],
        expect: (Err("CONNECTION_ERROR"), 3, Delays::Exact(&[100, 100]), StopReason::Deadline),
    }

    // ---- a retry budget: the one retry it holds is paid for, the next is denied
    budget_allows_one_retry_then_denies {
        attribute: #[retry(config = rig(), max_attempts = 5, strategy = fixed, delay = "100ms", jitter = false, budget = budget())],
        manager: |c: RetryConfig| RetryManager::new(
            c.max_attempts(5).strategy(RetryStrategy::Fixed).base_delay(ms(100)).jitter(Jitter::None))
            .budget(budget()),
        script: [Err(connection()), Err(connection()), Ok(7)],
        expect: (Err("CONNECTION_ERROR"), 2, Delays::Exact(&[100]), StopReason::BudgetExhausted),
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
// Attempt timeouts: the timer sleeps on the policy's sleeper, so it is recorded like a delay

/// The timeout of each attempt, in the timeout cases.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

mod attempt_timeout {
    use super::*;

    #[retry(config = rig(), max_attempts = 3, delay = "100ms", jitter = false, attempt_timeout = "2s")]
    pub async fn call() -> Result<u32, McpStoreError> {
        attempt().await
    }

    pub const NAME: &str = concat!(module_path!(), "::call");
}

/// Runs `script` through `#[retry(attempt_timeout = ..)]` and through
/// `RetryManager::execute_async_outcome` with `RetryConfig::attempt_timeout`; asserts they agree
/// and returns what the attribute did, with the manager's figures.
fn check_attempt_timeout(script: &[Outcome]) -> (Observed, RetryStats) {
    let attribute = observe(script, || vec![block_on(attempt_timeout::call())]);
    let mut stats = None;
    let manager = observe(script, || {
        let manager = RetryManager::new(
            rig()
                .max_attempts(3)
                .base_delay(ms(100))
                .jitter(Jitter::None)
                .attempt_timeout(ATTEMPT_TIMEOUT),
        )
        .operation(attempt_timeout::NAME);
        let (outcome, figures) = block_on(manager.execute_async_outcome(attempt));
        stats = Some(figures);
        vec![outcome]
    });
    assert_eq!(
        attribute, manager,
        "#[retry(attempt_timeout)] and RetryConfig::attempt_timeout differ"
    );
    (attribute, stats.expect("the manager ran"))
}

/// The `(attempt, delay_ms, error)` of each retry event, and the `stop_reason` of the last event.
fn retries_and_stop(observed: &Observed) -> (Vec<[String; 3]>, Option<String>) {
    let field = |event: &Event, name: &str| event.fields.get(name).cloned().unwrap_or_default();
    let retries = observed
        .events
        .iter()
        .filter(|event| event.fields.contains_key("delay_ms"))
        .map(|event| ["attempt", "delay_ms", "error"].map(|name| field(event, name)))
        .collect();
    let stop = observed
        .events
        .last()
        .and_then(|event| event.fields.get("stop_reason").cloned());
    (retries, stop)
}

/// The first attempt hangs: its timer (2 s on the rig's sleeper) wins, it is dropped and fails
/// as a `ServiceTimeout` naming the operation, which is retried after 100 ms; the second
/// attempt answers.
#[test]
fn attempt_timeout_drops_a_hung_attempt_as_the_manager_does() {
    let (observed, stats) = check_attempt_timeout(&[Ok(HANGS), Ok(7)]);
    assert_eq!(observed.results, [Ok(7)]);
    assert_eq!(observed.calls, 2);
    // The first attempt's timer, then the backoff.
    assert_eq!(observed.delays, [ATTEMPT_TIMEOUT, ms(100)]);
    let timed_out = mcpstore_errors::Elapsed {
        timeout: ATTEMPT_TIMEOUT,
    }
    .into_error(attempt_timeout::NAME);
    assert_eq!(
        retries_and_stop(&observed),
        (
            vec![["1".into(), "100".into(), timed_out.to_string()]],
            None
        )
    );
    assert_eq!(
        stats,
        RetryStats {
            attempts: 2,
            elapsed: ATTEMPT_TIMEOUT + ms(100),
            total_delay: ms(100),
            stop_reason: StopReason::Succeeded,
        }
    );
}

/// Every attempt hangs: each is cut off, and the last one's timeout is returned.
#[test]
fn attempt_timeout_on_every_attempt_returns_the_timeout_as_the_manager_does() {
    let (observed, stats) = check_attempt_timeout(&[Ok(HANGS)]);
    let timed_out = mcpstore_errors::Elapsed {
        timeout: ATTEMPT_TIMEOUT,
    }
    .into_error(attempt_timeout::NAME);
    assert_eq!(
        observed.results,
        [Err(shown(&Err(timed_out.clone())).unwrap_err())]
    );
    assert_eq!(observed.calls, 3);
    assert_eq!(
        observed.delays,
        [
            ATTEMPT_TIMEOUT,
            ms(100),
            ATTEMPT_TIMEOUT,
            ms(200),
            ATTEMPT_TIMEOUT
        ]
    );
    let (retries, stop) = retries_and_stop(&observed);
    assert_eq!(retries.len(), 2);
    assert_eq!(stop.as_deref(), Some("attempts_exhausted"));
    assert_eq!(
        (stats.attempts, stats.total_delay, stats.stop_reason),
        (3, ms(300), StopReason::AttemptsExhausted)
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

/// An alternative that answers for "fs" only.
fn backup_for_fs(service: &str) -> Outcome {
    if service == "fs" {
        Ok(70)
    } else {
        Err(McpStoreError::connection(format!("no backup of {service}")))
    }
}

mod sync_steps_async_fn {
    use super::*;

    // A sync alternative and recovery on an async fn: nothing to await in them.
    #[fallback(with = backup_for_fs, recover = rescue)]
    pub async fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

mod async_steps_async_fn {
    use super::*;

    pub async fn backup_for_fs(service: &str) -> Outcome {
        super::backup_for_fs(service)
    }

    pub async fn rescue(service: &str, error: &McpStoreError) -> Outcome {
        super::rescue(service, error)
    }

    #[fallback(with = backup_for_fs, recover = rescue)]
    pub async fn tools(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

/// On an async fn, a sync `with` and `recover` behave as async ones do, and as
/// `FallbackChain::execute_async` with a sync `alternative` and with an `alternative_async`:
/// the same values served by the same steps, the same events.
#[test]
fn async_fallback_with_sync_steps_matches_async_steps_and_the_chain() {
    let script = [Err(connection()), Err(connection()), Err(start_failed())];
    let calls = ["fs", "web", "web"];
    let through = |call: &dyn Fn(&str) -> Outcome| {
        observe(&script, || calls.iter().map(|c| call(c)).collect())
    };

    let sync_steps = through(&|service| block_on(sync_steps_async_fn::tools(service)));
    let async_steps = through(&|service| block_on(async_steps_async_fn::tools(service)));
    let async_steps = renamed(
        async_steps,
        async_steps_async_fn::NAME,
        sync_steps_async_fn::NAME,
    );
    assert_eq!(
        sync_steps, async_steps,
        "sync and async steps of #[fallback] differ"
    );

    // The chain, with the same steps given as a sync alternative, then as an async one.
    let sync_chain = FallbackChain::new()
        .operation(sync_steps_async_fn::NAME)
        .alternative(backup_for_fs)
        .recover(rescue);
    let async_backup = |service: &str| {
        let service = service.to_owned();
        async move { async_steps_async_fn::backup_for_fs(&service).await }
    };
    let async_backup_name = step_name(&async_backup);
    let async_chain = FallbackChain::new()
        .operation(sync_steps_async_fn::NAME)
        .alternative_async(async_backup)
        .recover(rescue);
    for (chain, alternative) in [
        (&sync_chain, step_name(&backup_for_fs)),
        (&async_chain, async_backup_name),
    ] {
        let served_by = RefCell::new(Vec::new());
        let observed = through(&|service| {
            let outcome = block_on(chain.execute_async_outcome(service, async { play() }));
            served_by
                .borrow_mut()
                .push(outcome.as_ref().ok().map(|served| served.served_by));
            outcome.map(|served| served.value)
        });
        assert_eq!(
            served_by.into_inner(),
            [
                Some(ServedBy::Alternative(alternative)),
                Some(ServedBy::Custom(step_name(&rescue))),
                None
            ]
        );
        let observed = renamed(observed, alternative, "with");
        let observed = renamed(observed, step_name(&rescue), "recover");
        assert_eq!(
            sync_steps, observed,
            "#[fallback] and FallbackChain::execute_async differ"
        );
    }

    assert_eq!(
        sync_steps.results,
        [Ok(70), Ok(0), Err(shown(&Err(start_failed())).unwrap_err())]
    );
    let strategies: Vec<Option<&str>> = sync_steps
        .events
        .iter()
        .map(|event| event.fields.get("strategy").map(String::as_str))
        .collect();
    assert_eq!(
        strategies,
        [
            Some("with"),
            Some("with"),
            Some("recover"),
            Some("with"),
            Some("recover"),
            None,
        ]
    );
}

/// A TTL no run of this binary reaches: `fallback_cache_steps` moves the clock of every
/// `#[fallback(cache)]` cache on by `TTL` while other tests run.
const LONG_TTL: Duration = Duration::from_secs(3600);

mod per_type {
    use super::*;

    /// Generic in `T` alone: only the instantiation tells `tools::<u8>` and `tools::<u16>` apart.
    #[fallback(cache(ttl = LONG_TTL))]
    #[allow(clippy::extra_unused_type_parameters)] // the point of the test
    pub fn tools<T>(service: &str) -> Result<u32, McpStoreError> {
        let _ = service;
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

mod keyed_by_expression {
    use super::*;

    /// Keyed by the service's name in lower case; `sent` is not keyable, and not in the key.
    #[fallback(cache(ttl = LONG_TTL, key = service.to_ascii_lowercase()))]
    pub fn tools(service: &str, sent: &std::sync::atomic::AtomicU32) -> Result<u32, McpStoreError> {
        sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        play()
    }

    pub const NAME: &str = concat!(module_path!(), "::tools");
}

/// `#[fallback(cache(key = ..))]` keys as a chain executed with that key as its arguments: the
/// same hits, misses, results and events.
#[test]
fn fallback_cache_key_expression_keys_as_a_chain_given_the_same_key() {
    let chain = FallbackChain::new()
        .operation(keyed_by_expression::NAME)
        .cache(ResponseCache::new(LONG_TTL, 1024));
    let sent = std::sync::atomic::AtomicU32::new(0);
    let attribute = |service: &str| keyed_by_expression::tools(service, &sent);
    let through_chain = |service: &str| chain.execute(&service.to_ascii_lowercase(), |_| play());
    // A success for "FS"; "fs" is the same key, served; "web" is another, a miss.
    let observed = check_fallback(
        &[Ok(1), Err(connection()), Err(connection())],
        &["FS", "fs", "web"],
        &attribute,
        &through_chain,
        &[],
    );
    assert_eq!(
        observed.results,
        [Ok(1), Ok(1), Err(shown(&Err(connection())).unwrap_err())]
    );
    assert_eq!(observed.calls, 3);
    assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(has_event(
        &observed,
        "WARN",
        Some("cache"),
        "served by fallback strategy cache"
    ));
    assert!(has_event(
        &observed,
        "INFO",
        Some("cache"),
        "fallback strategy cache failed"
    ));
}

/// `#[fallback(cache)]` keys an entry on the function's instantiation as well as its arguments:
/// `tools::<u16>("fs")` is not served what `tools::<u8>("fs")` stored. A chain does the same
/// when its arguments carry the type: `(type_name::<T>(), service)`.
#[test]
fn fallback_cache_keys_on_the_instantiation_as_a_chain_keyed_by_type() {
    let chain = FallbackChain::new()
        .operation(per_type::NAME)
        .cache(ResponseCache::new(LONG_TTL, 1024));
    fn key<T>(service: &str) -> (&'static str, String) {
        (std::any::type_name::<T>(), service.to_owned())
    }
    // Each call names its instantiation; the service is "fs" throughout.
    let attribute = |instantiation: &str| match instantiation {
        "u8" => per_type::tools::<u8>("fs"),
        "u16" => per_type::tools::<u16>("fs"),
        other => unreachable!("{other}"),
    };
    let through_chain = |instantiation: &str| {
        let key = match instantiation {
            "u8" => key::<u8>("fs"),
            "u16" => key::<u16>("fs"),
            other => unreachable!("{other}"),
        };
        chain.execute(&key, |_| play())
    };
    // A success for u8; a failure for u16, which nothing stored serves; a failure for u8,
    // served from its entry.
    let observed = check_fallback(
        &[Ok(1), Err(connection()), Err(connection())],
        &["u8", "u16", "u8"],
        &attribute,
        &through_chain,
        &[],
    );
    assert_eq!(
        observed.results,
        [Ok(1), Err(shown(&Err(connection())).unwrap_err()), Ok(1)]
    );
    assert_eq!(observed.calls, 3);
    let strategies: Vec<Option<&str>> = observed
        .events
        .iter()
        .map(|event| event.fields.get("strategy").map(String::as_str))
        .collect();
    assert_eq!(strategies, [Some("cache"), None, Some("cache")]);
    assert!(has_event(
        &observed,
        "INFO",
        Some("cache"),
        "fallback strategy cache failed"
    ));
    assert!(has_event(
        &observed,
        "WARN",
        Some("cache"),
        "served by fallback strategy cache"
    ));
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
// Timeout: `#[timeout]` and `race_timeout_with`

mod timed {
    use super::*;

    #[timeout(after = "2s", sleeper = Arc::new(RigSleeper))]
    pub async fn call() -> Result<u32, McpStoreError> {
        attempt().await
    }

    pub const NAME: &str = concat!(module_path!(), "::call");
}

/// `#[timeout]` and the plain `race_timeout_with` on the same sleeper: a call that finishes at once
/// beats its timer, which is never started; a call that hangs is dropped when the timer (2 s,
/// virtual) fires, and fails as a `ServiceTimeout` naming the function.
#[test]
fn timeout_matches_race_timeout_with() {
    let script = [Ok(5), Ok(HANGS)];
    let attribute = observe(&script, || {
        (0..2).map(|_| block_on(timed::call())).collect()
    });
    let api = observe(&script, || {
        (0..2)
            .map(|_| {
                block_on(race_timeout_with(attempt(), ATTEMPT_TIMEOUT, &RigSleeper))
                    .unwrap_or_else(|elapsed| Err(elapsed.into_error(timed::NAME)))
            })
            .collect()
    });
    assert_eq!(attribute, api, "#[timeout] and race_timeout_with differ");
    let timed_out = mcpstore_errors::Elapsed {
        timeout: ATTEMPT_TIMEOUT,
    }
    .into_error(timed::NAME);
    assert_eq!(
        attribute.results,
        [Ok(5), Err(shown(&Err(timed_out)).unwrap_err())]
    );
    assert_eq!(attribute.calls, 2);
    // Only the call that had to wait started its timer.
    assert_eq!(attribute.delays, [ATTEMPT_TIMEOUT]);
    assert_eq!(attribute.events, []);
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker: `#[circuit_breaker]` and `CircuitBreaker::call`

mod guarded {
    use super::*;

    #[circuit_breaker(service = "fs", registry = breakers())]
    pub fn call() -> Result<u32, McpStoreError> {
        play()
    }
}

/// The same registry configuration (`breakers()`), on each side's manual clock: three failures
/// in four calls trip the breaker; the next call is refused without running; 30 s later a
/// probe is let through, succeeds and closes it; the next call goes through closed.
#[test]
fn circuit_breaker_matches_the_breakers_call() {
    let script = [
        Err(connection()),
        Ok(1),
        Err(timeout()),
        Err(connection()),
        Ok(2),
        Ok(3),
    ];
    let run = |call: &dyn Fn() -> Outcome| {
        observe(&script, || {
            let mut results: Vec<Outcome> = (0..5).map(|_| call()).collect();
            advance(Duration::from_secs(30));
            results.extend((0..2).map(|_| call()));
            results
        })
    };
    let attribute = run(&guarded::call);
    let api = run(&|| breakers().breaker("fs").call(play));
    assert_eq!(
        attribute, api,
        "#[circuit_breaker] and CircuitBreaker differ"
    );

    let open = breakers_open_error(&attribute);
    assert_eq!(
        attribute.results,
        [
            Err(shown(&Err(connection())).unwrap_err()),
            Ok(1),
            Err(shown(&Err(timeout())).unwrap_err()),
            Err(shown(&Err(connection())).unwrap_err()),
            Err(open),
            Ok(2),
            Ok(3),
        ]
    );
    assert_eq!(attribute.calls, 6, "the refused call never ran");
    let transitions: Vec<(&str, &str, &str)> = attribute
        .events
        .iter()
        .filter(|event| event.target == "mcpstore_errors::breaker")
        .map(|event| {
            let field = |name| event.fields.get(name).map_or("", String::as_str);
            (event.level.as_str(), field("from"), field("to"))
        })
        .collect();
    let state = CircuitState::as_str;
    assert_eq!(
        transitions,
        [
            (
                "WARN",
                state(CircuitState::Closed),
                state(CircuitState::Open)
            ),
            (
                "INFO",
                state(CircuitState::Open),
                state(CircuitState::HalfOpen)
            ),
            (
                "INFO",
                state(CircuitState::HalfOpen),
                state(CircuitState::Closed)
            ),
        ]
    );
    let opened = &attribute.events[0].fields;
    assert_eq!(opened["service"], "fs");
    assert_eq!(opened["open_for_ms"], "30000");
    assert_eq!(opened["calls"], "4");
    assert_eq!(opened["failure_rate"], "0.75");
}

/// The refused call's error, checked: `CIRCUIT_OPEN`, asking to wait the 30 s left open.
fn breakers_open_error(observed: &Observed) -> (&'static str, String, Option<Duration>) {
    let refused = observed.results[4].clone().unwrap_err();
    assert_eq!(refused.0, "CIRCUIT_OPEN");
    assert_eq!(refused.2, Some(Duration::from_secs(30)));
    refused
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

//! The feature `metrics`: what each engine records, read back from a recording recorder
//! installed on the test's thread. Names, labels and values are those the README lists.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreaker, CircuitBreakerConfig, CircuitState, ErrorCollector, ErrorKind,
    FallbackChain, Jitter, ManualClock, McpStoreError, ResponseCache, RetryConfig, RetryManager,
    SlidingWindow, VirtualSleeper, retry,
};
use metrics::{Key, KeyName, Metadata, SharedString, Unit};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// One recorded series: its name and labels.
type Series = (String, BTreeMap<String, String>);

/// Runs `f` with a recording recorder on this thread; returns every series it recorded.
fn recorded(f: impl FnOnce()) -> BTreeMap<Series, DebugValue> {
    recorded_with_snapshots(|_| f())
}

/// [`recorded`], `f` reading what is recorded so far whenever it calls the function it is
/// given.
fn recorded_with_snapshots(
    f: impl FnOnce(&dyn Fn() -> BTreeMap<Series, DebugValue>),
) -> BTreeMap<Series, DebugValue> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let snapshot = || snapshot_of(&snapshotter);
    metrics::with_local_recorder(&recorder, || f(&snapshot));
    snapshot()
}

/// Every series recorded so far.
fn snapshot_of(snapshotter: &Snapshotter) -> BTreeMap<Series, DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            ((key.name().to_owned(), labels), value)
        })
        .collect()
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (name.to_owned(), labels)
}

fn counter(recorded: &BTreeMap<Series, DebugValue>, name: &str, labels: &[(&str, &str)]) -> u64 {
    match recorded.get(&series(name, labels)) {
        Some(DebugValue::Counter(n)) => *n,
        Some(other) => panic!("{name} {labels:?} is not a counter: {other:?}"),
        None => 0,
    }
}

/// The names recorded, each once.
fn names(recorded: &BTreeMap<Series, DebugValue>) -> Vec<&str> {
    let mut names: Vec<&str> = recorded.keys().map(|(name, _)| name.as_str()).collect();
    names.dedup();
    names
}

fn manager(sleeper: &Arc<VirtualSleeper>) -> RetryManager {
    RetryManager::new(
        RetryConfig::new()
            .max_attempts(3)
            .base_delay(Duration::from_millis(100))
            .jitter(Jitter::None)
            .sleeper(sleeper.clone()),
    )
    .operation("fetch")
}

const CALLS: &str = "mcpstore_retry_calls_total";
const ATTEMPTS: &str = "mcpstore_retry_failed_attempts_total";
const DELAY: &str = "mcpstore_retry_delay_seconds";

#[test]
fn a_first_success_is_counted_as_successful_without_retry_and_nothing_else() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let recorded = recorded(|| {
        let value = manager(&sleeper).execute(|| Ok::<_, McpStoreError>(7));
        assert_eq!(value.unwrap(), 7);
    });
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[
                ("operation", "fetch"),
                ("outcome", "successful_without_retry")
            ]
        ),
        1
    );
    assert_eq!(names(&recorded), [CALLS], "{recorded:?}");
}

#[test]
fn a_success_after_retries_counts_each_failed_attempt_by_kind_and_each_delay() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let mut calls = 0;
    let recorded = recorded(|| {
        let value = manager(&sleeper).execute(|| {
            calls += 1;
            match calls {
                1 => Err(McpStoreError::connection("refused")),
                2 => Err(McpStoreError::service_timeout("fs", Duration::from_secs(5))),
                _ => Ok(calls),
            }
        });
        assert_eq!(value.unwrap(), 3);
    });
    let fetch = ("operation", "fetch");
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[fetch, ("outcome", "successful_with_retry")]
        ),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[fetch, ("outcome", "successful_without_retry")]
        ),
        0
    );
    for kind in [ErrorKind::Connection, ErrorKind::ServiceTimeout] {
        assert_eq!(
            counter(&recorded, ATTEMPTS, &[fetch, ("kind", kind.code())]),
            1,
            "{kind:?}"
        );
    }
    match &recorded[&series(DELAY, &[fetch])] {
        DebugValue::Histogram(delays) => {
            let delays: Vec<f64> = delays.iter().map(|d| d.into_inner()).collect();
            assert_eq!(delays, [0.1, 0.2]);
        }
        other => panic!("not a histogram: {other:?}"),
    }
}

#[test]
fn giving_up_on_the_first_attempt_or_after_retries_are_two_outcomes() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let recorded = recorded(|| {
        let manager = manager(&sleeper).retry_if_retryable();
        // Not retryable: stops on the first attempt.
        let missing = manager.execute(|| Err::<(), _>(McpStoreError::tool_not_found("read", None)));
        assert!(missing.is_err());
        // Retryable every time: stops after the third.
        let down = manager.execute(|| Err::<(), _>(McpStoreError::connection("refused")));
        assert!(down.is_err());
    });
    let fetch = ("operation", "fetch");
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[fetch, ("outcome", "failed_without_retry")]
        ),
        1
    );
    assert_eq!(
        counter(&recorded, CALLS, &[fetch, ("outcome", "failed_with_retry")]),
        1
    );
    let attempts = |kind: ErrorKind| counter(&recorded, ATTEMPTS, &[fetch, ("kind", kind.code())]);
    assert_eq!(attempts(ErrorKind::ToolNotFound), 1);
    assert_eq!(attempts(ErrorKind::Connection), 3);
}

#[test]
fn a_value_still_rejected_after_the_last_attempt_is_a_failed_call() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let recorded = recorded(|| {
        let manager = manager(&sleeper).retry_if_result(|healthy: &bool| !*healthy);
        let healthy = manager.execute(|| Ok::<_, McpStoreError>(false));
        assert!(!healthy.unwrap(), "the last rejected value is returned");
    });
    let fetch = ("operation", "fetch");
    assert_eq!(
        counter(&recorded, CALLS, &[fetch, ("outcome", "failed_with_retry")]),
        1
    );
    assert_eq!(
        counter(&recorded, ATTEMPTS, &[fetch, ("kind", "rejected_result")]),
        3
    );
}

#[retry(max_attempts = 3, delay = 0)]
fn flaky(failures: &mut u32) -> Result<u32, McpStoreError> {
    if *failures > 0 {
        *failures -= 1;
        return Err(McpStoreError::connection("refused"));
    }
    Ok(42)
}

#[test]
fn a_sync_retry_attribute_counts_its_retries_and_its_success_after_them() {
    let recorded = recorded(|| {
        assert_eq!(flaky(&mut 2).unwrap(), 42);
        assert!(flaky(&mut 5).is_err());
    });
    let names: Vec<&str> = recorded
        .keys()
        .filter(|(name, _)| name == CALLS)
        .map(|(_, labels)| labels["operation"].as_str())
        .collect();
    let operation = names[0];
    assert!(operation.ends_with("flaky"), "{operation}");
    let op = ("operation", operation);
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[op, ("outcome", "successful_with_retry")]
        ),
        1
    );
    assert_eq!(
        counter(&recorded, CALLS, &[op, ("outcome", "failed_with_retry")]),
        1
    );
    // 2 failures, then 3: counted, though the attribute does not yet pass the kind along.
    let failed: u64 = recorded
        .iter()
        .filter(|((name, labels), _)| name == ATTEMPTS && labels["operation"] == operation)
        .map(|(_, value)| match value {
            DebugValue::Counter(n) => *n,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(failed, 5);
}

#[test]
fn the_entry_point_for_a_sync_first_success_counts_it() {
    let recorded = recorded(|| {
        mcpstore_errors::__private::retry_succeeded_first(
            mcpstore_errors::__private::Operation::Named("app::read"),
        )
    });
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[
                ("operation", "app::read"),
                ("outcome", "successful_without_retry")
            ]
        ),
        1
    );
}

#[retry(max_attempts = 1)]
fn classified_failure() -> Result<(), McpStoreError> {
    Err(McpStoreError::connection("refused"))
}

#[retry(max_attempts = 1)]
fn unclassified_failure() -> Result<(), std::fmt::Error> {
    Err(std::fmt::Error)
}

#[test]
fn an_attempt_is_counted_under_its_kind_when_its_type_is_classified() {
    let recorded = recorded(|| {
        let _ = classified_failure();
        let _ = unclassified_failure();
    });
    let classified = ("operation", concat!(module_path!(), "::classified_failure"));
    let unclassified = (
        "operation",
        concat!(module_path!(), "::unclassified_failure"),
    );
    assert_eq!(
        counter(
            &recorded,
            ATTEMPTS,
            &[classified, ("kind", "CONNECTION_ERROR")]
        ),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            ATTEMPTS,
            &[unclassified, ("kind", "unclassified")]
        ),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[classified, ("outcome", "failed_without_retry")]
        ),
        1
    );
}

#[test]
fn labels_never_carry_an_error_message() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let secret = "token=hunter2 refused";
    let recorded = recorded(|| {
        let _ = manager(&sleeper).execute(|| Err::<(), _>(McpStoreError::connection(secret)));
        let collector = ErrorCollector::new(10);
        collector.collect(&McpStoreError::connection(secret), serde_json::Value::Null);
        let chain = FallbackChain::<str, u32, McpStoreError>::new().operation("lookup");
        let _ = chain.execute("arg-value", |_| Err(McpStoreError::connection(secret)));
    });
    assert_eq!(
        names(&recorded),
        [
            "mcpstore_errors_collected_total",
            "mcpstore_fallback_exhausted_total",
            CALLS,
            DELAY,
            ATTEMPTS,
        ]
    );
    for (name, labels) in recorded.keys() {
        for (key, value) in labels {
            assert!(
                !value.contains("hunter2") && !value.contains("arg-value"),
                "{name}: {key}={value}"
            );
            assert!(
                ["operation", "outcome", "kind", "type", "code", "strategy"]
                    .contains(&key.as_str()),
                "{name}: unexpected label {key}"
            );
        }
    }
}

const STEPS: &str = "mcpstore_fallback_steps_total";

#[test]
fn fallback_steps_are_counted_by_strategy_and_outcome_and_exhaustion_by_operation() {
    let recorded = recorded(|| {
        let chain = FallbackChain::<str, u32, McpStoreError>::new()
            .operation("lookup")
            .cache(ResponseCache::new(Duration::from_secs(60), 10))
            .default_value(0);
        let served = chain.execute("a", |_| Err(McpStoreError::connection("down")));
        assert_eq!(served.unwrap(), 0);

        let bare = FallbackChain::<str, u32, McpStoreError>::new()
            .operation("bare")
            .cache(ResponseCache::new(Duration::from_secs(60), 10));
        assert!(
            bare.execute("a", |_| Err(McpStoreError::connection("down")))
                .is_err()
        );
    });
    let lookup = ("operation", "lookup");
    assert_eq!(
        counter(
            &recorded,
            STEPS,
            &[lookup, ("strategy", "cache"), ("outcome", "failed")]
        ),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            STEPS,
            &[lookup, ("strategy", "default"), ("outcome", "served")]
        ),
        1
    );
    assert_eq!(
        counter(&recorded, "mcpstore_fallback_exhausted_total", &[lookup]),
        0
    );
    assert_eq!(
        counter(
            &recorded,
            "mcpstore_fallback_exhausted_total",
            &[("operation", "bare")]
        ),
        1
    );
}

#[test]
fn breaker_transitions_are_counted_and_the_state_gauge_follows() {
    let clock = Arc::new(ManualClock::new());
    let recorded = recorded(|| {
        let breaker = CircuitBreaker::new(
            "fs",
            CircuitBreakerConfig::new()
                .window(SlidingWindow::Count(2))
                .minimum_calls(2)
                .failure_rate(0.5)
                .open_duration(Duration::from_secs(30))
                .jitter(0.0)
                .clock(clock.clone()),
        );
        for _ in 0..2 {
            let _ = breaker.call(|| Err::<(), _>(McpStoreError::connection("refused")));
        }
        assert_eq!(breaker.state(), CircuitState::Open);
        clock.advance(Duration::from_secs(30));
        breaker.call(|| Ok::<_, McpStoreError>(())).unwrap();
        assert_eq!(breaker.state(), CircuitState::Closed);
    });
    let transitions = |from: &str, to: &str| {
        counter(
            &recorded,
            "mcpstore_breaker_transitions_total",
            &[("service", "fs"), ("from", from), ("to", to)],
        )
    };
    assert_eq!(transitions("closed", "open"), 1);
    assert_eq!(transitions("open", "half_open"), 1);
    assert_eq!(transitions("half_open", "closed"), 1);
    assert_eq!(state_gauge(&recorded, "fs"), CLOSED);
}

/// The state gauge of `service`, one value per state (closed, open, half-open, forced open,
/// disabled); `None` for a state never recorded.
fn state_gauge(recorded: &BTreeMap<Series, DebugValue>, service: &str) -> Vec<Option<f64>> {
    ["closed", "open", "half_open", "forced_open", "disabled"]
        .iter()
        .map(|state| {
            match recorded.get(&series(
                "mcpstore_breaker_state",
                &[("service", service), ("state", state)],
            )) {
                Some(DebugValue::Gauge(value)) => Some(value.into_inner()),
                Some(other) => panic!("not a gauge: {other:?}"),
                None => None,
            }
        })
        .collect()
}

const CLOSED: [Option<f64>; 5] = [Some(1.0), Some(0.0), Some(0.0), Some(0.0), Some(0.0)];
const OPEN: [Option<f64>; 5] = [Some(0.0), Some(1.0), Some(0.0), Some(0.0), Some(0.0)];
const GONE: [Option<f64>; 5] = [Some(0.0); 5];

/// A registry whose breakers open after two failures of two calls, for 30 s.
fn opening_registry(max_services: usize) -> BreakerRegistry {
    BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(2))
            .minimum_calls(2)
            .failure_rate(0.5)
            .open_duration(Duration::from_secs(30))
            .jitter(0.0),
    )
    .max_services(max_services)
}

fn open(breaker: &CircuitBreaker) {
    for _ in 0..2 {
        let _ = breaker.call(|| Err::<(), _>(McpStoreError::connection("refused")));
    }
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_breaker_a_registry_makes_shows_closed_before_any_transition() {
    let recorded = recorded(|| {
        let registry = opening_registry(8);
        registry.breaker("fs");
    });
    assert_eq!(state_gauge(&recorded, "fs"), CLOSED);
}

#[test]
fn an_open_breaker_replaced_by_a_new_configuration_shows_closed_not_open() {
    let mut states = Vec::new();
    recorded_with_snapshots(|snapshot| {
        let registry = opening_registry(8);
        open(&registry.breaker("fs"));
        states.push(state_gauge(&snapshot(), "fs"));
        registry
            .configure("fs", CircuitBreakerConfig::new())
            .unwrap();
        assert_eq!(registry.breaker("fs").state(), CircuitState::Closed);
        states.push(state_gauge(&snapshot(), "fs"));
    });
    assert_eq!(states, [OPEN, CLOSED]);
}

#[test]
fn a_removed_open_breaker_shows_no_state_until_the_service_has_a_breaker_again() {
    let mut states = Vec::new();
    recorded_with_snapshots(|snapshot| {
        let registry = opening_registry(8);
        open(&registry.breaker("fs"));
        assert!(registry.remove("fs"));
        states.push(state_gauge(&snapshot(), "fs"));
        registry.breaker("fs");
        states.push(state_gauge(&snapshot(), "fs"));
    });
    assert_eq!(states, [GONE, CLOSED]);
}

#[test]
fn an_evicted_breaker_shows_no_state_and_the_others_keep_theirs() {
    let recorded = recorded(|| {
        let registry = opening_registry(2);
        open(&registry.breaker("open"));
        registry.breaker("idle");
        // Full: the closed one is forgotten to make room.
        registry.breaker("new");
        assert!(registry.get("idle").is_none());
    });
    assert_eq!(state_gauge(&recorded, "idle"), GONE);
    assert_eq!(state_gauge(&recorded, "open"), OPEN);
    assert_eq!(state_gauge(&recorded, "new"), CLOSED);
}

#[test]
fn collected_errors_are_counted_by_type_and_code_and_alerts_by_type() {
    let recorded = recorded(|| {
        let collector = ErrorCollector::builder()
            .alert_threshold(2)
            .alert_window(Duration::from_secs(60))
            .build();
        for _ in 0..3 {
            collector.collect(
                &McpStoreError::connection("refused"),
                serde_json::Value::Null,
            );
        }
        collector.collect(&std::fmt::Error, serde_json::Value::Null);
    });
    let collected = "mcpstore_errors_collected_total";
    assert_eq!(
        counter(
            &recorded,
            collected,
            &[("type", "ConnectionError"), ("code", "CONNECTION_ERROR")]
        ),
        3
    );
    assert_eq!(
        counter(&recorded, collected, &[("type", "Error"), ("code", "none")]),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            "mcpstore_rate_alerts_total",
            &[("type", "ConnectionError")]
        ),
        1
    );
}

#[test]
fn a_kept_handle_of_a_replaced_breaker_does_not_write_over_the_new_breakers_state() {
    let recorded = recorded(|| {
        let registry = opening_registry(8);
        let old = registry.breaker("fs");
        registry
            .configure("fs", CircuitBreakerConfig::new())
            .unwrap();
        // The caller that took its handle before the change goes on using it.
        open(&old);
        assert_eq!(registry.breaker("fs").state(), CircuitState::Closed);
    });
    assert_eq!(state_gauge(&recorded, "fs"), CLOSED);
}

#[test]
fn a_kept_handle_of_a_removed_breaker_leaves_the_service_showing_no_state() {
    let recorded = recorded(|| {
        let registry = opening_registry(8);
        let old = registry.breaker("fs");
        assert!(registry.remove("fs"));
        open(&old);
        old.force_open();
    });
    assert_eq!(state_gauge(&recorded, "fs"), GONE);
}

/// Records into `inner`, running `on_counter` before each counter is registered and letting
/// `on_gauge` wrap each gauge: a recorder that does what an application's might.
struct Intercepting<'a, C, G> {
    inner: &'a DebuggingRecorder,
    on_counter: C,
    on_gauge: G,
}

impl<C, G> metrics::Recorder for Intercepting<'_, C, G>
where
    C: Fn(&Key),
    G: Fn(&Key, metrics::Gauge) -> metrics::Gauge,
{
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Counter {
        (self.on_counter)(key);
        self.inner.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Gauge {
        (self.on_gauge)(key, self.inner.register_gauge(key, metadata))
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Histogram {
        self.inner.register_histogram(key, metadata)
    }
}

/// Records into `inner`; the first time a transition is counted, tells `entered` and waits
/// for `resume` before counting it: the transition has happened, its report has not.
fn paused_at_first_transition(
    inner: &DebuggingRecorder,
    entered: std::sync::mpsc::SyncSender<()>,
    resume: std::sync::mpsc::Receiver<()>,
) -> impl metrics::Recorder + Sync + '_ {
    let resume = std::sync::Mutex::new(resume);
    let paused = std::sync::atomic::AtomicBool::new(false);
    Intercepting {
        inner,
        on_counter: move |key: &Key| {
            if key.name() == "mcpstore_breaker_transitions_total"
                && !paused.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                entered.send(()).unwrap();
                resume.lock().unwrap().recv().unwrap();
            }
        },
        on_gauge: |_: &Key, gauge| gauge,
    }
}

#[test]
fn a_transition_reported_after_a_later_one_does_not_leave_its_state_on_the_gauge() {
    // A transition is reported after the breaker's lock is released, so two threads' reports
    // can arrive in another order than their transitions. Here one thread disables the
    // breaker and is held before reporting it, while another resets it and reports that.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let breaker = CircuitBreaker::new("fs", CircuitBreakerConfig::new());
    let (entered, in_window) = std::sync::mpsc::sync_channel(1);
    let (resume, resumed) = std::sync::mpsc::sync_channel(1);
    let paused = paused_at_first_transition(&recorder, entered, resumed);
    std::thread::scope(|scope| {
        scope.spawn(|| metrics::with_local_recorder(&paused, || breaker.disable()));
        in_window
            .recv_timeout(Duration::from_secs(30))
            .expect("the disabling thread never counted its transition");
        assert_eq!(breaker.state(), CircuitState::Disabled);
        metrics::with_local_recorder(&recorder, || breaker.reset());
        resume.send(()).unwrap();
    });
    assert_eq!(breaker.state(), CircuitState::Closed);
    let recorded = snapshot_of(&snapshotter);
    assert_eq!(state_gauge(&recorded, "fs"), CLOSED);
    assert_eq!(
        counter(
            &recorded,
            "mcpstore_breaker_transitions_total",
            &[("service", "fs"), ("from", "closed"), ("to", "disabled")]
        ),
        1
    );
}

/// Records into `inner`; each gauge write first calls back into `registry`, as an exporter
/// that lists the registry's services beside each sample would (`make`: it also looks up
/// the breaker of the sample's service, which makes one when there is none).
fn calls_back<'a>(
    inner: &'a DebuggingRecorder,
    registry: &'static BreakerRegistry,
    make: bool,
) -> impl metrics::Recorder + Sync + 'a {
    Intercepting {
        inner,
        on_counter: |_: &Key| {},
        on_gauge: move |key: &Key, gauge| {
            let service = key
                .labels()
                .find(|label| label.key() == "service")
                .map(|label| label.value().to_owned())
                .filter(|_| make);
            metrics::Gauge::from_arc(Arc::new(CallingGauge {
                gauge,
                registry,
                service,
            }))
        },
    }
}

struct CallingGauge {
    gauge: metrics::Gauge,
    registry: &'static BreakerRegistry,
    /// The service to look up on each write, when the recorder makes breakers.
    service: Option<String>,
}

impl CallingGauge {
    fn call_back(&self) {
        let _ = self.registry.services();
        if let Some(service) = &self.service {
            let _ = self.registry.breaker(service).state();
        }
    }
}

impl metrics::GaugeFn for CallingGauge {
    fn increment(&self, value: f64) {
        self.call_back();
        self.gauge.increment(value);
    }
    fn decrement(&self, value: f64) {
        self.call_back();
        self.gauge.decrement(value);
    }
    fn set(&self, value: f64) {
        self.call_back();
        self.gauge.set(value);
    }
}

/// Runs `f` on a thread of its own and waits at most 30 s for it, so that a deadlock fails the
/// test instead of hanging it.
fn within_30_s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(f()).unwrap());
    finished
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} never returned"))
}

static READ_BACK: LazyLock<BreakerRegistry> = LazyLock::new(|| opening_registry(1));

#[test]
fn a_recorder_that_reads_the_registry_while_its_gauges_are_written_does_not_deadlock() {
    let recorded = within_30_s("a registry change", || {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let calls_back = calls_back(&recorder, &READ_BACK, false);
        metrics::with_local_recorder(&calls_back, || {
            READ_BACK.breaker("fs"); // made
            READ_BACK
                .configure("fs", CircuitBreakerConfig::new())
                .unwrap(); // replaced
            READ_BACK.breaker("git"); // "fs" evicted: the registry holds one
            assert!(READ_BACK.remove("git")); // removed
        });
        snapshot_of(&snapshotter)
    });
    assert_eq!(state_gauge(&recorded, "fs"), GONE);
    assert_eq!(state_gauge(&recorded, "git"), GONE);
}

static SHARED_READ_BACK: LazyLock<BreakerRegistry> = LazyLock::new(|| opening_registry(64));

#[test]
fn threads_changing_a_registry_whose_recorder_reads_it_do_not_deadlock() {
    let recorded = within_30_s("eight threads making breakers", || {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let calls_back = calls_back(&recorder, &SHARED_READ_BACK, false);
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let calls_back = &calls_back;
                scope.spawn(move || {
                    metrics::with_local_recorder(calls_back, || {
                        for i in 0..50 {
                            SHARED_READ_BACK.breaker(&format!("svc-{thread}-{i}"));
                        }
                    })
                });
            }
        });
        snapshot_of(&snapshotter)
    });
    // 400 services in a registry of 64: each kept one shows closed, each evicted one nothing.
    let services = SHARED_READ_BACK.services();
    assert_eq!(services.len(), 64);
    for thread in 0..8 {
        for i in 0..50 {
            let service = format!("svc-{thread}-{i}");
            let expected = if services.contains(&service) {
                CLOSED
            } else {
                GONE
            };
            assert_eq!(state_gauge(&recorded, &service), expected, "{service}");
        }
    }
}

static MAKES_BACK: LazyLock<BreakerRegistry> = LazyLock::new(|| opening_registry(8));

#[test]
fn a_recorder_that_makes_the_breaker_of_a_removed_service_does_not_deadlock() {
    within_30_s("remove", || {
        let recorder = DebuggingRecorder::new();
        let calls_back = calls_back(&recorder, &MAKES_BACK, true);
        metrics::with_local_recorder(&calls_back, || {
            MAKES_BACK.breaker("fs");
            // Zeroing "fs"'s series makes the recorder ask for "fs"'s breaker again.
            assert!(MAKES_BACK.remove("fs"));
        });
    });
    assert!(MAKES_BACK.get("fs").is_some(), "made again by the recorder");
}

#[test]
fn a_full_registry_records_nothing_for_the_services_it_does_not_keep() {
    let clock = Arc::new(ManualClock::new());
    let registry = BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(1))
            .minimum_calls(1)
            .clock(clock),
    )
    .max_services(1);
    let recorded = recorded(|| {
        let kept = registry.breaker("kept");
        let _ = kept.call(|| Err::<(), _>(McpStoreError::connection("down")));
        assert_eq!(kept.state(), CircuitState::Open);
        for _ in 0..5 {
            let unkept = registry.breaker("unkept");
            assert_eq!(unkept.state(), CircuitState::Disabled);
            unkept.call(|| Ok::<_, McpStoreError>(())).unwrap();
        }
        for n in 0..1000 {
            let _ = registry.breaker(&format!("outside-{n}"));
        }
        // An operator's action on one it does not keep is no series either.
        let unkept = registry.breaker("operated");
        unkept.force_open();
        unkept.reset();
    });
    assert_eq!(registry.overflows(), 1006);
    let services: std::collections::BTreeSet<&str> = recorded
        .keys()
        .filter_map(|(_, labels)| labels.get("service").map(String::as_str))
        .collect();
    let others: Vec<&str> = services
        .iter()
        .copied()
        .filter(|s| *s != "kept")
        .take(3)
        .collect();
    assert!(
        others.is_empty(),
        "{} services have series, e.g. {others:?}",
        services.len()
    );
    assert!(services.contains("kept"));
}

/// A callback run once, on the first gauge write after it is armed.
type Armed = Arc<std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// Records into `inner`; each gauge write first runs what is `armed`, if anything (an
/// application's recorder that acts on the breaker whose state it is given).
fn acting_on_a_write(inner: &DebuggingRecorder, armed: Armed) -> impl metrics::Recorder + '_ {
    struct Acting {
        gauge: metrics::Gauge,
        armed: Armed,
    }
    impl metrics::GaugeFn for Acting {
        fn increment(&self, value: f64) {
            self.gauge.increment(value);
        }
        fn decrement(&self, value: f64) {
            self.gauge.decrement(value);
        }
        fn set(&self, value: f64) {
            // Taken out first: the writes it causes do not run it again.
            let call_back = self.armed.lock().unwrap().take();
            if let Some(call_back) = call_back {
                call_back();
            }
            self.gauge.set(value);
        }
    }
    Intercepting {
        inner,
        on_counter: |_: &Key| {},
        on_gauge: move |_: &Key, gauge| {
            let armed = armed.clone();
            metrics::Gauge::from_arc(Arc::new(Acting { gauge, armed }))
        },
    }
}

#[test]
fn a_recorder_that_forces_the_breaker_open_while_its_gauge_is_written_does_not_deadlock() {
    let recorded = within_30_s("a transition's gauge write", || {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let armed = Armed::default();
        let acting = acting_on_a_write(&recorder, armed.clone());
        let breaker = CircuitBreaker::new("fs", CircuitBreakerConfig::new());
        let inner = breaker.clone();
        *armed.lock().unwrap() = Some(Box::new(move || inner.force_open()));
        metrics::with_local_recorder(&acting, || breaker.disable());
        assert_eq!(breaker.state(), CircuitState::ForcedOpen);
        snapshot_of(&snapshotter)
    });
    // The later transition's state is the one left, written after the write it interrupted.
    let forced_open = [Some(0.0), Some(0.0), Some(0.0), Some(1.0), Some(0.0)];
    assert_eq!(state_gauge(&recorded, "fs"), forced_open);
}

#[test]
fn a_recorder_that_removes_the_breaker_while_its_gauge_is_written_leaves_no_state() {
    let recorded = within_30_s("a transition's gauge write", || {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let armed = Armed::default();
        let acting = acting_on_a_write(&recorder, armed.clone());
        let registry = Arc::new(opening_registry(8));
        metrics::with_local_recorder(&acting, || {
            let old = registry.breaker("fs");
            let inner = registry.clone();
            *armed.lock().unwrap() = Some(Box::new(move || assert!(inner.remove("fs"))));
            old.force_open();
            assert!(registry.get("fs").is_none());
        });
        snapshot_of(&snapshotter)
    });
    // Retired mid-write: the rest of that write is dropped and the series are cleared.
    assert_eq!(state_gauge(&recorded, "fs"), GONE);
}

struct FsClient;
struct WebClient;

impl FsClient {
    #[retry(max_attempts = 1)]
    fn list_tools(&self, up: bool) -> Result<(), McpStoreError> {
        up.then_some(())
            .ok_or_else(|| McpStoreError::connection("refused"))
    }
}

impl WebClient {
    #[retry(max_attempts = 1)]
    fn list_tools(&self, up: bool) -> Result<(), McpStoreError> {
        up.then_some(())
            .ok_or_else(|| McpStoreError::connection("refused"))
    }
}

#[test]
fn methods_of_one_name_on_two_types_count_in_two_series() {
    let recorded = recorded(|| {
        FsClient.list_tools(true).unwrap();
        let _ = WebClient.list_tools(false);
    });
    let fs = (
        "operation",
        concat!(module_path!(), "::FsClient::list_tools"),
    );
    let web = (
        "operation",
        concat!(module_path!(), "::WebClient::list_tools"),
    );
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[fs, ("outcome", "successful_without_retry")]
        ),
        1
    );
    assert_eq!(
        counter(
            &recorded,
            CALLS,
            &[web, ("outcome", "failed_without_retry")]
        ),
        1
    );
}

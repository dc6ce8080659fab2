//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): the one
//! module that names them. Without the feature every function here is an empty inline body,
//! so the engines call them without `cfg`.
//!
//! Labels are low-cardinality: an operation (a function path, a method's with its type and
//! without generic arguments, or the name the user gave),
//! a service (a breaker's name), an error kind's code, an error type's name, a strategy's
//! name, an outcome. Never a message or an argument.
//!
//! The application installs the exporter (Prometheus, OpenTelemetry..) as the `metrics`
//! recorder; `describe_metrics` then gives each metric its description. With the feature on,
//! a retried call's success is one counter increment: a key of two `&'static str` labels (one
//! small allocation) and a lookup in the recorder. Every other metric is on a failure path.

#![cfg_attr(not(feature = "metrics"), allow(dead_code))]

use std::time::Duration;

use crate::{CircuitState, ErrorKind, StopReason};

/// Retried calls by outcome, as resilience4j reports them. Labels `operation`, `outcome`.
pub const RETRY_CALLS: &str = "mcpstore_retry_calls_total";
/// Failed attempts of retried calls. Labels `operation`, `kind`.
pub const RETRY_FAILED_ATTEMPTS: &str = "mcpstore_retry_failed_attempts_total";
/// The delays waited before retries, in seconds. Label `operation`.
pub const RETRY_DELAY: &str = "mcpstore_retry_delay_seconds";
/// Fallback steps. Labels `operation`, `strategy`, `outcome`.
pub const FALLBACK_STEPS: &str = "mcpstore_fallback_steps_total";
/// Calls whose every fallback strategy failed. Label `operation`.
pub const FALLBACK_EXHAUSTED: &str = "mcpstore_fallback_exhausted_total";
/// Circuit breaker transitions. Labels `service`, `from`, `to`.
pub const BREAKER_TRANSITIONS: &str = "mcpstore_breaker_transitions_total";
/// A breaker's state, one series per state: 1 for the current one, 0 for the others (0 for
/// all once a registry has forgotten the breaker). Labels `service`, `state`.
pub const BREAKER_STATE: &str = "mcpstore_breaker_state";
/// Errors collected by an `ErrorCollector`. Labels `type`, `code`.
pub const ERRORS_COLLECTED: &str = "mcpstore_errors_collected_total";
/// Rate alerts raised by an `ErrorCollector`. Label `type`.
pub const RATE_ALERTS: &str = "mcpstore_rate_alerts_total";

/// The `kind` of a failed attempt whose error is not classified.
pub const UNCLASSIFIED: &str = "unclassified";
/// The `kind` of an attempt whose value the result predicate rejected.
pub const REJECTED_RESULT: &str = "rejected_result";

/// Registers every metric's description and unit with the installed recorder, so that an
/// exporter can show them (Prometheus `# HELP` lines). Optional; call it once after installing
/// the recorder.
///
/// ```
/// // After installing a recorder, e.g. metrics_exporter_prometheus::PrometheusBuilder's:
/// mcpstore_errors::metrics::describe_metrics();
/// assert_eq!(mcpstore_errors::metrics::RETRY_CALLS, "mcpstore_retry_calls_total");
/// ```
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        RETRY_CALLS,
        "Retried calls by outcome: successful_without_retry, successful_with_retry, failed_without_retry, failed_with_retry"
    );
    describe_counter!(
        RETRY_FAILED_ATTEMPTS,
        "Failed attempts of retried calls, by error kind"
    );
    describe_histogram!(RETRY_DELAY, Unit::Seconds, "Delays waited before retries");
    describe_counter!(
        FALLBACK_STEPS,
        "Fallback strategies tried, by strategy and outcome (served, failed)"
    );
    describe_counter!(
        FALLBACK_EXHAUSTED,
        "Calls whose every fallback strategy failed"
    );
    describe_counter!(BREAKER_TRANSITIONS, "Circuit breaker state transitions");
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state: 1 for the current state, 0 for the others (0 for all once forgotten)"
    );
    describe_counter!(ERRORS_COLLECTED, "Errors collected, by type and code");
    describe_counter!(RATE_ALERTS, "Error rate alerts raised, by error type");
}

/// The `kind` label of an error kind: its machine code.
fn kind_label(kind: Option<ErrorKind>) -> &'static str {
    kind.map_or(UNCLASSIFIED, ErrorKind::code)
}

/// A retried call's first attempt succeeded. With the feature on this is a counter increment
/// on the success path (a key built from two `&'static str` labels and a lookup in the
/// installed recorder); without it, nothing.
#[inline(always)]
pub(crate) fn retry_succeeded_first(operation: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(RETRY_CALLS, "operation" => operation, "outcome" => "successful_without_retry")
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = operation;
}

/// A retried call succeeded on attempt `attempt` (1-based).
#[inline(always)]
pub(crate) fn retry_succeeded(operation: &'static str, attempt: u32) {
    #[cfg(feature = "metrics")]
    if attempt <= 1 {
        retry_succeeded_first(operation);
    } else {
        retry_succeeded_after_retry(operation);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, attempt);
}

#[cfg(feature = "metrics")]
#[cold]
#[inline(never)]
fn retry_succeeded_after_retry(operation: &'static str) {
    metrics::counter!(RETRY_CALLS, "operation" => operation, "outcome" => "successful_with_retry")
        .increment(1);
}

/// A retried call gave up on attempt `attempt` (1-based) for `reason`.
#[inline(always)]
pub(crate) fn retry_gave_up(operation: &'static str, attempt: u32, reason: StopReason) {
    #[cfg(feature = "metrics")]
    {
        let _ = reason;
        let outcome = if attempt <= 1 {
            "failed_without_retry"
        } else {
            "failed_with_retry"
        };
        metrics::counter!(RETRY_CALLS, "operation" => operation, "outcome" => outcome).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, attempt, reason);
}

/// An attempt failed with an error of `kind` (`None`: not classified).
#[inline(always)]
pub(crate) fn retry_attempt_failed(operation: &'static str, kind: Option<ErrorKind>) {
    retry_attempt(operation, kind_label(kind));
}

/// An attempt's value was rejected by the result predicate.
#[inline(always)]
pub(crate) fn retry_attempt_rejected(operation: &'static str) {
    retry_attempt(operation, REJECTED_RESULT);
}

#[inline(always)]
fn retry_attempt(operation: &'static str, kind: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(RETRY_FAILED_ATTEMPTS, "operation" => operation, "kind" => kind).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, kind);
}

/// A retry is scheduled after `delay`.
#[inline(always)]
pub(crate) fn retry_scheduled(operation: &'static str, delay: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(RETRY_DELAY, "operation" => operation).record(delay.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, delay);
}

/// A fallback step of `operation` ended: `strategy` served the call, or failed.
#[inline(always)]
pub(crate) fn fallback_step(operation: &str, strategy: &str, served: bool) {
    #[cfg(feature = "metrics")]
    {
        let outcome = if served { "served" } else { "failed" };
        metrics::counter!(
            FALLBACK_STEPS,
            "operation" => operation.to_owned(),
            "strategy" => strategy.to_owned(),
            "outcome" => outcome,
        )
        .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, strategy, served);
}

/// Every fallback strategy of `operation` failed.
#[inline(always)]
pub(crate) fn fallback_exhausted(operation: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(FALLBACK_EXHAUSTED, "operation" => operation.to_owned()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = operation;
}

/// Every state a breaker can be in, for the one-series-per-state gauge.
#[cfg(feature = "metrics")]
const STATES: [CircuitState; 5] = [
    CircuitState::Closed,
    CircuitState::Open,
    CircuitState::HalfOpen,
    CircuitState::ForcedOpen,
    CircuitState::Disabled,
];

/// `service`'s breaker went from `from` to `to`.
#[inline(always)]
pub(crate) fn breaker_transition(service: &str, from: CircuitState, to: CircuitState) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(
            BREAKER_TRANSITIONS,
            "service" => service.to_owned(),
            "from" => from.as_str(),
            "to" => to.as_str(),
        )
        .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (service, from, to);
}

/// The state gauge's writer for one breaker. It writes the breaker's state as read under its
/// own lock, so two transitions reported out of order still leave the later state; and only
/// while its breaker is the one the service's series describe (a registry retires a breaker
/// it replaced or forgot, whose handles may still be in use).
///
/// Writes are made one at a time, under `write`. The recorder they call may call back into
/// the breaker on the writing thread (a transition's report, a registry retiring it): that
/// thread cannot wait for itself, so it leaves what it owes to the write under way, which
/// makes it before it lets go.
#[derive(Debug, Default)]
pub(crate) struct StateGauge {
    #[cfg(feature = "metrics")]
    write: std::sync::Mutex<()>,
    /// The thread holding `write` (see [`this_thread`]), 0 when none.
    #[cfg(feature = "metrics")]
    writer: std::sync::atomic::AtomicUsize,
    #[cfg(feature = "metrics")]
    retired: std::sync::atomic::AtomicBool,
    /// A report owed by the write under way: the state is written again when it ends.
    #[cfg(feature = "metrics")]
    owed_report: std::sync::atomic::AtomicBool,
    /// A clearing owed by the write under way (the breaker was retired with `clear`).
    #[cfg(feature = "metrics")]
    owed_clear: std::sync::atomic::AtomicBool,
}

impl StateGauge {
    /// Writes `state()`, unless retired.
    #[inline(always)]
    pub(crate) fn report(&self, service: &str, state: impl Fn() -> CircuitState) {
        #[cfg(feature = "metrics")]
        {
            use std::sync::atomic::Ordering;
            self.owed_report.store(true, Ordering::SeqCst);
            if self.writer.load(Ordering::SeqCst) == this_thread() {
                return;
            }
            let _write = self.lock();
            self.drain(service, Some(&state));
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (service, state);
    }

    /// Stops this breaker's reports; `clear` also zeroes the service's series (no breaker
    /// replaces it). Once it returns, no report of this breaker can land (but for the rest
    /// of a recorder's call that made it, on this thread).
    #[inline(always)]
    pub(crate) fn retire(&self, service: &str, clear: bool) {
        #[cfg(feature = "metrics")]
        {
            use std::sync::atomic::Ordering;
            self.retired.store(true, Ordering::SeqCst);
            if clear {
                self.owed_clear.store(true, Ordering::SeqCst);
            }
            if self.writer.load(Ordering::SeqCst) == this_thread() {
                return;
            }
            let _write = self.lock();
            self.drain(service, None);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (service, clear);
    }

    /// Makes the writes owed, `write` held, until none is.
    #[cfg(feature = "metrics")]
    fn drain(&self, service: &str, state: Option<&dyn Fn() -> CircuitState>) {
        use std::sync::atomic::Ordering;
        struct Writing<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Writing<'_> {
            fn drop(&mut self) {
                self.0.store(0, Ordering::SeqCst);
            }
        }
        self.writer.store(this_thread(), Ordering::SeqCst);
        let _writing = Writing(&self.writer);
        let live = || !self.retired.load(Ordering::SeqCst);
        loop {
            let clear = self.owed_clear.swap(false, Ordering::SeqCst);
            let report = self.owed_report.swap(false, Ordering::SeqCst);
            if clear {
                breaker_state(service, None, &|| true);
            } else if report && live() {
                if let Some(state) = state {
                    breaker_state(service, Some(state()), &live);
                }
            } else {
                break;
            }
        }
    }

    #[cfg(feature = "metrics")]
    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // A recorder that panicked left nothing half-changed behind.
        self.write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// This thread, told apart from the others alive by the address of a thread-local.
#[cfg(feature = "metrics")]
fn this_thread() -> usize {
    thread_local!(static MARK: u8 = const { 0 });
    MARK.with(|mark| std::ptr::from_ref(mark) as usize)
}

/// `service`'s state gauge: 1 for `state`, 0 for the others; 0 for all when `None` (a
/// registry forgot the service's breaker). Written through a breaker's [`StateGauge`] after
/// each transition, and when a registry makes, replaces or forgets a breaker, which no
/// transition reports: else a dashboard would go on showing the state of a breaker that is
/// gone. Each series is written only while `live()`: a recorder may retire the breaker from
/// within a write.
#[cfg(feature = "metrics")]
fn breaker_state(service: &str, state: Option<CircuitState>, live: &dyn Fn() -> bool) {
    for each in STATES {
        if !live() {
            return;
        }
        let value = if Some(each) == state { 1.0 } else { 0.0 };
        metrics::gauge!(BREAKER_STATE, "service" => service.to_owned(), "state" => each.as_str())
            .set(value);
    }
}

/// A collector recorded an error; `describe` gives its type's name and its kind, and is only
/// called with the feature on (naming a type may take a lock).
#[inline(always)]
pub(crate) fn error_collected(describe: impl FnOnce() -> (&'static str, Option<ErrorKind>)) {
    #[cfg(feature = "metrics")]
    {
        let (error_type, kind) = describe();
        let code = kind.map_or("none", ErrorKind::code);
        metrics::counter!(ERRORS_COLLECTED, "type" => error_type, "code" => code).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = describe;
}

/// A collector raised a rate alert for errors of `error_type`.
#[inline(always)]
pub(crate) fn rate_alert(error_type: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(RATE_ALERTS, "type" => error_type.to_owned()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = error_type;
}

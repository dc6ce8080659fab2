//! State-transition listeners: what a breaker tells the application when it changes state.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use super::{CircuitState, TARGET};

/// A change of a [`CircuitBreaker`](crate::CircuitBreaker)'s state, as a listener set with
/// [`CircuitBreakerConfig::on_transition`](crate::CircuitBreakerConfig::on_transition) sees
/// it: the facts the breaker's `tracing` event for it reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Transition {
    /// The service the breaker guards.
    pub service: Arc<str>,
    /// The state it left.
    pub from: CircuitState,
    /// The state it entered.
    pub to: CircuitState,
    /// Why it changed.
    pub reason: TransitionReason,
    /// The share of failed calls in the window at the change (0 when empty). Probes are not
    /// counted in the window: out of half-open, it is the window that opened the breaker.
    pub failure_rate: f64,
    /// The share of slow calls in the window at the change, likewise.
    pub slow_call_rate: f64,
    /// The calls in the window at the change.
    pub calls: u64,
    /// Into [`CircuitState::Open`]: how long it stays open (growth, jitter and a server's
    /// `Retry-After` included). `None` for every other state.
    pub open_for: Option<Duration>,
}

/// Why a breaker changed state, in a [`Transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransitionReason {
    /// Closed to open: the share of failures reached the
    /// [failure rate](crate::CircuitBreakerConfig::failure_rate).
    FailureRate,
    /// Closed to open: the share of slow calls reached the
    /// [slow-call rate](crate::CircuitBreakerConfig::slow_calls).
    SlowCallRate,
    /// Open to half-open: the open period is over, and a call came to probe.
    OpenPeriodOver,
    /// Half-open to closed: every probe succeeded.
    ProbesSucceeded,
    /// Half-open to open: a probe failed.
    ProbeFailed,
    /// Half-open to open: slow probes reached the slow-call share of the probes.
    SlowProbes,
    /// Half-open to open: every probe was still out after
    /// [`max_half_open_wait`](crate::CircuitBreakerConfig::max_half_open_wait).
    ProbesTimedOut,
    /// [`CircuitBreaker::force_open`](crate::CircuitBreaker::force_open).
    ForcedOpen,
    /// [`CircuitBreaker::disable`](crate::CircuitBreaker::disable).
    Disabled,
    /// [`CircuitBreaker::reset`](crate::CircuitBreaker::reset).
    Reset,
}

impl TransitionReason {
    /// The reason's name in events: `"failure_rate"`, `"slow_call_rate"`,
    /// `"open_period_over"`, `"probes_succeeded"`, `"probe_failed"`, `"slow_probes"`,
    /// `"probes_timed_out"`, `"forced_open"`, `"disabled"`, `"reset"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransitionReason::FailureRate => "failure_rate",
            TransitionReason::SlowCallRate => "slow_call_rate",
            TransitionReason::OpenPeriodOver => "open_period_over",
            TransitionReason::ProbesSucceeded => "probes_succeeded",
            TransitionReason::ProbeFailed => "probe_failed",
            TransitionReason::SlowProbes => "slow_probes",
            TransitionReason::ProbesTimedOut => "probes_timed_out",
            TransitionReason::ForcedOpen => "forced_open",
            TransitionReason::Disabled => "disabled",
            TransitionReason::Reset => "reset",
        }
    }
}

impl fmt::Display for TransitionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Listener = Arc<dyn Fn(&Transition) + Send + Sync + 'static>;

/// A configuration's listeners, in the order added.
#[derive(Clone, Default)]
pub(crate) struct Listeners(Vec<Listener>);

impl fmt::Debug for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} listener(s)", self.0.len())
    }
}

impl Listeners {
    pub(crate) fn add(&mut self, listener: Listener) {
        self.0.push(listener);
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Calls each listener with `transition`. One that panics is reported as a `warn` event;
    /// the breaker, and the listeners after it, carry on.
    pub(crate) fn call(&self, transition: &Transition) {
        for listener in &self.0 {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| listener(transition))) {
                tracing::warn!(
                    target: TARGET,
                    service = %transition.service,
                    from = transition.from.as_str(),
                    to = transition.to.as_str(),
                    panic = crate::collector::panic_message(panic.as_ref()),
                    "a circuit breaker transition listener panicked; the breaker carries on"
                );
            }
        }
    }
}

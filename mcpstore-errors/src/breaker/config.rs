//! What a circuit breaker is told: its window, thresholds, open periods and clock.

use std::sync::Arc;
use std::time::Duration;

use super::listener::{Listeners, Transition};
use crate::{Clock, ErrorKind, KindSet, RandomSource, SystemClock, ThreadRandom};

/// The largest count window, in calls; a larger size is lowered to it (one byte per call).
pub const MAX_WINDOW_CALLS: u32 = 1 << 20;
/// The most buckets a time window is split into; more are lowered to it.
pub const MAX_WINDOW_BUCKETS: u32 = 1024;

/// Which recent calls a breaker looks at to decide whether to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlidingWindow {
    /// The last `n` calls, as a ring: call `n + 1` pushes out the first.
    Count(u32),
    /// The calls of the last `length`, counted in `buckets` equal slices that expire whole.
    ///
    /// Each call is counted in the slice it ends in, so every report reads the clock. While
    /// the window holds no failure and no slow call, a success is counted without taking the
    /// breaker's lock; a count window full of successes needs neither.
    Time {
        /// How far back the window reaches.
        length: Duration,
        /// Slices of the window; more is finer and costs a few bytes each.
        buckets: u32,
    },
}

/// How a [`CircuitBreaker`](crate::CircuitBreaker) decides: a builder whose defaults suit a
/// remote MCP service.
///
/// | setting | default |
/// |---|---|
/// | [`window`](Self::window) | the last 100 calls |
/// | [`minimum_calls`](Self::minimum_calls) | 20 |
/// | [`failure_rate`](Self::failure_rate) | 0.5 (50 %) |
/// | [`slow_calls`](Self::slow_calls) | off |
/// | [`open_duration`](Self::open_duration) | 10 s, then ×2 per repeated trip ([`open_growth`](Self::open_growth)) up to 5 min ([`max_open_duration`](Self::max_open_duration)), ±10 % ([`jitter`](Self::jitter)) |
/// | [`max_retry_after`](Self::max_retry_after) | 1 h |
/// | [`half_open_permits`](Self::half_open_permits) | 1 |
/// | [`max_half_open_wait`](Self::max_half_open_wait) | 60 s |
/// | [`failure_kinds`](Self::failure_kinds) | `Connection`, `ServiceTimeout`, `ServiceStart` |
/// | [`unclassified_is_failure`](Self::unclassified_is_failure) | true |
/// | [`on_transition`](Self::on_transition) | no listener |
///
/// Out-of-range values are brought into range, never rejected: rates into `[0, 1]` (NaN
/// keeps the default), sizes and permits at least 1, a window at most [`MAX_WINDOW_CALLS`]
/// calls or [`MAX_WINDOW_BUCKETS`] buckets, a growth factor into `[1, 1000]`.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{CircuitBreakerConfig, SlidingWindow};
///
/// let config = CircuitBreakerConfig::new()
///     .window(SlidingWindow::Time { length: Duration::from_secs(30), buckets: 10 })
///     .minimum_calls(10)
///     .failure_rate(0.25)
///     .slow_calls(Duration::from_secs(2), 0.8)
///     .open_duration(Duration::from_secs(5));
/// assert_eq!(config.failure_rate_threshold(), 0.25);
/// ```
#[derive(Debug, Clone)]
pub struct CircuitBreakerConfig {
    pub(crate) window: SlidingWindow,
    pub(crate) minimum_calls: u32,
    pub(crate) failure_rate: f64,
    pub(crate) slow_call_duration: Option<Duration>,
    pub(crate) slow_call_rate: f64,
    pub(crate) open_duration: Duration,
    pub(crate) max_open_duration: Duration,
    pub(crate) open_growth: f64,
    pub(crate) jitter: f64,
    pub(crate) max_retry_after: Duration,
    pub(crate) half_open_permits: u32,
    pub(crate) max_half_open_wait: Duration,
    pub(crate) failure_kinds: KindSet,
    pub(crate) unclassified_is_failure: bool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) listeners: Listeners,
}

/// The kinds that show a service is down: it cannot be reached, does not answer, or does not
/// start. Other kinds (a missing tool, bad configuration, a tool's own failure) show it is up.
pub const DEFAULT_FAILURE_KINDS: KindSet = KindSet::of(&[
    ErrorKind::Connection,
    ErrorKind::ServiceTimeout,
    ErrorKind::ServiceStart,
]);

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig {
            window: SlidingWindow::Count(100),
            minimum_calls: 20,
            failure_rate: 0.5,
            slow_call_duration: None,
            slow_call_rate: 1.0,
            open_duration: Duration::from_secs(10),
            max_open_duration: Duration::from_secs(300),
            open_growth: 2.0,
            jitter: 0.1,
            max_retry_after: Duration::from_secs(3600),
            half_open_permits: 1,
            max_half_open_wait: Duration::from_secs(60),
            failure_kinds: DEFAULT_FAILURE_KINDS,
            unclassified_is_failure: true,
            clock: Arc::new(SystemClock),
            random: Arc::new(ThreadRandom),
            listeners: Listeners::default(),
        }
    }
}

fn share(value: f64, otherwise: f64) -> f64 {
    if value.is_nan() {
        otherwise
    } else {
        value.clamp(0.0, 1.0)
    }
}

impl CircuitBreakerConfig {
    /// The defaults (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// Which recent calls are counted.
    pub fn window(mut self, window: SlidingWindow) -> Self {
        self.window = match window {
            SlidingWindow::Count(n) => SlidingWindow::Count(n.clamp(1, MAX_WINDOW_CALLS)),
            SlidingWindow::Time { length, buckets } => SlidingWindow::Time {
                length: length.max(Duration::from_millis(1)),
                buckets: buckets.clamp(1, MAX_WINDOW_BUCKETS),
            },
        };
        self
    }

    /// How many calls the window must hold before the breaker may open (at least 1; a count
    /// window never asks for more than its size).
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.minimum_calls = calls.max(1);
        self
    }

    /// The share of failed calls in the window, from 0 to 1, at or above which the breaker
    /// opens: 0.6 opens at 60 %. At least one failure is needed whatever the share.
    pub fn failure_rate(mut self, share_of_calls: f64) -> Self {
        self.failure_rate = share(share_of_calls, self.failure_rate);
        self
    }

    /// A call lasting `duration` or more is slow; the breaker opens when the share of slow
    /// calls reaches `share_of_calls`. Slow-call tracking reads the clock twice per call.
    pub fn slow_calls(mut self, duration: Duration, share_of_calls: f64) -> Self {
        self.slow_call_duration = Some(duration);
        self.slow_call_rate = share(share_of_calls, self.slow_call_rate);
        self
    }

    /// How long the breaker stays open after its first trip.
    pub fn open_duration(mut self, duration: Duration) -> Self {
        self.open_duration = duration;
        self
    }

    /// The longest open period that growth and jitter may reach.
    pub fn max_open_duration(mut self, duration: Duration) -> Self {
        self.max_open_duration = duration;
        self
    }

    /// Each trip that follows a failed probe opens for `factor` times longer than the last.
    pub fn open_growth(mut self, factor: f64) -> Self {
        if !factor.is_nan() {
            self.open_growth = factor.clamp(1.0, 1000.0);
        }
        self
    }

    /// Each open period is moved by a random ±`fraction` of itself (0 for none, at most 1),
    /// so breakers that tripped together do not probe together.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = share(fraction, self.jitter);
        self
    }

    /// A server-suggested delay (`Retry-After`) longer than the open period keeps the breaker
    /// open that long, up to this bound.
    pub fn max_retry_after(mut self, bound: Duration) -> Self {
        self.max_retry_after = bound;
        self
    }

    /// How many probe calls half-open lets through (at least 1); all must succeed to close. A
    /// failed probe opens the breaker again; slow ones do once they reach the
    /// [slow-call share](Self::slow_calls) of the probes, as slow calls open a closed breaker.
    pub fn half_open_permits(mut self, permits: u32) -> Self {
        self.half_open_permits = permits.max(1);
        self
    }

    /// How long half-open may wait for its probes to report, from the last one handed out; a
    /// caller that arrives later, with every permit still out, opens the breaker again, so a
    /// hung probe cannot keep it half-open for ever.
    pub fn max_half_open_wait(mut self, wait: Duration) -> Self {
        self.max_half_open_wait = wait;
        self
    }

    /// The kinds (and their sub-kinds) that count as failures; errors of other kinds count
    /// as successes, since the service answered. [`ErrorKind::CircuitOpen`] (from a breaker
    /// nested inside the call) is never counted.
    pub fn failure_kinds(mut self, kinds: KindSet) -> Self {
        self.failure_kinds = kinds;
        self
    }

    /// Whether an error without a kind counts as a failure.
    pub fn unclassified_is_failure(mut self, counts: bool) -> Self {
        self.unclassified_is_failure = counts;
        self
    }

    /// The clock that times open periods, windows and slow calls. It is read outside the
    /// breaker's lock, and outside a registry's, so it may itself ask the breaker or the
    /// registry for their state. That holds for a clock given to one service by
    /// [`BreakerRegistry::configure`](crate::BreakerRegistry::configure) too: the registry
    /// reads every clock an insertion may read before it takes its lock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source of the open period's jitter. It is drawn from under the breaker's lock,
    /// when the breaker opens: it must not call into the same breaker, which would wait for
    /// itself.
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Calls `listener` with every [`Transition`] of a breaker made with this configuration:
    /// a trip by the failure or slow-call rate, half-open after the open period, a probe's
    /// verdict, [`force_open`](crate::CircuitBreaker::force_open),
    /// [`disable`](crate::CircuitBreaker::disable) and [`reset`](crate::CircuitBreaker::reset)
    /// (resilience4j's `onStateTransition`). Each call adds one; they are called in the order
    /// added. Without one, a transition costs nothing more and the success path is unchanged.
    ///
    /// Called once per transition, in the order the breaker made them, and never while the
    /// breaker's lock (or a registry's) is held: the listener may read the breaker, call
    /// through it, or change a registry. The transitions are queued under the lock, and after
    /// it one thread at a time delivers the queue: the thread that made the transition, or
    /// the one already delivering (another caller, or this listener calling back, whose
    /// transition it delivers once the listener returns). So one breaker's listener never
    /// runs twice at once, each `from` is the previous `to`, and a call that made a
    /// transition may return before the listener has run when another thread is delivering.
    /// A listener that panics is reported as a `warn` event; the breaker has changed state
    /// all the same, and the next listeners and transitions are delivered. Keep it quick:
    /// while it runs, the thread delivering waits for it. A listener that holds its own
    /// breaker or registry keeps it alive for ever (a reference cycle): hold a `Weak`.
    ///
    /// A [`BreakerRegistry`](crate::BreakerRegistry) gives its default configuration's
    /// listeners to every breaker it makes with it, so one listener hears every service
    /// (told apart by [`Transition::service`]). A service given its own configuration by
    /// [`configure`](crate::BreakerRegistry::configure) has that configuration's listeners
    /// only: build it from the default (`base.clone().window(..)`) to keep them.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use mcpstore_errors::{
    ///     CircuitBreaker, CircuitBreakerConfig, CircuitState, McpStoreError, SlidingWindow,
    ///     TransitionReason,
    /// };
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&seen);
    /// let breaker = CircuitBreaker::new(
    ///     "fs",
    ///     CircuitBreakerConfig::new()
    ///         .window(SlidingWindow::Count(2))
    ///         .minimum_calls(2)
    ///         .on_transition(move |t| sink.lock().unwrap().push((t.from, t.to, t.reason))),
    /// );
    ///
    /// for _ in 0..2 {
    ///     let _ = breaker.call(|| Err::<(), _>(McpStoreError::connection("refused")));
    /// }
    /// breaker.reset();
    /// assert_eq!(
    ///     *seen.lock().unwrap(),
    ///     [
    ///         (CircuitState::Closed, CircuitState::Open, TransitionReason::FailureRate),
    ///         (CircuitState::Open, CircuitState::Closed, TransitionReason::Reset),
    ///     ]
    /// );
    /// ```
    pub fn on_transition(mut self, listener: impl Fn(&Transition) + Send + Sync + 'static) -> Self {
        self.listeners.add(Arc::new(listener));
        self
    }

    /// The failure-rate threshold, a share from 0 to 1.
    pub fn failure_rate_threshold(&self) -> f64 {
        self.failure_rate
    }

    /// The configured window.
    pub fn sliding_window(&self) -> SlidingWindow {
        self.window
    }

    /// Whether an error of `kind` (`None`: no kind) counts as a failure; `None` in the result
    /// means the call is not counted at all.
    pub fn classify(&self, kind: Option<ErrorKind>) -> Option<bool> {
        match kind {
            Some(ErrorKind::CircuitOpen) => None,
            Some(kind) => Some(self.failure_kinds.matches(kind)),
            None => Some(self.unclassified_is_failure),
        }
    }

    /// The open period after trip number `trip` (1 for the first), before `Retry-After`.
    pub(crate) fn open_period(&self, trip: u32) -> Duration {
        let exponent = i32::try_from(trip.saturating_sub(1)).unwrap_or(i32::MAX);
        let max = self.max_open_duration.as_secs_f64();
        let base = self.open_duration.as_secs_f64();
        let grown = base * self.open_growth.powi(exponent);
        // NaN from a zero period times a growth power that overflowed: the period stays zero.
        let grown = if grown.is_nan() { base } else { grown }.min(max);
        let jittered = match self.jitter {
            0.0 => grown,
            j => grown * (1.0 + j * (2.0 * crate::random::unit_draw(&*self.random) - 1.0)),
        };
        Duration::try_from_secs_f64(jittered.clamp(0.0, max)).unwrap_or(self.max_open_duration)
    }
}

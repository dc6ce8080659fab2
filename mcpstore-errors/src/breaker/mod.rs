//! Circuit breakers: stop calling a service that keeps failing, and probe it before resuming.

mod config;
mod listener;
mod registry;
mod tally;
mod window;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use config::{
    CircuitBreakerConfig, DEFAULT_FAILURE_KINDS, MAX_WINDOW_BUCKETS, MAX_WINDOW_CALLS,
    SlidingWindow,
};
pub use listener::{Transition, TransitionReason};
pub use registry::{BreakerRegistry, DEFAULT_MAX_SERVICES, breakers};
/// A `#[circuit_breaker]` call site's last breaker, per thread.
pub type BreakerSite = crate::site::Site<CircuitBreaker>;
/// A breaker borrowed from a call site's cache for one call.
pub type SiteBreaker = crate::site::SiteHandle<CircuitBreaker>;

use crate::{Classify, Clock, ErrorKind, McpStoreError};
use tally::Tally;
use window::{Outcome, Window};

const TARGET: &str = "mcpstore_errors::breaker";

/// Where a [`CircuitBreaker`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls go through and are counted.
    Closed,
    /// Calls are refused with [`ErrorKind::CircuitOpen`] until the open period ends.
    Open,
    /// A bounded number of probe calls go through; the rest are refused.
    HalfOpen,
    /// Set by an operator: every call is refused until [`CircuitBreaker::reset`]. A refusal's
    /// retry-after is then the longest open period
    /// ([`CircuitBreakerConfig::max_open_duration`]): a hint how often to look again, since no
    /// time ends this state.
    ForcedOpen,
    /// Set by an operator: every call goes through and nothing is counted.
    Disabled,
}

const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;
const FORCED_OPEN: u64 = 3;
const DISABLED: u64 = 4;
const STATE_BITS: u64 = 0b111;
/// Closed with a full window of plain successes: a success changes nothing.
const CLEAN: u64 = 0b1000;
const GENERATION_SHIFT: u32 = 4;

impl CircuitState {
    /// The state's name in events and error details: `"closed"`, `"open"`, `"half_open"`,
    /// `"forced_open"`, `"disabled"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
            CircuitState::ForcedOpen => "forced_open",
            CircuitState::Disabled => "disabled",
        }
    }

    const fn bits(self) -> u64 {
        match self {
            CircuitState::Closed => CLOSED,
            CircuitState::Open => OPEN,
            CircuitState::HalfOpen => HALF_OPEN,
            CircuitState::ForcedOpen => FORCED_OPEN,
            CircuitState::Disabled => DISABLED,
        }
    }
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A circuit breaker for one service.
///
/// Closed, it lets calls through and counts their outcomes in a [`SlidingWindow`]; when the
/// window holds at least the minimum number of calls and the share of failures (or of slow
/// calls) reaches its threshold, it opens. Open, it refuses calls at once with a
/// [`McpStoreError::circuit_open`] error whose retry-after is the time left open (forced
/// open, see [`CircuitState::ForcedOpen`]). When that
/// time is over it turns half-open and lets a bounded number of probes through: if all
/// succeed it closes, if one fails, or slow ones reach the slow-call share of the probes, it
/// opens again for longer (see [`CircuitBreakerConfig::open_growth`]).
///
/// Which errors count as failures is decided by their [`ErrorKind`]
/// ([`CircuitBreakerConfig::failure_kinds`]): by default a connection error, a timeout or a
/// failed start does; a missing tool, a configuration error or a tool's own failure does
/// not, since the service answered.
///
/// Cloning is cheap (a reference count); clones are the same breaker. Every transition is
/// a `tracing` event with target `mcpstore_errors::breaker`, and is handed to the
/// configuration's listeners ([`CircuitBreakerConfig::on_transition`]).
///
/// # Calling through a breaker
///
/// [`try_acquire`](Self::try_acquire) before the call, then report the outcome on the
/// [`Permit`]. A permit dropped without a report (a cancelled future, a panic) counts
/// nothing and gives a half-open probe slot back. [`call`](Self::call) does both for a
/// closure, [`call_async`](Self::call_async) for a closure that makes a future (as
/// `#[circuit_breaker]` does on an `async fn`); their error type is any [`FromCircuitOpen`]
/// type, `std::io::Error` included.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{
///     CircuitBreaker, CircuitBreakerConfig, CircuitState, ErrorKind, ManualClock, McpStoreError,
///     SlidingWindow,
/// };
///
/// let clock = Arc::new(ManualClock::new());
/// let breaker = CircuitBreaker::new(
///     "fs",
///     CircuitBreakerConfig::new()
///         .window(SlidingWindow::Count(4))
///         .minimum_calls(4)
///         .failure_rate(0.5)
///         .open_duration(Duration::from_secs(30))
///         .jitter(0.0)
///         .clock(clock.clone()),
/// );
///
/// let down = || Err::<(), _>(McpStoreError::connection("refused"));
/// for _ in 0..2 {
///     breaker.call(|| Ok::<_, McpStoreError>(()))?;
///     assert!(breaker.call(down).is_err());
/// }
/// assert_eq!(breaker.state(), CircuitState::Open); // 2 failures in 4 calls: 50 %
///
/// let refused = breaker.call(|| Ok::<_, McpStoreError>(())).unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::CircuitOpen);
/// assert_eq!(refused.retry_after(), Some(Duration::from_secs(30)));
///
/// clock.advance(Duration::from_secs(30));
/// breaker.call(|| Ok::<_, McpStoreError>(()))?; // the probe succeeds
/// assert_eq!(breaker.state(), CircuitState::Closed);
/// # Ok::<(), McpStoreError>(())
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

struct Inner {
    service: Arc<str>,
    /// `generation << 4 | CLEAN? | state`, written under `core`'s lock, read without it.
    word: AtomicU64,
    core: Mutex<Core>,
    config: CircuitBreakerConfig,
    rejected: AtomicU64,
    /// Where permits' start times count from.
    origin: Instant,
    /// The registry tick of its last use, when a registry keeps it (for eviction).
    last_used: AtomicU64,
    /// Writes the service's state gauge (feature `metrics`).
    gauge: crate::metrics::StateGauge,
    /// Handed out by a full registry instead of kept: records no metric.
    unkept: bool,
    /// The configuration's rates, converted once.
    failure_ppm: u64,
    slow_call_ppm: u64,
    /// A time window's successes counted without the lock; the slice is `Core::tally_slice`.
    tally: Tally,
    /// A thread is handing `Core::pending` to the listeners; another, or a listener calling
    /// back, only queues.
    delivering: AtomicBool,
}

struct Core {
    state: CircuitState,
    /// Bumped by every transition, so a permit from an earlier state cannot report into a
    /// later one.
    generation: u64,
    window: Window,
    /// Trips since the breaker last closed.
    trips: u32,
    open_until: Instant,
    /// When half-open began or last handed out a probe: what a hung probe's wait counts from.
    probe_sent: Instant,
    probes_left: u32,
    probes_passed: u32,
    /// Probes that succeeded but were slow, this half-open period.
    probes_slow: u32,
    /// The time slice the open [`Tally`] counts for.
    tally_slice: u128,
    /// The latest time used under the lock: a reading taken before it, by a thread that then
    /// waited for it, is moved up to this one (see [`Inner::lock_at_now`]).
    latest: Instant,
    /// Transitions for the listeners, queued under the lock so in the order made; empty when
    /// there is no listener.
    pending: VecDeque<Transition>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("service", &self.inner.service)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl CircuitBreaker {
    /// A closed breaker for `service`.
    pub fn new(service: impl Into<Arc<str>>, config: CircuitBreakerConfig) -> Self {
        let now = config.clock.now();
        Self::made(service.into(), config, CircuitState::Closed, false, now)
    }

    /// [`new`](Self::new), made at `now` (a reading of its clock taken before a lock).
    pub(crate) fn new_at(service: Arc<str>, config: CircuitBreakerConfig, now: Instant) -> Self {
        Self::made(service, config, CircuitState::Closed, false, now)
    }

    /// A disabled breaker a full registry hands out instead of keeping one: it records no
    /// metric (no gauge, no transition count), so a flood of services cannot flood the
    /// recorder; its transitions (an operator forcing it open) are still `tracing` events.
    pub(crate) fn unkept(service: &str, config: CircuitBreakerConfig) -> Self {
        let now = config.clock.now();
        let breaker = Self::made(service.into(), config, CircuitState::Disabled, true, now);
        breaker.inner.gauge.retire(service, false);
        breaker
    }

    fn made(
        service: Arc<str>,
        config: CircuitBreakerConfig,
        state: CircuitState,
        unkept: bool,
        now: Instant,
    ) -> Self {
        let core = Core {
            state,
            generation: 0,
            window: Window::new(config.window, now),
            trips: 0,
            open_until: now,
            probe_sent: now,
            probes_left: 0,
            probes_passed: 0,
            probes_slow: 0,
            tally_slice: 0,
            latest: now,
            pending: VecDeque::new(),
        };
        CircuitBreaker {
            inner: Arc::new(Inner {
                service,
                word: AtomicU64::new(state.bits()),
                core: Mutex::new(core),
                rejected: AtomicU64::new(0),
                origin: now,
                last_used: AtomicU64::new(0),
                gauge: crate::metrics::StateGauge::default(),
                unkept,
                failure_ppm: ppm(config.failure_rate),
                slow_call_ppm: ppm(config.slow_call_rate),
                tally: Tally::default(),
                delivering: AtomicBool::new(false),
                config,
            }),
        }
    }

    /// The service this breaker guards.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.inner.config
    }

    /// Asks to make one call: a [`Permit`] to report its outcome on, or the
    /// [`ErrorKind::CircuitOpen`] error to return at once.
    ///
    /// Closed, this reads one atomic and nothing else (plus the clock when slow calls are
    /// tracked).
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, McpStoreError> {
        let word = self.inner.word.load(Ordering::Acquire);
        match word & STATE_BITS {
            CLOSED | DISABLED => Ok(Permit {
                inner: &self.inner,
                tag: Permit::tag(word >> GENERATION_SHIFT, false),
                started: self.inner.start_time(),
            }),
            _ => self.inner.acquire_slow(),
        }
    }

    /// Runs `call` through the breaker: refused with the [`ErrorKind::CircuitOpen`] error
    /// made into `E` (see [`FromCircuitOpen`]), or run and its outcome recorded by the
    /// error's kind.
    pub fn call<T, E>(&self, call: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        E: Classify + FromCircuitOpen,
    {
        let permit = self.try_acquire().map_err(refused)?;
        let outcome = call();
        permit.record_result(&outcome);
        outcome
    }

    /// [`call`](Self::call) for async code: asks for a permit, then builds the future with
    /// `call` and awaits it, and records its outcome as `#[circuit_breaker]` on an `async fn`
    /// does. Refused, it fails with the [`ErrorKind::CircuitOpen`] error made into `E`,
    /// without calling `call`.
    ///
    /// It takes a closure that makes the future, as [`call`](Self::call) and
    /// [`RetryManager::execute_async`](crate::RetryManager::execute_async) do, rather than a
    /// future (failsafe-rs's form): a refused call then builds nothing, and a future made
    /// beforehand still fits (`|| future`). The duration a slow call is judged by runs from
    /// the permit, taken at the first poll, to the future's end.
    ///
    /// Dropped before it finishes (a caller's timeout, a `select!`), the call counts neither
    /// as a success nor as a failure, and a half-open probe is given back, so the next call
    /// can probe.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use mcpstore_errors::{
    ///     CircuitBreaker, CircuitBreakerConfig, CircuitState, ErrorKind, ManualClock, McpStoreError,
    ///     SlidingWindow,
    /// };
    ///
    /// async fn fetch(up: bool) -> Result<&'static str, McpStoreError> {
    ///     if up { Ok("data") } else { Err(McpStoreError::connection("refused")) }
    /// }
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # runtime.block_on(async {
    /// let clock = Arc::new(ManualClock::new());
    /// let breaker = CircuitBreaker::new(
    ///     "fs",
    ///     CircuitBreakerConfig::new()
    ///         .window(SlidingWindow::Count(2))
    ///         .minimum_calls(2)
    ///         .failure_rate(0.5)
    ///         .open_duration(Duration::from_secs(30))
    ///         .jitter(0.0)
    ///         .clock(clock.clone()),
    /// );
    ///
    /// assert_eq!(breaker.call_async(|| fetch(true)).await?, "data");
    /// assert!(breaker.call_async(|| async { fetch(false).await }).await.is_err());
    /// assert_eq!(breaker.state(), CircuitState::Open); // 1 failure in 2 calls
    ///
    /// let refused = breaker.call_async(|| fetch(true)).await.unwrap_err();
    /// assert_eq!(refused.kind(), ErrorKind::CircuitOpen);
    ///
    /// clock.advance(Duration::from_secs(30));
    /// breaker.call_async(|| fetch(true)).await?; // the probe succeeds
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// # Ok::<(), McpStoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn call_async<T, E, F, Fut>(&self, call: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Classify + FromCircuitOpen,
    {
        let permit = self.try_acquire().map_err(refused)?;
        // Dropped here unreported when this future is: counts nothing, frees a probe.
        let outcome = call().await;
        permit.record_result(&outcome);
        outcome
    }

    /// Whether the breaker is closed, read from its published state word: no lock and no
    /// clock (only an open breaker's state depends on the time), so a registry can ask it of
    /// every breaker while it holds its own lock.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.word.load(Ordering::Acquire) & STATE_BITS == CLOSED
    }

    /// Whether the breaker is closed with no failure and no slow call in its window: one a
    /// full registry forgets before others (a call may be about to trip another). `false`
    /// when its lock is busy (it is in use): waits for no lock, so a registry can ask while
    /// it holds its own.
    pub(crate) fn is_quiet(&self, now: &mut ClockReadings) -> bool {
        // A count window's totals do not depend on the time: no clock read for it. A time
        // window's reading is taken before the lock, which the clock may ask for.
        let now = match self.inner.config.window {
            SlidingWindow::Count(_) => self.inner.origin,
            SlidingWindow::Time { .. } => now.of(&self.inner.config.clock),
        };
        let Some(mut core) = self.inner.try_lock() else {
            return false;
        };
        let totals = core.window.totals(now);
        core.state == CircuitState::Closed && totals.failures == 0 && totals.slow == 0
    }

    /// Whether the breaker is open with its open period over and no probe let through
    /// since, or half-open with every probe given back (dropped unreported, as a cancelled
    /// call does): its service may be one no one calls any more, whose breaker a full
    /// registry may forget rather than guard no new service. `false` when its lock is busy.
    pub(crate) fn is_idle_open(&self, now: &mut ClockReadings) -> bool {
        !self.is_closed() && self.lock_if_forgettable(now).is_some()
    }

    /// The breaker's lock, if it is free and the breaker may be forgotten: closed, or idle
    /// open (see [`is_idle_open`](Self::is_idle_open)). A registry removes the breaker while
    /// holding it, so that no call trips it, or takes its probe, between the check and the
    /// removal. Waits for no lock.
    fn lock_if_forgettable(&self, now: &mut ClockReadings) -> Option<MutexGuard<'_, Core>> {
        // Read before the lock, which the clock may ask for.
        let now = now.of(&self.inner.config.clock);
        let core = self.inner.try_lock()?;
        let forgettable = match core.state {
            CircuitState::Closed => true,
            CircuitState::Open => now >= core.open_until,
            CircuitState::HalfOpen => core.probes_left >= self.inner.config.half_open_permits,
            _ => false,
        };
        forgettable.then_some(core)
    }

    /// The current state. An open breaker whose open period is over is reported half-open:
    /// the next call will be let through as a probe.
    pub fn state(&self) -> CircuitState {
        let (core, now) = self.inner.lock_at_now();
        match core.state {
            CircuitState::Open if now >= core.open_until => CircuitState::HalfOpen,
            state => state,
        }
    }

    /// Refuses every call until [`reset`](Self::reset), whatever the outcomes.
    pub fn force_open(&self) {
        self.inner
            .operate(CircuitState::ForcedOpen, TransitionReason::ForcedOpen);
    }

    /// Lets every call through and counts nothing until [`reset`](Self::reset).
    pub fn disable(&self) {
        self.inner
            .operate(CircuitState::Disabled, TransitionReason::Disabled);
    }

    /// Closes the breaker with an empty window, forgetting past trips.
    pub fn reset(&self) {
        self.inner
            .operate(CircuitState::Closed, TransitionReason::Reset);
    }

    /// A snapshot of the state and the window's counts.
    pub fn metrics(&self) -> BreakerMetrics {
        let (mut core, now) = self.inner.lock_window();
        let totals = core.window.totals(now);
        let state = match core.state {
            CircuitState::Open if now >= core.open_until => CircuitState::HalfOpen,
            state => state,
        };
        let trips = core.trips;
        // An open period that is over reads half-open, with no time left to report.
        let open_remaining = (state == CircuitState::Open).then(|| core.open_until - now);
        self.inner.unlock_window(core);
        BreakerMetrics {
            state,
            calls: totals.calls,
            failures: totals.failures,
            slow_calls: totals.slow,
            failure_rate: rate(totals.failures, totals.calls),
            slow_call_rate: rate(totals.slow, totals.calls),
            trips,
            rejected: self.inner.rejected.load(Ordering::Relaxed),
            open_remaining,
        }
    }
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A breaker's counts at one moment, from [`CircuitBreaker::metrics`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// The state, as [`CircuitBreaker::state`] reports it.
    pub state: CircuitState,
    /// Calls in the window.
    pub calls: u64,
    /// Failed calls in the window.
    pub failures: u64,
    /// Slow calls in the window.
    pub slow_calls: u64,
    /// `failures / calls`, 0 when the window is empty.
    pub failure_rate: f64,
    /// `slow_calls / calls`, 0 when the window is empty.
    pub slow_call_rate: f64,
    /// Trips since the breaker last closed.
    pub trips: u32,
    /// Calls refused since the breaker was made.
    pub rejected: u64,
    /// While open: the time left before a probe is let through.
    pub open_remaining: Option<Duration>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Core> {
        // Of user code, only the random source runs under the lock (the clock is read before
        // it, see `lock_at_now`), and a panic in it leaves no field half-changed.
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the core, with the time to act at: read before the lock, so that a user's clock
    /// that calls back into this breaker does not wait for itself, and never earlier than a
    /// time already used under it, so that the times recorded do not go backwards.
    fn lock_at_now(&self) -> (MutexGuard<'_, Core>, Instant) {
        let read = self.config.clock.now();
        let mut core = self.lock();
        let now = read.max(core.latest);
        core.latest = now;
        (core, now)
    }

    /// Locks the core to read or change the window: a time window's tally is closed first and
    /// its successes moved in, so that they count before whatever happens under the lock.
    /// Pair with [`unlock_window`](Self::unlock_window).
    /// The lock if it is free (a poisoned one recovered, as by [`lock`](Self::lock)).
    fn try_lock(&self) -> Option<MutexGuard<'_, Core>> {
        match self.core.try_lock() {
            Ok(core) => Some(core),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    fn lock_window(&self) -> (MutexGuard<'_, Core>, Instant) {
        let (mut core, now) = self.lock_at_now();
        if self.tally.is_open() {
            let tallied = self.tally.take();
            if tallied > 0 {
                let slice = core.tally_slice;
                core.window.add_successes(slice, tallied, now);
            }
        }
        (core, now)
    }

    /// Opens the tally again if successes may be counted without the lock: closed, no
    /// slow-call timing, a time window with no failure and no slow call. Then unlocks.
    fn unlock_window(&self, mut core: MutexGuard<'_, Core>) {
        if core.state == CircuitState::Closed && self.config.slow_call_duration.is_none() {
            if let Some((slice, end)) = core.window.tally_slice() {
                let until = end.saturating_duration_since(self.origin).as_nanos();
                if let Ok(until @ 1..) = u64::try_from(until) {
                    core.tally_slice = slice;
                    self.tally.open(until);
                }
            }
        }
        drop(core);
    }

    /// A success that changes the window: into a time window's open tally without the lock,
    /// else reported under it.
    #[inline(never)]
    fn report_success(&self, permit: &Permit<'_>) {
        if self.config.slow_call_duration.is_none()
            && self.tally.is_open()
            && self.tally_success(permit)
        {
            return;
        }
        self.report(permit, Some(false), None);
    }

    /// Counts a plain success of `permit` into the open tally; `false`: report it under the
    /// lock.
    #[inline]
    fn tally_success(&self, permit: &Permit<'_>) -> bool {
        let elapsed = self
            .config
            .clock
            .now()
            .saturating_duration_since(self.origin);
        let at = elapsed
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(elapsed.subsec_nanos()));
        self.tally.add(at, || {
            let word = self.word.load(Ordering::Acquire);
            word & STATE_BITS == CLOSED
                && (word >> GENERATION_SHIFT) & GENERATION_MASK == permit.generation()
        })
    }

    /// Nanoseconds since `origin` when slow calls are tracked, else 0.
    #[inline]
    fn start_time(&self) -> u64 {
        match self.config.slow_call_duration {
            Some(_) => self.nanos_since_origin(),
            None => 0,
        }
    }

    /// [`start_time`](Self::start_time) at a reading already taken (under the lock, where
    /// the clock must not be read).
    fn start_time_at(&self, now: Instant) -> u64 {
        match self.config.slow_call_duration {
            Some(_) => self.nanos_at(now),
            None => 0,
        }
    }

    fn nanos_since_origin(&self) -> u64 {
        self.nanos_at(self.config.clock.now())
    }

    /// Saturating: 2^64 ns is over 584 years.
    fn nanos_at(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Writes the state gauge with the state as it is now, not as a transition left it: a
    /// later transition may have been reported first.
    fn report_state(&self) {
        self.gauge.report(&self.service, || self.lock().state);
    }

    fn publish(&self, core: &Core) {
        let clean = core.state == CircuitState::Closed && core.window.is_full_of_successes();
        let word =
            core.generation << GENERATION_SHIFT | if clean { CLEAN } else { 0 } | core.state.bits();
        self.word.store(word, Ordering::Release);
    }

    /// Moves to `to`; the transition is queued for the listeners, if any, under the lock.
    fn change(
        &self,
        core: &mut Core,
        to: CircuitState,
        now: Instant,
        reason: TransitionReason,
        open_for: Option<Duration>,
    ) -> Transition {
        let from = core.state;
        let totals = core.window.totals(now);
        core.state = to;
        core.generation = core.generation.wrapping_add(1) & (u64::MAX >> GENERATION_SHIFT);
        match to {
            CircuitState::Closed => {
                core.trips = 0;
                core.window.clear(now);
            }
            CircuitState::HalfOpen => {
                core.probe_sent = now;
                core.probes_left = self.config.half_open_permits;
                core.probes_passed = 0;
                core.probes_slow = 0;
            }
            _ => {}
        }
        self.publish(core);
        let transition = Transition {
            service: self.service.clone(),
            from,
            to,
            reason,
            failure_rate: rate(totals.failures, totals.calls),
            slow_call_rate: rate(totals.slow, totals.calls),
            calls: totals.calls,
            open_for,
        };
        if !self.config.listeners.is_empty() {
            core.pending.push_back(transition.clone());
        }
        transition
    }

    fn trip(
        &self,
        core: &mut Core,
        now: Instant,
        retry_after: Option<Duration>,
        reason: TransitionReason,
    ) -> Transition {
        // The random draw comes before the first change: a panicking source changes nothing.
        let trips = core.trips.saturating_add(1);
        let period = self.config.open_period(trips);
        core.trips = trips;
        let asked = retry_after.map_or(Duration::ZERO, |d| d.min(self.config.max_retry_after));
        let open_for = period.max(asked);
        core.open_until = later(now, open_for);
        self.change(core, CircuitState::Open, now, reason, Some(open_for))
    }

    fn operate(&self, to: CircuitState, reason: TransitionReason) {
        let transition = {
            let (mut core, now) = self.lock_window();
            let transition = self.change(&mut core, to, now, reason, None);
            self.unlock_window(core);
            transition
        };
        self.emit(&transition);
    }

    /// Reports `t` (made under the lock, now released) as a metric and an event, then
    /// delivers the listeners' queue.
    fn emit(&self, t: &Transition) {
        if !self.unkept {
            crate::metrics::breaker_transition(&self.service, t.from, t.to);
        }
        self.report_state();
        let open_for_ms = t.open_for.map(crate::clock::millis_field);
        match t.to {
            CircuitState::Open | CircuitState::ForcedOpen => tracing::warn!(
                target: TARGET,
                service = %self.service,
                from = t.from.as_str(),
                to = t.to.as_str(),
                reason = t.reason.as_str(),
                failure_rate = t.failure_rate,
                slow_call_rate = t.slow_call_rate,
                calls = t.calls,
                open_for_ms,
                "circuit breaker opened"
            ),
            _ => tracing::info!(
                target: TARGET,
                service = %self.service,
                from = t.from.as_str(),
                to = t.to.as_str(),
                reason = t.reason.as_str(),
                failure_rate = t.failure_rate,
                slow_call_rate = t.slow_call_rate,
                calls = t.calls,
                "circuit breaker changed state"
            ),
        }
        self.deliver();
    }

    /// Hands the queued transitions to the listeners, outside the lock, unless another
    /// thread (or this one, further up, when a listener calls back) is: that one delivers
    /// them after its current one, so they arrive one at a time and in order.
    fn deliver(&self) {
        if self.config.listeners.is_empty() {
            return;
        }
        // A transition queued after the deliverer found the queue empty, but before it
        // stopped, is delivered by the thread that queued it: hence the second look.
        while !self.lock().pending.is_empty()
            && self
                .delivering
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            struct Delivered<'a>(&'a AtomicBool);
            impl Drop for Delivered<'_> {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::Release);
                }
            }
            let _delivered = Delivered(&self.delivering);
            loop {
                // A statement of its own: the lock is released before the listener runs.
                let next = self.lock().pending.pop_front();
                let Some(transition) = next else { break };
                self.config.listeners.call(&transition);
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn acquire_slow(&self) -> Result<Permit<'_>, McpStoreError> {
        let mut transitions: [Option<Transition>; 2] = [None, None];
        let result = {
            let (mut core, now) = self.lock_at_now();
            if core.state == CircuitState::Open && now >= core.open_until {
                transitions[0] = Some(self.change(
                    &mut core,
                    CircuitState::HalfOpen,
                    now,
                    TransitionReason::OpenPeriodOver,
                    None,
                ));
            }
            match core.state {
                CircuitState::Closed | CircuitState::Disabled => Ok(self.permit(&core, false, now)),
                CircuitState::Open => Err((CircuitState::Open, core.open_until - now)),
                CircuitState::HalfOpen if core.probes_left > 0 => {
                    core.probes_left -= 1;
                    // A probe handed out again (one before it was dropped) gets the whole wait.
                    core.probe_sent = now;
                    Ok(self.permit(&core, true, now))
                }
                CircuitState::HalfOpen => {
                    let deadline = later(core.probe_sent, self.config.max_half_open_wait);
                    if now >= deadline {
                        // Every probe is still out after the longest wait: assume they hung.
                        let reason = TransitionReason::ProbesTimedOut;
                        transitions[1] = Some(self.trip(&mut core, now, None, reason));
                        Err((CircuitState::Open, core.open_until - now))
                    } else {
                        Err((CircuitState::HalfOpen, deadline - now))
                    }
                }
                CircuitState::ForcedOpen => {
                    Err((CircuitState::ForcedOpen, self.config.max_open_duration))
                }
            }
        };
        for transition in transitions.iter().flatten() {
            self.emit(transition);
        }
        result.map_err(|(state, remaining)| {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            McpStoreError::circuit_open(&*self.service, state, remaining)
        })
    }

    /// A permit started at `now`, the reading the lock was taken at: a user's clock is never
    /// read under the lock.
    fn permit(&self, core: &Core, probe: bool, now: Instant) -> Permit<'_> {
        Permit {
            inner: self,
            tag: Permit::tag(core.generation, probe),
            started: self.start_time_at(now),
        }
    }

    /// Reports a call; `outcome` `None` means not counted.
    #[inline]
    fn report(&self, permit: &Permit<'_>, outcome: Option<bool>, retry_after: Option<Duration>) {
        let slow = match self.config.slow_call_duration {
            Some(limit) => {
                // In nanoseconds, as the limit may be given: a coarser unit would misjudge a
                // call within one unit of the limit.
                let elapsed = self.nanos_since_origin().saturating_sub(permit.started);
                Duration::from_nanos(elapsed) >= limit
            }
            _ => false,
        };
        let word = self.word.load(Ordering::Acquire);
        if word & STATE_BITS == DISABLED || (outcome.is_none() && !permit.is_probe()) {
            return;
        }
        if outcome == Some(false)
            && !slow
            && !permit.is_probe()
            && word & (CLEAN | STATE_BITS) == CLEAN | CLOSED
            && (word >> GENERATION_SHIFT) & GENERATION_MASK == permit.generation()
        {
            return;
        }
        let outcome = outcome.map(|failed| Outcome { failed, slow });
        self.report_slow(permit.generation(), permit.is_probe(), outcome, retry_after);
    }

    #[inline(never)]
    fn report_slow(
        &self,
        generation: u64,
        probe: bool,
        outcome: Option<Outcome>,
        retry_after: Option<Duration>,
    ) {
        let transition = {
            let (mut core, now) = self.lock_window();
            let current = core.generation & GENERATION_MASK == generation;
            let transition = match (core.state, outcome) {
                (CircuitState::Closed, Some(outcome)) if current => {
                    core.window.record(outcome, now);
                    let tripped = self.should_trip(&mut core, now);
                    let transition =
                        tripped.map(|reason| self.trip(&mut core, now, retry_after, reason));
                    if transition.is_none() {
                        self.publish(&core);
                    }
                    transition
                }
                (CircuitState::HalfOpen, None) if current && probe => {
                    core.probes_left = (core.probes_left + 1).min(self.config.half_open_permits);
                    None
                }
                (CircuitState::HalfOpen, Some(outcome)) if current && probe => {
                    core.probes_slow += u32::from(outcome.slow);
                    let permits = u64::from(self.config.half_open_permits);
                    // A failed probe reopens; slow probes reopen once they are the configured
                    // share of the probes, as slow calls open a closed breaker.
                    let slow = reaches(u64::from(core.probes_slow), permits, self.slow_call_ppm);
                    if outcome.failed || slow {
                        let reason = match outcome.failed {
                            true => TransitionReason::ProbeFailed,
                            false => TransitionReason::SlowProbes,
                        };
                        Some(self.trip(&mut core, now, retry_after, reason))
                    } else {
                        core.probes_passed += 1;
                        (core.probes_passed >= self.config.half_open_permits).then(|| {
                            let reason = TransitionReason::ProbesSucceeded;
                            self.change(&mut core, CircuitState::Closed, now, reason, None)
                        })
                    }
                }
                (CircuitState::Open, Some(Outcome { failed: true, .. })) => {
                    // A late failure whose server asks for a longer pause extends it.
                    if let Some(asked) = retry_after {
                        let until = later(now, asked.min(self.config.max_retry_after));
                        core.open_until = core.open_until.max(until);
                    }
                    None
                }
                _ => None,
            };
            self.unlock_window(core);
            transition
        };
        if let Some(transition) = transition {
            self.emit(&transition);
        }
    }

    /// Whether the window opens the breaker, and by which share.
    fn should_trip(&self, core: &mut Core, now: Instant) -> Option<TransitionReason> {
        let totals = core.window.totals(now);
        let minimum = match self.config.window {
            SlidingWindow::Count(size) => self.config.minimum_calls.min(size),
            SlidingWindow::Time { .. } => self.config.minimum_calls,
        };
        if totals.calls < u64::from(minimum) {
            None
        } else if reaches(totals.failures, totals.calls, self.failure_ppm) {
            Some(TransitionReason::FailureRate)
        } else if reaches(totals.slow, totals.calls, self.slow_call_ppm) {
            Some(TransitionReason::SlowCallRate)
        } else {
            None
        }
    }
}

/// Whether `part` is at least `share` of `whole`, compared in parts per million so that a
/// share like 0.6 means exactly 60 %; at least one `part` is needed.
fn reaches(part: u64, whole: u64, ppm: u64) -> bool {
    part > 0 && u128::from(part) * 1_000_000 >= u128::from(ppm) * u128::from(whole)
}

/// One reading per clock, for a registry that asks many breakers (most sharing the default
/// configuration's clock) under its lock: each clock is read once, before the lock.
///
/// Each clock read is held until the readings are dropped, which the registry does after its
/// lock: a clock reconfigured away meanwhile is not dropped under the lock (its drop may call
/// into the registry), and its address is not reused by another clock taken for read.
#[derive(Default)]
pub(crate) struct ClockReadings(Vec<(Arc<dyn Clock>, Instant)>);

impl ClockReadings {
    /// Whether `clock` has been read.
    fn has(&self, clock: &Arc<dyn Clock>) -> bool {
        self.0.iter().any(|(read, _)| Self::same(read, clock))
    }

    /// Whether two handles are of one clock, as the readings tell clocks apart.
    fn same(a: &Arc<dyn Clock>, b: &Arc<dyn Clock>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
    }

    fn of(&mut self, clock: &Arc<dyn Clock>) -> Instant {
        if let Some(&(_, now)) = self.0.iter().find(|(read, _)| Self::same(read, clock)) {
            return now;
        }
        let now = clock.now();
        self.0.push((clock.clone(), now));
        now
    }
}

/// A share from 0 to 1 in parts per million, as [`reaches`] takes it.
fn ppm(share: f64) -> u64 {
    (share * 1_000_000.0).round() as u64
}

/// `from + by`, or as far as an `Instant` reaches.
fn later(from: Instant, by: Duration) -> Instant {
    from.checked_add(by)
        .or_else(|| from.checked_add(Duration::from_secs(u32::MAX.into())))
        .unwrap_or(from)
}

/// An error type a call that a [`CircuitBreaker`] refuses can fail with, made from the
/// [`ErrorKind::CircuitOpen`] [`McpStoreError`]: what [`CircuitBreaker::call`],
/// [`CircuitBreaker::call_async`] and `#[circuit_breaker]` need of the error type.
///
/// Implemented for every type with `From<McpStoreError>` (`McpStoreError` itself,
/// `Box<dyn Error + Send + Sync>`, `anyhow::Error`, an enum of yours with a variant that wraps
/// it) and for `std::io::Error`, which the orphan rule keeps from having that `From`: an
/// [`io::ErrorKind::Other`](std::io::ErrorKind::Other) error carrying the `CircuitOpen` error,
/// which [`Classify`] (so a retry loop, which stops at once) and the error collector see as
/// `CircuitOpen`.
///
/// ```
/// use mcpstore_errors::{CircuitBreaker, CircuitBreakerConfig, Classify, ErrorKind};
///
/// let breaker = CircuitBreaker::new("fs", CircuitBreakerConfig::new());
/// breaker.force_open();
/// let refused: std::io::Error = breaker.call(|| Ok(())).unwrap_err();
/// assert_eq!(refused.kind(), std::io::ErrorKind::Other);
/// assert_eq!(refused.error_kind(), Some(ErrorKind::CircuitOpen));
/// ```
#[diagnostic::on_unimplemented(
    message = "a call the circuit breaker refuses fails with `{Self}`, which cannot hold the breaker's `CircuitOpen` error",
    label = "the call's error type must hold a `McpStoreError`",
    note = "return `McpStoreError`, `std::io::Error` (an `Other` error carrying it), or a type that wraps `McpStoreError` and converts from it with `From<McpStoreError>`: `Box<dyn Error + Send + Sync>`, `anyhow::Error`, or an error type of your own (an enum with a variant for it); a type from another crate cannot be given that impl, so wrap it in one of yours"
)]
pub trait FromCircuitOpen: Sized {
    /// The error for the refusal `open`.
    fn from_circuit_open(open: McpStoreError) -> Self;
}

// Not named in an unmet bound's diagnostic: rustc would list the type's unrelated `From`s.
#[diagnostic::do_not_recommend]
impl<E: From<McpStoreError>> FromCircuitOpen for E {
    #[inline]
    fn from_circuit_open(open: McpStoreError) -> Self {
        E::from(open)
    }
}

impl FromCircuitOpen for std::io::Error {
    /// `Other`: no other kind means "refused here, try later", and the near ones make generic
    /// io code act wrongly (a `ConnectionRefused` is retried at once, a `WouldBlock` awaits
    /// readiness); the carried error says `CircuitOpen`.
    fn from_circuit_open(open: McpStoreError) -> Self {
        std::io::Error::other(open)
    }
}

/// The error a refused call fails with; out of line, as a refusal is the rare path.
#[cold]
#[inline(never)]
pub(crate) fn refused<E: FromCircuitOpen>(open: McpStoreError) -> E {
    E::from_circuit_open(open)
}

/// Leave to make one call through a [`CircuitBreaker`], from
/// [`try_acquire`](CircuitBreaker::try_acquire). Report the outcome with one of its methods;
/// dropping it unreported (the call was cancelled or panicked) counts nothing and gives a
/// half-open probe slot back.
///
/// The call's duration, for slow-call tracking, runs from `try_acquire` to the report.
#[must_use = "report the call's outcome on the permit"]
pub struct Permit<'a> {
    inner: &'a Inner,
    /// From the low bits: PROBE, a spare bit, 24 bits of generation.
    tag: u64,
    /// When the call started, in nanoseconds after the breaker's origin (0 when slow calls
    /// are not tracked): whole, since a call is judged slow to the nanosecond of its limit.
    started: u64,
}

const PROBE: u64 = 0b01;
const TAG_GENERATION_SHIFT: u32 = 2;
/// A permit remembers its generation modulo 2^24: a permit would have to outlive 16 million
/// transitions to be mistaken for a current one.
const GENERATION_MASK: u64 = (1 << 24) - 1;

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("service", &self.inner.service)
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}

impl Permit<'_> {
    /// Whether this permit is one of half-open's probes.
    pub fn is_probe(&self) -> bool {
        self.tag & PROBE != 0
    }

    fn tag(generation: u64, probe: bool) -> u64 {
        (generation & GENERATION_MASK) << TAG_GENERATION_SHIFT | if probe { PROBE } else { 0 }
    }

    fn generation(&self) -> u64 {
        (self.tag >> TAG_GENERATION_SHIFT) & GENERATION_MASK
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        let this = self.settle();
        let inner = this.inner;
        // Closed with a full ring of plain successes, and no timing to check: the success
        // changes nothing, whichever generation the permit is from (a stale permit's report
        // is dropped anyway). One load and one comparison.
        if inner.config.slow_call_duration.is_none()
            && inner.word.load(Ordering::Acquire) & (CLEAN | STATE_BITS) == CLEAN | CLOSED
        {
            return;
        }
        inner.report_success(&this);
    }

    /// The permit, no longer giving its probe slot back when dropped: reported (or about to
    /// be; a report that panics would not give it back twice).
    #[inline]
    fn settle(self) -> ManuallyDrop<Self> {
        ManuallyDrop::new(self)
    }

    /// The call failed with an error of `kind` (`None`: unclassified), with a
    /// server-suggested delay if any. Whether it counts as a failure, a success or not at
    /// all is decided by [`CircuitBreakerConfig::classify`].
    pub fn failure(self, kind: Option<ErrorKind>, retry_after: Option<Duration>) {
        let this = self.settle();
        let outcome = this.inner.config.classify(kind);
        this.inner.report(&this, outcome, retry_after);
    }

    /// The call failed with `error`: [`failure`](Self::failure) with its kind and
    /// retry-after.
    #[inline]
    pub fn record<E: Classify + ?Sized>(self, error: &E) {
        self.failure(error.error_kind(), error.retry_after());
    }

    /// Reports a call's result: [`success`](Self::success) or [`record`](Self::record).
    #[inline]
    pub fn record_result<T, E: Classify>(self, result: &Result<T, E>) {
        match result {
            Ok(_) => self.success(),
            Err(error) => self.record(error),
        }
    }

    /// The call says nothing about the service's health: count nothing, and give a probe
    /// slot back.
    pub fn ignored(self) {
        let this = self.settle();
        this.inner.report(&this, None, None);
    }
}

/// Only an unreported permit is dropped: every report settles it first.
impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.is_probe() {
            self.inner.report_slow(self.generation(), true, None, None);
        }
    }
}

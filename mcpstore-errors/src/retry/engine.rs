//! The retry engine: the state of one retried call and every decision taken in it. The
//! `#[retry]` attribute and [`RetryManager`](crate::RetryManager) both drive it; neither
//! decides anything itself.

use std::fmt::{self, Display};
use std::time::{Duration, Instant};

use super::ErrorFilter;
use crate::operation::Operation;
use crate::secret_text::Masked;
use crate::{ErrorKind, RetryBudget, RetryConfig, metrics};

/// Why a retried call stopped retrying and returned what it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// An attempt succeeded with an accepted value.
    Succeeded,
    /// Every attempt was used; the last outcome was returned.
    AttemptsExhausted,
    /// The error was one the filter does not retry.
    NotRetryable,
    /// The next attempt would have started after the deadline.
    Deadline,
    /// The retry budget denied the retry.
    BudgetExhausted,
    /// The service's circuit breaker rejected the call.
    CircuitOpen,
}

impl StopReason {
    /// A short machine-readable name, as used in `tracing` events: `"succeeded"`,
    /// `"attempts_exhausted"`, `"not_retryable"`, `"deadline"`, `"budget_exhausted"`,
    /// `"circuit_open"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StopReason::Succeeded => "succeeded",
            StopReason::AttemptsExhausted => "attempts_exhausted",
            StopReason::NotRetryable => "not_retryable",
            StopReason::Deadline => "deadline",
            StopReason::BudgetExhausted => "budget_exhausted",
            StopReason::CircuitOpen => "circuit_open",
        }
    }
}

impl Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one retried call did: how many attempts, how long, how much of it asleep, and why it
/// stopped. From [`RetryManager::execute_outcome`](crate::RetryManager::execute_outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryStats {
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Time from the start of the first attempt to the end of the last, on the policy's clock.
    pub elapsed: Duration,
    /// The sum of the delays waited between attempts.
    pub total_delay: Duration,
    /// Why the call stopped.
    pub stop_reason: StopReason,
}

/// When the first attempt of a call under `config` starts: read only when the policy has a
/// deadline to measure from.
#[inline(always)]
pub fn deadline_start(config: &RetryConfig) -> Option<Instant> {
    config.get_deadline().map(|_| config.now())
}

/// [`deadline_start`] for a sync call, on the clock its blocking sleep passes on.
#[inline(always)]
pub fn deadline_start_blocking(config: &RetryConfig) -> Option<Instant> {
    config.get_deadline().map(|_| config.blocking_now())
}

/// An error as the engine sees it: how to show it, its kind and the delay it asks for, each
/// known when its type is `Display` or implements [`Classify`](crate::Classify).
#[derive(Debug)]
pub struct Seen<'a> {
    /// Its message, or its type's name.
    pub shown: Description<'a>,
    /// Its kind, when classified.
    pub kind: Option<ErrorKind>,
    /// A server-suggested delay, when classified.
    pub suggested: Option<Duration>,
}

/// How an error appears in a `tracing` event.
#[derive(Clone, Copy)]
pub enum Description<'a> {
    /// The error's own message.
    Display(&'a dyn Display),
    /// An error without `Display` (e.g. a generic `E`): its type's name.
    TypeName(&'static str),
}

impl fmt::Debug for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Description({self})")
    }
}

impl Display for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Description::Display(error) => error.fmt(f),
            Description::TypeName(name) => write!(f, "an error of type {name}"),
        }
    }
}

/// How `#[retry]` decides after an error of type `E`: data, not a closure, so an annotated
/// function adds no code of its own for it. `see` is picked for `E` at the call site (what
/// `E` implements decides what can be known of it); `filter` is the attribute's `on` and
/// `when`; `hook` its `on_retry`.
pub struct OnError<'a, E> {
    /// What is known of an error of this type.
    pub see: for<'e> fn(&'e E) -> Seen<'e>,
    /// Which errors are retried.
    pub filter: &'a dyn ErrorFilter<E>,
    /// Called before each retry with the failed attempt's number, the error and the delay.
    #[allow(clippy::type_complexity)]
    pub hook: Option<&'a dyn Fn(u32, &E, Duration)>,
}

impl<E> fmt::Debug for OnError<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnError")
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

/// Another attempt at a synchronous call: the annotated function's body, as a closure.
///
/// A trait of its own rather than `dyn FnMut`, whose vtable also holds `FnOnce::call_once`:
/// that entry is never called, yet the compiler builds it, with one more copy of the body,
/// for every annotated function.
pub trait Attempt<R> {
    /// Runs the body once more.
    fn attempt(&mut self) -> R;
}

impl<R, F: FnMut() -> R> Attempt<R> for F {
    #[inline]
    fn attempt(&mut self) -> R {
        self()
    }
}

/// The retries of a synchronous call whose first attempt returned `first`: an error, or a
/// value `rejects` refused. `run` makes another attempt; `on_error` says how to decide after
/// an error. Out of line and generic over
/// the outcome alone, so an annotated function's own code is its first attempt and a branch.
/// The loop's state is built here from `config`, `operation`, `started` and `budget`, not by
/// the caller: each annotated function then carries a call, not the state's construction.
#[cold]
#[inline(never)]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub fn retry_sync<T, E>(
    config: &RetryConfig,
    operation: Operation,
    started: Option<Instant>,
    budget: Option<&RetryBudget>,
    first: Result<T, E>,
    run: &mut dyn Attempt<Result<T, E>>,
    on_error: OnError<'_, E>,
    rejects: Option<&dyn Fn(&T) -> bool>,
) -> Result<T, E> {
    let mut retry = RetryLoop::started(config, operation, started)
        .blocking()
        .with_budget(budget);
    let mut outcome = first;
    // The first value got here because it was rejected: the predicate is not asked twice.
    let mut checked = true;
    loop {
        let delay = match &outcome {
            Ok(value) if checked || rejects.is_some_and(|rejects| rejects(value)) => {
                retry.rejected()
            }
            Ok(_) => {
                retry.succeeded();
                None
            }
            Err(error) => retry.failed_with(error, &on_error),
        };
        match delay {
            Some(delay) => retry.sleep(delay),
            None => return outcome,
        }
        outcome = run.attempt();
        checked = false;
    }
}

/// A policy's attempt timeout reaching a blocking call, which cannot be cut off: said at
/// each retry, so that it is not silently ignored.
#[cold]
fn blocking_attempts_run_on(operation: &'static str, timeout: Duration) {
    tracing::warn!(
        target: "mcpstore_errors::retry",
        operation,
        timeout = ?timeout,
        "a blocking call cannot be cut off: its attempts run past the policy's attempt timeout (bound the retries with a deadline)"
    );
}

/// The state of one retried call. Building it reads nothing and stores only constants; the
/// decisions live in out-of-line functions, so a call whose first attempt succeeds pays for
/// neither.
#[derive(Debug)]
pub struct RetryLoop<'c> {
    config: &'c RetryConfig,
    /// Resolved to its name at the first failure (see [`Operation`]).
    operation: Operation,
    attempt: u32,
    previous: Duration,
    total_delay: Duration,
    started: Option<Instant>,
    stop: Option<StopReason>,
    budget: Option<&'c RetryBudget>,
    /// What the budget was paid for the retry scheduled last, until its wait is over: given
    /// back if the call is dropped (cancelled, or a hook panicked) before the retry is made.
    unspent: std::sync::atomic::AtomicU64,
    /// The current attempt was cut off by its attempt timeout (see [`RetryLoop::lapsed`]);
    /// atomic, as the attempt's own future may hold the loop shared.
    lapsed: std::sync::atomic::AtomicBool,
    /// A sync call: its waits block the thread (see [`RetryLoop::new_blocking`]).
    blocking: bool,
}

impl Drop for RetryLoop<'_> {
    fn drop(&mut self) {
        let unspent = *self.unspent.get_mut();
        if let (Some(budget), 1..) = (self.budget, unspent) {
            budget.refund(unspent);
        }
    }
}

/// The wait before a retry: once it is over, the retry is as good as made.
pub struct RetrySleep<'a> {
    sleep: crate::SleepFuture,
    unspent: &'a std::sync::atomic::AtomicU64,
    operation: &'static str,
    /// The attempt the wait is for.
    next_attempt: u32,
    over: bool,
}

/// A call dropped during its wait ends with no outcome of its own: said here, since the
/// "retrying" event already went out.
impl Drop for RetrySleep<'_> {
    fn drop(&mut self) {
        if !self.over {
            tracing::debug!(
                target: "mcpstore_errors::retry",
                operation = self.operation,
                next_attempt = self.next_attempt,
                "the call was dropped while waiting to make attempt {}: no retry made",
                self.next_attempt,
            );
        }
    }
}

impl fmt::Debug for RetrySleep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetrySleep")
    }
}

impl std::future::Future for RetrySleep<'_> {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let ready = self.sleep.as_mut().poll(cx);
        if ready.is_ready() {
            self.unspent.store(0, std::sync::atomic::Ordering::Relaxed);
            self.over = true;
        }
        ready
    }
}

impl<'c> RetryLoop<'c> {
    /// Before the first attempt of `operation` (its name in `tracing` events). Reads the
    /// clock only when the policy has a deadline.
    #[inline(always)]
    pub fn new(config: &'c RetryConfig, operation: &'static str) -> Self {
        Self::started(config, Operation::Named(operation), deadline_start(config))
    }

    /// Like [`new`](Self::new), for a call whose first attempt started at `started` (read
    /// by [`deadline_start`] before it, when the policy has a deadline).
    #[inline(always)]
    pub fn started(
        config: &'c RetryConfig,
        operation: Operation,
        started: Option<Instant>,
    ) -> Self {
        RetryLoop {
            config,
            operation,
            attempt: 1,
            previous: Duration::ZERO,
            total_delay: Duration::ZERO,
            started,
            stop: None,
            budget: None,
            unspent: std::sync::atomic::AtomicU64::new(0),
            lapsed: std::sync::atomic::AtomicBool::new(false),
            blocking: false,
        }
    }

    /// Before the first attempt of a sync call: its waits block the thread, so its deadline
    /// passes on the clock they pass on ([`RetryConfig::blocking_now`]).
    #[inline(always)]
    pub fn new_blocking(config: &'c RetryConfig, operation: &'static str) -> Self {
        Self::started(
            config,
            Operation::Named(operation),
            deadline_start_blocking(config),
        )
        .blocking()
    }

    /// The loop of a sync call, whose first attempt's start was read by
    /// [`deadline_start_blocking`].
    #[inline(always)]
    fn blocking(mut self) -> Self {
        self.blocking = true;
        self
    }

    /// The time on the clock this call's waits pass on.
    fn now(&self) -> Instant {
        match self.blocking {
            true => self.config.blocking_now(),
            false => self.config.now(),
        }
    }

    /// Retries draw on `budget`: one it denies stops the call with
    /// [`StopReason::BudgetExhausted`]. Successes pay into it through
    /// [`succeeded`](Self::succeeded).
    #[inline(always)]
    pub fn with_budget(mut self, budget: Option<&'c RetryBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// An attempt succeeded with an accepted value: it pays into the budget, if any, and is
    /// counted in metrics (feature `metrics`, one counter increment).
    #[inline(always)]
    pub fn succeeded(&self) {
        if let Some(budget) = self.budget {
            budget.deposit();
        }
        metrics::retry_succeeded(self.operation(), self.attempt);
    }

    /// The policy.
    #[inline(always)]
    pub fn config(&self) -> &'c RetryConfig {
        self.config
    }

    /// The operation's name in events and metrics.
    pub(crate) fn operation(&self) -> &'static str {
        self.operation.name()
    }

    /// Reads the operation's name once, before the failure path's events ask for it.
    fn resolve_operation(&mut self) {
        self.operation = Operation::Named(self.operation.name());
    }

    /// The number of the current attempt, 1-based.
    #[inline(always)]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether the current attempt is the last one the policy allows.
    #[inline(always)]
    pub fn is_last(&self) -> bool {
        self.attempt >= self.config.get_max_attempts()
    }

    /// The current attempt was cut off by its attempt timeout: its error counts as a
    /// `ServiceTimeout` (for the budget's cost, events and metrics) when its type does not
    /// classify it, since the engine, not the error, knows the attempt timed out.
    #[cold]
    pub fn lapsed(&self) {
        self.lapsed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The current attempt failed with `error` (shown in events as `shown`, of `kind` when
    /// its type is classified). Returns the delay before the next attempt, or `None` when the
    /// call stops: a circuit breaker rejected it, the filter does not retry the error, every
    /// attempt is used, the deadline would be crossed, or the budget denies the retry.
    /// `suggested` is a server-suggested delay (such as Retry-After): waited for at least,
    /// never beyond `max_delay`.
    #[cold]
    #[inline(never)]
    pub fn failed<E, W: ErrorFilter<E> + ?Sized>(
        &mut self,
        error: &E,
        shown: &dyn Display,
        kind: Option<ErrorKind>,
        filter: &W,
        suggested: Option<Duration>,
    ) -> Option<Duration> {
        self.resolve_operation();
        let kind = match std::mem::take(self.lapsed.get_mut()) {
            true => kind.or(Some(ErrorKind::ServiceTimeout)),
            false => kind,
        };
        metrics::retry_attempt_failed(self.operation(), kind);
        // An open circuit fails at once until it half-opens: retrying would only spin on it.
        if kind.is_some_and(|kind| kind.is_a(ErrorKind::CircuitOpen)) {
            self.give_up(StopReason::CircuitOpen, Some(shown));
            return None;
        }
        if !filter.should_retry(error) {
            self.give_up(StopReason::NotRetryable, Some(shown));
            return None;
        }
        self.schedule(Some(shown), kind, suggested)
    }

    /// [`failed`](Self::failed) for an error seen and filtered as `on_error` says, with its
    /// hook called before a retry.
    #[cold]
    #[inline(never)]
    pub fn failed_with<E>(&mut self, error: &E, on_error: &OnError<'_, E>) -> Option<Duration> {
        let attempt = self.attempt;
        let seen = (on_error.see)(error);
        let delay = self.failed(
            error,
            &seen.shown,
            seen.kind,
            on_error.filter,
            seen.suggested,
        )?;
        if let Some(hook) = on_error.hook {
            hook(attempt, error, delay);
        }
        Some(delay)
    }

    /// The current attempt succeeded with a value the result predicate rejects. Returns the
    /// delay before the next attempt, or `None` when the call stops and returns that value.
    #[cold]
    #[inline(never)]
    pub fn rejected(&mut self) -> Option<Duration> {
        // A lapse an inner layer recovered from (a fallback's value) is not this failure's.
        *self.lapsed.get_mut() = false;
        self.resolve_operation();
        metrics::retry_attempt_rejected(self.operation());
        self.schedule(None, None, None)
    }

    /// Stops the call for a reason decided outside the engine (a budget, a breaker).
    #[cold]
    #[inline(never)]
    pub fn stop(&mut self, reason: StopReason, shown: &dyn Display) {
        self.give_up(reason, Some(shown));
    }

    /// Waits `delay` with the policy's sleeper.
    #[inline(never)]
    pub fn sleep(&self, delay: Duration) {
        if let Some(timeout) = self.config.get_attempt_timeout() {
            blocking_attempts_run_on(self.operation(), timeout);
        }
        self.config.sleep(delay);
        self.unspent.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits `delay` with the policy's async sleeper.
    #[inline(never)]
    pub fn sleep_async(&self, delay: Duration) -> RetrySleep<'_> {
        RetrySleep {
            sleep: self.config.sleep_async(delay),
            unspent: &self.unspent,
            operation: self.operation(),
            next_attempt: self.attempt,
            over: false,
        }
    }

    /// Why the call stopped, once it has (`None` while it may still retry, and after a first
    /// success, which records nothing).
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// The figures of the call so far; `now` is the end of its last attempt.
    pub fn stats(&self, started: Instant, now: Instant) -> RetryStats {
        RetryStats {
            attempts: self.attempt,
            elapsed: now.saturating_duration_since(self.started.unwrap_or(started)),
            total_delay: self.total_delay,
            stop_reason: self.stop.unwrap_or(StopReason::Succeeded),
        }
    }

    /// The next delay, or `None` with the reason recorded and the event emitted.
    fn schedule(
        &mut self,
        shown: Option<&dyn Display>,
        kind: Option<ErrorKind>,
        suggested: Option<Duration>,
    ) -> Option<Duration> {
        if self.is_last() {
            self.give_up(StopReason::AttemptsExhausted, shown);
            return None;
        }
        let config = self.config;
        let delay = config.jittered_delay(self.attempt - 1, self.previous_or_base());
        self.previous = delay;
        let delay = config.honour_retry_after(delay, suggested);
        if let (Some(deadline), Some(started)) = (config.get_deadline(), self.started) {
            // Saturating: an uncapped delay (`max_delay(Duration::MAX)`) or a server's
            // `Retry-After` may be as long as a `Duration` gets.
            let next_start = self
                .now()
                .saturating_duration_since(started)
                .saturating_add(delay);
            if next_start >= deadline {
                self.give_up(StopReason::Deadline, shown);
                return None;
            }
        }
        if let Some(budget) = self.budget {
            match budget.withdraw(kind) {
                Some(cost) => *self.unspent.get_mut() = cost,
                None => {
                    self.give_up(StopReason::BudgetExhausted, shown);
                    return None;
                }
            }
        }
        tracing::info!(
            target: "mcpstore_errors::retry",
            operation = self.operation(),
            attempt = self.attempt,
            max_attempts = config.get_max_attempts(),
            delay_ms = crate::clock::millis_field(delay),
            error = shown.map(|shown| tracing::field::display(Masked(shown))),
            "attempt {} {}; retrying in {:?}",
            self.attempt,
            if shown.is_some() { "failed" } else { "returned a rejected result" },
            delay,
        );
        metrics::retry_scheduled(self.operation(), delay);
        self.attempt += 1;
        self.total_delay = self.total_delay.saturating_add(delay);
        Some(delay)
    }

    fn previous_or_base(&self) -> Duration {
        if self.attempt == 1 {
            self.config.get_base_delay()
        } else {
            self.previous
        }
    }

    fn give_up(&mut self, reason: StopReason, shown: Option<&dyn Display>) {
        self.stop = Some(reason);
        metrics::retry_gave_up(self.operation(), self.attempt, reason);
        let operation = self.operation();
        let shown = shown.map(|shown| tracing::field::display(Masked(shown)));
        match reason {
            StopReason::NotRetryable => tracing::debug!(
                target: "mcpstore_errors::retry",
                operation,
                attempt = self.attempt,
                stop_reason = reason.as_str(),
                error = shown,
                "error is not retryable",
            ),
            _ => tracing::warn!(
                target: "mcpstore_errors::retry",
                operation,
                attempt = self.attempt,
                max_attempts = self.config.get_max_attempts(),
                stop_reason = reason.as_str(),
                total_delay_ms = crate::clock::millis_field(self.total_delay),
                error = shown,
                "giving up after {} attempt{} ({})",
                self.attempt,
                if self.attempt == 1 { "" } else { "s" },
                reason,
            ),
        }
    }
}

//! The retry executor: [`RetryManager`] and the per-call [`RetryState`] that attribute-generated
//! loops share with it.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use crate::{Classify, ErrorKind, KindSet, RetryConfig};

/// Decides whether a failed attempt is retried. Implemented by closures `Fn(&E) -> bool`,
/// [`AnyError`], [`KindSet`] (via [`RetryManager::retry_on`]) and [`Retryable`].
pub trait ErrorFilter<E> {
    /// Whether to retry after `error`.
    fn should_retry(&self, error: &E) -> bool;

    /// A delay the server asked for, honoured up to `max_delay`.
    fn retry_after(&self, _error: &E) -> Option<Duration> {
        None
    }
}

/// Retries every error (the seed's default, `exceptions=(Exception,)`).
///
/// Being generic over any `E`, it cannot see a server-suggested delay
/// ([`Classify::retry_after`]); filter with [`Retryable`] or a [`KindSet`]
/// ([`RetryManager::retry_if_retryable`], [`RetryManager::retry_on`]) to honour it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyError;

impl<E> ErrorFilter<E> for AnyError {
    fn should_retry(&self, _error: &E) -> bool {
        true
    }
}

/// Retries errors whose [`Classify::is_retryable`] is true, honouring their `retry_after`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retryable;

impl<E: Classify> ErrorFilter<E> for Retryable {
    fn should_retry(&self, error: &E) -> bool {
        error.is_retryable()
    }

    fn retry_after(&self, error: &E) -> Option<Duration> {
        error.retry_after()
    }
}

/// Retries errors whose kind is one of the set or a sub-kind, honouring their `retry_after`.
impl<E: Classify> ErrorFilter<E> for KindSet {
    fn should_retry(&self, error: &E) -> bool {
        error.error_kind().is_some_and(|kind| self.matches(kind))
    }

    fn retry_after(&self, error: &E) -> Option<Duration> {
        error.retry_after()
    }
}

impl<E, F: Fn(&E) -> bool> ErrorFilter<E> for F {
    fn should_retry(&self, error: &E) -> bool {
        self(error)
    }
}

/// Decides whether a successful attempt's value is rejected and retried (the seed's
/// `should_retry`). Implemented by closures `Fn(&T) -> bool` and [`AcceptAny`].
pub trait ResultFilter<T> {
    /// Whether to retry after the attempt returned `value`.
    fn should_retry(&self, value: &T) -> bool;
}

/// Accepts every successful value.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAny;

impl<T> ResultFilter<T> for AcceptAny {
    fn should_retry(&self, _value: &T) -> bool {
        false
    }
}

impl<T, F: Fn(&T) -> bool> ResultFilter<T> for F {
    fn should_retry(&self, value: &T) -> bool {
        self(value)
    }
}

/// Called before each retry with the number of the failed attempt (1-based), the error and the
/// delay about to be slept. Implemented by closures `Fn(u32, &E, Duration)` and [`NoHook`].
pub trait RetryHook<E> {
    /// Called before sleeping `delay` and retrying after attempt `attempt` failed with `error`.
    fn on_retry(&self, attempt: u32, error: &E, delay: Duration);
}

/// No hook.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl<E> RetryHook<E> for NoHook {
    fn on_retry(&self, _attempt: u32, _error: &E, _delay: Duration) {}
}

impl<E, F: Fn(u32, &E, Duration)> RetryHook<E> for F {
    fn on_retry(&self, attempt: u32, error: &E, delay: Duration) {
        self(attempt, error, delay)
    }
}

/// The state of one retried call: which attempt it is and the previous delay. It allocates
/// nothing and draws no random number until an attempt fails.
///
/// [`RetryManager`] and the code `#[retry]` generates both drive their loop with it:
///
/// ```
/// use mcpstore_errors::{RetryConfig, RetryState, VirtualSleeper};
/// use std::sync::Arc;
///
/// let sleeper = Arc::new(VirtualSleeper::new());
/// let config = RetryConfig::new().sleeper(sleeper.clone());
/// let mut state = RetryState::new(&config, "example");
/// let mut calls = 0;
/// let result: Result<u32, String> = loop {
///     calls += 1;
///     let outcome = if calls < 3 { Err(format!("failure {calls}")) } else { Ok(calls) };
///     match outcome {
///         Ok(value) => break Ok(value),
///         Err(error) => match state.on_error(&error, None) {
///             Some(delay) => config.sleep(delay),
///             None => break Err(error),
///         },
///     }
/// };
/// assert_eq!(result, Ok(3));
/// assert_eq!(sleeper.delays().len(), 2);
/// ```
#[derive(Debug)]
pub struct RetryState<'c> {
    config: &'c RetryConfig,
    operation: &'static str,
    attempt: u32,
    previous: Duration,
}

impl<'c> RetryState<'c> {
    /// The state before the first attempt of `operation` (a name for `tracing` events).
    pub fn new(config: &'c RetryConfig, operation: &'static str) -> Self {
        RetryState {
            config,
            operation,
            attempt: 1,
            previous: config.get_base_delay(),
        }
    }

    /// The number of the current attempt, 1-based.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The current attempt failed with a retryable `error`: the delay to sleep before the next
    /// attempt, or `None` when every attempt is used (then the caller returns `error`).
    /// Emits a `tracing` event either way.
    pub fn on_error(
        &mut self,
        error: &dyn Display,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let Some(delay) = self.next_delay(retry_after) else {
            tracing::warn!(
                target: "mcpstore_errors::retry",
                operation = self.operation,
                attempt = self.attempt,
                max_attempts = self.config.get_max_attempts(),
                error = %error,
                "giving up after {} attempts",
                self.attempt,
            );
            return None;
        };
        tracing::info!(
            target: "mcpstore_errors::retry",
            operation = self.operation,
            attempt = self.attempt,
            max_attempts = self.config.get_max_attempts(),
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "attempt {} failed; retrying in {:?}",
            self.attempt,
            delay,
        );
        self.attempt += 1;
        Some(delay)
    }

    /// The current attempt succeeded but its value was rejected by the result predicate: the
    /// delay before the next attempt, or `None` when every attempt is used (then the caller
    /// returns the value).
    pub fn on_rejected_result(&mut self) -> Option<Duration> {
        let Some(delay) = self.next_delay(None) else {
            tracing::warn!(
                target: "mcpstore_errors::retry",
                operation = self.operation,
                attempt = self.attempt,
                max_attempts = self.config.get_max_attempts(),
                "result still rejected after {} attempts; returning it",
                self.attempt,
            );
            return None;
        };
        tracing::info!(
            target: "mcpstore_errors::retry",
            operation = self.operation,
            attempt = self.attempt,
            max_attempts = self.config.get_max_attempts(),
            delay_ms = delay.as_millis() as u64,
            "attempt {} returned a rejected result; retrying in {:?}",
            self.attempt,
            delay,
        );
        self.attempt += 1;
        Some(delay)
    }

    /// The current attempt failed with an error the filter does not retry. Emits a `tracing`
    /// event; the caller returns the error.
    pub fn on_not_retryable(&self, error: &dyn Display) {
        tracing::debug!(
            target: "mcpstore_errors::retry",
            operation = self.operation,
            attempt = self.attempt,
            error = %error,
            "error is not retryable",
        );
    }

    fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempt >= self.config.get_max_attempts() {
            return None;
        }
        let delay = self.config.jittered_delay(self.attempt - 1, self.previous);
        self.previous = delay;
        Some(self.config.honour_retry_after(delay, retry_after))
    }
}

/// Runs an operation until it succeeds, its error is not retryable, or the attempts run out;
/// the seed's `RetryManager`.
///
/// Filters and hooks are type parameters, so a manager costs nothing on the success path:
/// no allocation, no lock, no random draw.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{
///     ErrorKind, Jitter, McpStoreError, RetryConfig, RetryManager, RetryStrategy, VirtualSleeper,
/// };
///
/// let sleeper = Arc::new(VirtualSleeper::new());
/// let manager = RetryManager::new(
///     RetryConfig::new()
///         .max_attempts(5)
///         .strategy(RetryStrategy::Exponential)
///         .base_delay(Duration::from_secs(1))
///         .max_delay(Duration::from_secs(30))
///         .jitter(Jitter::None)
///         .sleeper(sleeper.clone()),
/// )
/// .retry_on([ErrorKind::Service, ErrorKind::Connection])
/// .retry_if_result(|healthy: &bool| !*healthy);
///
/// let mut checks = 0;
/// let healthy = manager.execute(|| {
///     checks += 1;
///     match checks {
///         1 => Err(McpStoreError::connection("refused")),
///         2 | 3 => Ok(false),
///         _ => Ok(true),
///     }
/// });
/// assert_eq!(healthy.unwrap(), true);
/// assert_eq!(sleeper.delays(), [1, 2, 4].map(Duration::from_secs));
/// ```
#[derive(Debug, Clone)]
pub struct RetryManager<W = AnyError, R = AcceptAny, H = NoHook> {
    config: RetryConfig,
    operation: &'static str,
    retry_if: W,
    retry_if_result: R,
    on_retry: H,
}

impl RetryManager {
    /// A manager that retries every error under `config`. A server-suggested delay is honoured
    /// once the filter knows the error's class: see [`retry_on`](Self::retry_on) and
    /// [`retry_if_retryable`](Self::retry_if_retryable).
    pub fn new(config: RetryConfig) -> Self {
        RetryManager {
            config,
            operation: "RetryManager::execute",
            retry_if: AnyError,
            retry_if_result: AcceptAny,
            on_retry: NoHook,
        }
    }
}

impl<W, R, H> RetryManager<W, R, H> {
    /// Retries only the errors for which `filter` returns true.
    pub fn retry_if<W2>(self, filter: W2) -> RetryManager<W2, R, H> {
        RetryManager {
            config: self.config,
            operation: self.operation,
            retry_if: filter,
            retry_if_result: self.retry_if_result,
            on_retry: self.on_retry,
        }
    }

    /// Retries only errors of these kinds or their sub-kinds (the error type must implement
    /// [`Classify`]). Honours the errors' `retry_after`.
    pub fn retry_on(
        self,
        kinds: impl IntoIterator<Item = ErrorKind>,
    ) -> RetryManager<KindSet, R, H> {
        self.retry_if(kinds.into_iter().collect())
    }

    /// Retries only errors that are [retryable](Classify::is_retryable). Honours their
    /// `retry_after`.
    pub fn retry_if_retryable(self) -> RetryManager<Retryable, R, H> {
        self.retry_if(Retryable)
    }

    /// Retries when an attempt succeeds with a value for which `filter` returns true; after the
    /// last attempt that value is returned as it is.
    pub fn retry_if_result<R2>(self, filter: R2) -> RetryManager<W, R2, H> {
        RetryManager {
            config: self.config,
            operation: self.operation,
            retry_if: self.retry_if,
            retry_if_result: filter,
            on_retry: self.on_retry,
        }
    }

    /// Calls `hook` before each retry after an error.
    pub fn on_retry<H2>(self, hook: H2) -> RetryManager<W, R, H2> {
        RetryManager {
            config: self.config,
            operation: self.operation,
            retry_if: self.retry_if,
            retry_if_result: self.retry_if_result,
            on_retry: hook,
        }
    }

    /// Names the operation in `tracing` events.
    pub fn operation(mut self, name: &'static str) -> Self {
        self.operation = name;
        self
    }

    /// The policy.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// Calls `operation` until it succeeds with an accepted value, fails with an error the
    /// filter does not retry, or `max_attempts` calls were made; then returns the last outcome.
    pub fn execute<T, E, F>(&self, mut operation: F) -> Result<T, E>
    where
        F: FnMut() -> Result<T, E>,
        E: Display,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        let mut state = RetryState::new(&self.config, self.operation);
        loop {
            let attempt = state.attempt();
            let delay = match operation() {
                Ok(value) if !self.retry_if_result.should_retry(&value) => return Ok(value),
                Ok(value) => match state.on_rejected_result() {
                    Some(delay) => delay,
                    None => return Ok(value),
                },
                Err(error) => match self.next_after_error(&mut state, &error) {
                    Some(delay) => {
                        self.on_retry.on_retry(attempt, &error, delay);
                        delay
                    }
                    None => return Err(error),
                },
            };
            self.config.sleep(delay);
        }
    }

    /// The async form of [`execute`](Self::execute): `operation` makes a fresh future per
    /// attempt, and the wait uses the configured [`Sleeper`](crate::Sleeper)'s async sleep.
    pub async fn execute_async<T, E, F, Fut>(&self, mut operation: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        let mut state = RetryState::new(&self.config, self.operation);
        loop {
            let attempt = state.attempt();
            let delay = match operation().await {
                Ok(value) if !self.retry_if_result.should_retry(&value) => return Ok(value),
                Ok(value) => match state.on_rejected_result() {
                    Some(delay) => delay,
                    None => return Ok(value),
                },
                Err(error) => match self.next_after_error(&mut state, &error) {
                    Some(delay) => {
                        self.on_retry.on_retry(attempt, &error, delay);
                        delay
                    }
                    None => return Err(error),
                },
            };
            self.config.sleep_async(delay).await;
        }
    }

    fn next_after_error<E>(&self, state: &mut RetryState<'_>, error: &E) -> Option<Duration>
    where
        E: Display,
        W: ErrorFilter<E>,
    {
        if !self.retry_if.should_retry(error) {
            state.on_not_retryable(error);
            return None;
        }
        state.on_error(error, self.retry_if.retry_after(error))
    }
}

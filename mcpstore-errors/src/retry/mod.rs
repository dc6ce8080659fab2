//! Retrying: [`RetryManager`], its filters and hooks ([`filter`]), and the engine ([`engine`])
//! that both the manager and `#[retry]` drive.

pub(crate) mod engine;
mod filter;

use std::fmt::Display;
use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

pub use self::engine::{RetryLoop, RetryStats, StopReason};
pub use self::filter::{
    AcceptAnyValue, ErrorFilter, NoHook, ResultFilter, RetryAnyError, RetryHook, Retryable,
};
use crate::{Classify, ErrorKind, KindSet, RetryBudget, RetryConfig};

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
pub struct RetryManager<W = RetryAnyError, R = AcceptAnyValue, H = NoHook> {
    config: RetryConfig,
    operation: &'static str,
    retry_if: W,
    retry_if_result: R,
    on_retry: H,
    budget: Option<RetryBudget>,
}

impl RetryManager {
    /// A manager that retries every error under `config`, honouring a server-suggested delay
    /// ([`Classify::retry_after`]) whatever the filter.
    pub fn new(config: RetryConfig) -> Self {
        RetryManager {
            config,
            operation: "RetryManager::execute",
            retry_if: RetryAnyError,
            retry_if_result: AcceptAnyValue,
            on_retry: NoHook,
            budget: None,
        }
    }
}

impl<W, R, H> RetryManager<W, R, H> {
    /// Retries only the errors for which `filter` returns true. It replaces the filter set
    /// before (by [`retry_on`](Self::retry_on) too); to require both, pass a pair:
    /// `.retry_if((KindSet::of(&[..]), |e: &E| ..))`, as `#[retry(on = [..], when = ..)]` does.
    pub fn retry_if<W2>(self, filter: W2) -> RetryManager<W2, R, H> {
        RetryManager {
            config: self.config,
            operation: self.operation,
            retry_if: filter,
            retry_if_result: self.retry_if_result,
            on_retry: self.on_retry,
            budget: self.budget,
        }
    }

    /// Retries only errors of these kinds or their sub-kinds.
    pub fn retry_on(
        self,
        kinds: impl IntoIterator<Item = ErrorKind>,
    ) -> RetryManager<KindSet, R, H> {
        self.retry_if(kinds.into_iter().collect())
    }

    /// Retries only errors that are [retryable](Classify::is_retryable).
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
            budget: self.budget,
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
            budget: self.budget,
        }
    }

    /// Retries draw on `budget` (one per service, e.g. from
    /// [`retry_budgets`](crate::retry_budgets)): a retry it denies ends the call with
    /// [`StopReason::BudgetExhausted`], and each success pays into it.
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
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
    /// filter does not retry, or the policy stops it (attempts, deadline); then returns the
    /// last outcome.
    pub fn execute<T, E, F>(&self, operation: F) -> Result<T, E>
    where
        F: FnMut() -> Result<T, E>,
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        self.run(
            &mut RetryLoop::new_blocking(&self.config, self.operation)
                .with_budget(self.budget.as_ref()),
            operation,
        )
    }

    /// Like [`execute`](Self::execute), with what the call did: attempts, time, delays and
    /// why it stopped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::{Jitter, McpStoreError, RetryConfig, RetryManager, StopReason};
    ///
    /// let manager = RetryManager::new(RetryConfig::new().base_delay(Duration::ZERO).jitter(Jitter::None))
    ///     .retry_if_retryable();
    /// let (result, stats) = manager.execute_outcome(|| -> Result<(), _> {
    ///     Err(McpStoreError::tool_not_found("read", Some("fs")))
    /// });
    /// assert!(result.is_err());
    /// assert_eq!((stats.attempts, stats.stop_reason), (1, StopReason::NotRetryable));
    /// ```
    pub fn execute_outcome<T, E, F>(&self, operation: F) -> (Result<T, E>, RetryStats)
    where
        F: FnMut() -> Result<T, E>,
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        let started = self.config.blocking_now();
        let mut retry =
            RetryLoop::new_blocking(&self.config, self.operation).with_budget(self.budget.as_ref());
        let result = self.run(&mut retry, operation);
        (result, retry.stats(started, self.config.blocking_now()))
    }

    fn run<T, E, F>(&self, retry: &mut RetryLoop<'_>, mut operation: F) -> Result<T, E>
    where
        F: FnMut() -> Result<T, E>,
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        loop {
            match self.decide(retry, operation()) {
                ControlFlow::Break(outcome) => return outcome,
                ControlFlow::Continue(delay) => retry.sleep(delay),
            }
        }
    }

    /// After an attempt: the outcome to return, or the delay before the next attempt.
    fn decide<T, E>(
        &self,
        retry: &mut RetryLoop<'_>,
        outcome: Result<T, E>,
    ) -> ControlFlow<Result<T, E>, Duration>
    where
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        let attempt = retry.attempt();
        match outcome {
            Ok(value) if !self.retry_if_result.should_retry(&value) => {
                retry.succeeded();
                ControlFlow::Break(Ok(value))
            }
            Ok(value) => match retry.rejected() {
                Some(delay) => ControlFlow::Continue(delay),
                None => ControlFlow::Break(Ok(value)),
            },
            Err(error) => match retry.failed(
                &error,
                &error,
                error.error_kind(),
                &self.retry_if,
                error.retry_after(),
            ) {
                Some(delay) => {
                    self.on_retry.on_retry(attempt, &error, delay);
                    ControlFlow::Continue(delay)
                }
                None => ControlFlow::Break(Err(error)),
            },
        }
    }

    /// The async form of [`execute`](Self::execute): `operation` makes a fresh future per
    /// attempt, and the wait uses the configured [`Sleeper`](crate::Sleeper)'s async sleep.
    pub async fn execute_async<T, E, F, Fut>(&self, operation: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        let mut retry =
            RetryLoop::new(&self.config, self.operation).with_budget(self.budget.as_ref());
        self.run_async(&mut retry, operation).await
    }

    /// The async form of [`execute_outcome`](Self::execute_outcome).
    pub async fn execute_async_outcome<T, E, F, Fut>(
        &self,
        operation: F,
    ) -> (Result<T, E>, RetryStats)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        let started = self.config.now();
        let mut retry =
            RetryLoop::new(&self.config, self.operation).with_budget(self.budget.as_ref());
        let result = self.run_async(&mut retry, operation).await;
        (result, retry.stats(started, self.config.now()))
    }

    async fn run_async<T, E, F, Fut>(
        &self,
        retry: &mut RetryLoop<'_>,
        mut operation: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display + Classify,
        W: ErrorFilter<E>,
        R: ResultFilter<T>,
        H: RetryHook<E>,
    {
        loop {
            let outcome = crate::timeout::attempt_within(operation(), retry, E::timed_out).await;
            match self.decide(retry, outcome) {
                ControlFlow::Break(outcome) => return outcome,
                ControlFlow::Continue(delay) => retry.sleep_async(delay).await,
            }
        }
    }
}

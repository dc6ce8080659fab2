//! What a retry loop asks before another attempt: whether this error is retried
//! ([`ErrorFilter`]), whether this value is refused ([`ResultFilter`]), and who is told
//! ([`RetryHook`]).

use std::time::Duration;

use crate::{Classify, KindSet};

/// Decides whether a failed attempt is retried. Implemented by closures `Fn(&E) -> bool`,
/// [`RetryAnyError`], [`KindSet`] (via [`RetryManager::retry_on`](crate::RetryManager::retry_on)), [`Retryable`], and pairs
/// of filters (both must accept).
///
/// A filter only says yes or no: a server-suggested delay ([`Classify::retry_after`]) is
/// honoured whatever the filter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot decide which errors of type `{E}` to retry",
    label = "this filter needs to know more of `{E}`",
    note = "a list of kinds (`on = [..]`, `retry_on`) and `when = retryable` read an error's kind: implement `mcpstore_errors::Classify` for `{E}` if it is your own (for `anyhow::Error`, turn on this crate's feature `anyhow`), or filter with a predicate on `&{E}` (`when = |e: &{E}| ..`)"
)]
pub trait ErrorFilter<E> {
    /// Whether to retry after `error`.
    fn should_retry(&self, error: &E) -> bool;
}

/// Retries every error (the seed's default, `exceptions=(Exception,)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryAnyError;

impl<E> ErrorFilter<E> for RetryAnyError {
    fn should_retry(&self, _error: &E) -> bool {
        true
    }
}

/// Retries errors whose [`Classify::is_retryable`] is true.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retryable;

impl<E: Classify> ErrorFilter<E> for Retryable {
    fn should_retry(&self, error: &E) -> bool {
        error.is_retryable()
    }
}

/// Retries errors whose kind is one of the set or a sub-kind.
impl<E: Classify> ErrorFilter<E> for KindSet {
    fn should_retry(&self, error: &E) -> bool {
        error.error_kind().is_some_and(|kind| self.matches(kind))
    }
}

impl<E, F: Fn(&E) -> bool> ErrorFilter<E> for F {
    fn should_retry(&self, error: &E) -> bool {
        self(error)
    }
}

/// Both filters must accept the error.
impl<E, A: ErrorFilter<E>, B: ErrorFilter<E>> ErrorFilter<E> for (A, B) {
    fn should_retry(&self, error: &E) -> bool {
        self.0.should_retry(error) && self.1.should_retry(error)
    }
}

/// Decides whether a successful attempt's value is rejected and retried (the seed's
/// `should_retry`). Implemented by closures `Fn(&T) -> bool` and [`AcceptAnyValue`].
pub trait ResultFilter<T> {
    /// Whether to retry after the attempt returned `value`.
    fn should_retry(&self, value: &T) -> bool;
}

/// Accepts every successful value: only errors are retried.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAnyValue;

impl<T> ResultFilter<T> for AcceptAnyValue {
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

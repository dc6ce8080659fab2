//! What attribute-generated code calls. Not public API: no semver guarantees.

pub use serde_json;
pub use tracing;

pub use crate::retry::RetryState;

// ---------------------------------------------------------------------------------------------
// #[retry]

use std::time::Duration;

use crate::{Classify, KindSet};

/// Runs one sync attempt. Naming `R` fixes the closure's return type before its body's `?`
/// needs it.
#[inline(always)]
pub fn attempt<R, F: FnOnce() -> R>(run: F) -> R {
    run()
}

/// A by-value argument re-supplied to every attempt: cloned, except for the last attempt,
/// which takes the original.
#[derive(Debug)]
pub struct ArgSlot<T>(Option<T>);

impl<T> ArgSlot<T> {
    /// Holds the caller's argument.
    #[inline(always)]
    pub fn new(value: T) -> Self {
        ArgSlot(Some(value))
    }
}

impl<T: Resupplied> ArgSlot<T> {
    /// The argument for the next attempt.
    #[inline(always)]
    pub fn next(&mut self, last: bool) -> T {
        match (last, self.0.take()) {
            (true, Some(value)) => value,
            (false, Some(value)) => {
                let copy = value.clone();
                self.0 = Some(value);
                copy
            }
            // The retry loop ends after its last attempt: it never asks again.
            (_, None) => unreachable!("an argument was asked for after the last attempt"),
        }
    }
}

/// The argument of an attempt that may not be the last: a clone.
#[inline(always)]
pub fn resupply<T: Resupplied>(value: &T) -> T {
    value.clone()
}

/// A by-value argument of a retried or fallen-back function: each run gets a clone.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed by value to a function that may run more than once, so it must be `Clone`",
    label = "each attempt gets its own copy of this argument",
    note = "derive or implement `Clone`, take the argument by reference, or, if the body only borrows it, list it in `no_clone = [..]`"
)]
pub trait Resupplied: Clone {}

impl<T: Clone> Resupplied for T {}

/// `when = predicate`: whether to retry after `error`.
#[inline(always)]
pub fn accepts<E, F: Fn(&E) -> bool>(error: &E, predicate: F) -> bool {
    predicate(error)
}

/// `retry_if_result = predicate`: whether the value is rejected and the call retried.
#[inline(always)]
pub fn rejects<T, F: Fn(&T) -> bool>(value: &T, predicate: F) -> bool {
    predicate(value)
}

/// `on = [..]`: whether the error's kind is one of `kinds` or below one.
#[inline(always)]
pub fn is_of_kind<E: Classify>(error: &E, kinds: KindSet) -> bool {
    error.error_kind().is_some_and(|kind| kinds.matches(kind))
}

/// `when = retryable`.
#[inline(always)]
pub fn is_retryable<E: Classify>(error: &E) -> bool {
    error.is_retryable()
}

/// The delay the error asks for, for filters that classify errors.
#[inline(always)]
pub fn retry_after<E: Classify>(error: &E) -> Option<Duration> {
    error.retry_after()
}

/// `on_retry = hook`: called before each retry.
#[inline(always)]
pub fn on_retry<E, H: Fn(u32, &E, Duration)>(hook: H, attempt: u32, error: &E, delay: Duration) {
    hook(attempt, error, delay)
}

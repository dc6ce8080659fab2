//! What attribute-generated code calls. Not public API: no semver guarantees.

pub use serde_json;
pub use tracing;

pub use crate::fallback::{
    FnCache, fallback_exhausted, fallback_served, fallback_strategy_failed, set_fn_cache_clock,
};
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
pub struct ArgSlot<T> {
    value: Option<T>,
    // Taken from the `Clone` impl when the slot is filled, so that a missing `Clone` is reported
    // once, at the argument.
    clone: fn(&T) -> T,
}

/// An argument on its way into an [`ArgSlot`].
#[derive(Debug)]
pub struct Owned<T>(pub T);

/// Holds the caller's argument for the attempts to come.
#[inline(always)]
pub fn fill_slot<T>(value: Owned<T>) -> ArgSlot<T>
where
    Owned<T>: Resupply<T>,
{
    ArgSlot {
        value: Some(value.0),
        clone: <Owned<T> as Resupply<T>>::CLONE,
    }
}

/// Implemented for arguments that can be re-supplied to each run: the `Clone` ones.
#[diagnostic::on_unimplemented(
    message = "`{T}` is passed by value to a function that may run more than once, so it must be `Clone`",
    label = "each run gets its own copy of this argument",
    note = "derive or implement `Clone`, take the argument by reference, or, if the body only borrows it, list it in `no_clone = [..]`"
)]
pub trait Resupply<T> {
    /// How to copy it.
    const CLONE: fn(&T) -> T;
}

impl<T: Clone> Resupply<T> for Owned<T> {
    const CLONE: fn(&T) -> T = T::clone;
}

impl<T> ArgSlot<T> {
    /// The argument for the next attempt.
    #[inline(always)]
    pub fn next(&mut self, last: bool) -> T {
        match (last, self.value.take()) {
            (true, Some(value)) => value,
            (false, Some(value)) => {
                let copy = (self.clone)(&value);
                self.value = Some(value);
                copy
            }
            // The retry loop ends after its last attempt: it never asks again.
            (_, None) => unreachable!("an argument was asked for after the last attempt"),
        }
    }
}

/// The argument of a run that may not be the last: a clone.
#[inline(always)]
pub fn resupply<T>(value: &T) -> T
where
    Owned<T>: Resupply<T>,
{
    <Owned<T> as Resupply<T>>::CLONE(value)
}

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

pub use crate::collector::ErrorCollector;

/// What `#[collect_errors]` calls for an error type: records `error` with `context`, adding
/// the function's name under `"function"` (see [`with_function`]).
pub fn collect<E: std::error::Error + 'static>(
    collector: &ErrorCollector,
    error: &E,
    function: &'static str,
    context: serde_json::Value,
) {
    collector.collect(error, with_function(context, function));
}

/// What `#[collect_errors]` calls for an error that is only `Display` (such as `String`),
/// picked by autoref specialization when the type has no `Error` impl.
pub fn collect_display<T: std::fmt::Display + ?Sized + 'static>(
    collector: &ErrorCollector,
    error: &T,
    function: &'static str,
    context: serde_json::Value,
) {
    collector.collect_display(error, with_function(context, function));
}

/// The context with `"function": function` added: an object gains the key (a `"function"`
/// the user wrote is kept), null becomes `{"function": ..}`, and any other value is kept
/// under `"context"`.
pub fn with_function(context: serde_json::Value, function: &'static str) -> serde_json::Value {
    use serde_json::{Map, Value};
    let mut object = match context {
        Value::Object(object) => object,
        Value::Null => Map::new(),
        other => {
            let mut object = Map::new();
            object.insert("context".to_owned(), other);
            object
        }
    };
    object
        .entry("function")
        .or_insert_with(|| Value::from(function));
    Value::Object(object)
}

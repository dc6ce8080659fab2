//! What attribute-generated code calls. Not public API: no semver guarantees.

pub use serde_json;
pub use tracing;

pub use crate::fallback::{FnCache, fallback_exhausted, fallback_served, fallback_strategy_failed};
pub use crate::retry::RetryState;

/// The loop state of a `#[retry]` call, made at its first failure: a call that succeeds at once
/// never builds it, so the success path stores nothing.
#[inline]
pub fn retry_state<'s, 'c>(
    state: &'s mut Option<RetryState<'c>>,
    policy: &'c crate::RetryConfig,
    operation: &'static str,
) -> &'s mut RetryState<'c> {
    state.get_or_insert_with(|| RetryState::new(policy, operation))
}

pub use crate::collector::ErrorCollector;

pub use crate::collector::Context;

/// What `#[collect_errors]` calls for an error type: records `error` with `context` and the
/// function's name, which the record's context shows under `"function"` (see
/// [`with_function`]).
// Out of line and cold: the annotated function's success path stays small enough to inline.
#[cold]
#[inline(never)]
pub fn collect<E: std::error::Error + 'static>(
    collector: &ErrorCollector,
    error: &E,
    function: &'static str,
    context: serde_json::Value,
) {
    collector.collect_in(error, Context::from(context), Some(function));
}

/// What `#[collect_errors]` calls for an error that is only `Display` (such as `String`),
/// picked by autoref specialization when the type has no `Error` impl.
#[cold]
#[inline(never)]
pub fn collect_display<T: std::fmt::Display + ?Sized + 'static>(
    collector: &ErrorCollector,
    error: &T,
    function: &'static str,
    context: serde_json::Value,
) {
    collector.collect_display_in(error, Context::from(context), Some(function));
}

/// [`collect`] with a context built once per function and shared by every call: nothing is
/// rebuilt per call, and a context made [`from_static`](Context::from_static) is not even
/// reference counted.
#[cold]
#[inline(never)]
pub fn collect_with<E: std::error::Error + 'static>(
    collector: &ErrorCollector,
    error: &E,
    function: &'static str,
    context: &Context,
) {
    collector.collect_in(error, context.clone(), Some(function));
}

/// [`collect_display`] with a context shared by every call; see [`collect_with`].
#[cold]
#[inline(never)]
pub fn collect_display_with<T: std::fmt::Display + ?Sized + 'static>(
    collector: &ErrorCollector,
    error: &T,
    function: &'static str,
    context: &Context,
) {
    collector.collect_display_in(error, context.clone(), Some(function));
}

/// The context with `"function": function` added: an object gains the key (a `"function"`
/// the user wrote is kept), null becomes `{"function": ..}`, and any other value is kept
/// under `"context"`.
pub fn with_function(context: serde_json::Value, function: &'static str) -> serde_json::Value {
    crate::collector::with_function(context, function)
}

// ---------------------------------------------------------------------------------------------
// The return type

/// Implemented by `Result` alone: checks, at the return type, that an alias names one.
#[diagnostic::on_unimplemented(
    message = "these attributes need a function that returns `Result<T, E>`; this one returns `{Self}`",
    label = "not a `Result`"
)]
pub trait IsResult {}

impl<T, E> IsResult for Result<T, E> {}

/// Compiles only when `R` is a `Result`.
#[inline(always)]
pub fn returns_result<R: IsResult>() {}

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

/// The error whose server-suggested delay is asked for when no filter classifies errors,
/// wrapped so that method lookup picks [`RetryAfterClassified`] when the type implements
/// [`Classify`] and [`RetryAfterUnknown`] otherwise: `(&&Classified(&error)).suggested_delay()`.
#[derive(Debug)]
pub struct Classified<'a, E>(pub &'a E);

/// The delay a [`Classify`] error asks for.
pub trait RetryAfterClassified {
    /// The delay, if any.
    fn suggested_delay(&self) -> Option<Duration>;
}

impl<E: Classify> RetryAfterClassified for &Classified<'_, E> {
    fn suggested_delay(&self) -> Option<Duration> {
        self.0.retry_after()
    }
}

/// No delay is known for an error that does not implement [`Classify`].
pub trait RetryAfterUnknown {
    /// Always `None`.
    fn suggested_delay(&self) -> Option<Duration>;
}

impl<E> RetryAfterUnknown for Classified<'_, E> {
    fn suggested_delay(&self) -> Option<Duration> {
        None
    }
}

/// `on_retry = hook`: called before each retry.
#[inline(always)]
pub fn on_retry<E, H: Fn(u32, &E, Duration)>(hook: H, attempt: u32, error: &E, delay: Duration) {
    hook(attempt, error, delay)
}

// ---------------------------------------------------------------------------------------------
// #[fallback(cache)] keys

use std::hash::{Hash, Hasher};

/// One argument's share of a cache key: hashed through `dyn`, so that a missing `Hash` is
/// reported once, at the argument.
pub struct KeyPart<'a>(&'a dyn HashArgument);

impl std::fmt::Debug for KeyPart<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPart")
    }
}

impl Hash for KeyPart<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash_into(state);
    }
}

/// An argument a cache can key on: the `Hash` ones.
#[diagnostic::on_unimplemented(
    message = "`#[fallback(cache)]` keys its cache on the arguments, so `{Self}` must be `Hash`",
    label = "this argument is part of the cache key",
    note = "derive or implement `Hash`, or drop `cache` from the chain"
)]
pub trait HashArgument {
    /// Feeds the argument to `state`.
    fn hash_into(&self, state: &mut dyn Hasher);
}

impl<T: Hash> HashArgument for T {
    fn hash_into(&self, mut state: &mut dyn Hasher) {
        self.hash(&mut state);
    }
}

/// `argument` as part of a cache key.
#[inline(always)]
pub fn key_part<T: HashArgument>(argument: &T) -> KeyPart<'_> {
    KeyPart(argument)
}

/// The address of the instance a receiver points to (`&self`, `Arc<Self>`, `Pin<&mut Self>`..
/// all coerce to `&Self`): a method's cache entries belong to one instance, without asking
/// `Self` to be `Hash`.
#[inline(always)]
pub fn receiver_address<T: ?Sized>(receiver: &T) -> usize {
    std::ptr::from_ref(receiver).cast::<()>() as usize
}

// ---------------------------------------------------------------------------------------------
// #[collect_errors]: `collect` for `Error` types, `collect_display` for the others

/// The escaping error, wrapped so that method lookup picks [`CollectError`] when the type is an
/// `Error` and [`CollectDisplay`] otherwise: `(&&Collected(error)).collect_into(..)`.
#[derive(Debug)]
pub struct Collected<'a, E: ?Sized>(pub &'a E);

/// Records an `Error`, with its source chain.
pub trait CollectError {
    /// Records the error in `collector`.
    fn collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: serde_json::Value,
    );
}

impl<E: std::error::Error + 'static> CollectError for &Collected<'_, E> {
    fn collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: serde_json::Value,
    ) {
        collect(collector, self.0, function, context);
    }
}

/// Records an error that is only `Display`.
pub trait CollectDisplay {
    /// Records the error in `collector`.
    fn collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: serde_json::Value,
    );
}

impl<E: std::fmt::Display + ?Sized + 'static> CollectDisplay for Collected<'_, E> {
    fn collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: serde_json::Value,
    ) {
        collect_display(collector, self.0, function, context);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors in events: their `Display` when they have one, their type's name otherwise

/// How an error appears in a `tracing` event.
#[derive(Clone, Copy)]
pub enum Description<'a> {
    /// The error's own message.
    Display(&'a dyn std::fmt::Display),
    /// An error without `Display` (e.g. a generic `E`): its type's name.
    TypeName(&'static str),
}

impl std::fmt::Debug for Description<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Description({self})")
    }
}

impl std::fmt::Display for Description<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Description::Display(error) => error.fmt(f),
            Description::TypeName(name) => write!(f, "an error of type {name}"),
        }
    }
}

/// The error to describe, wrapped so that method lookup picks [`DescribeDisplay`] when the type
/// is `Display` and [`DescribeOther`] otherwise: `(&&Described(&error)).describe()`.
#[derive(Debug)]
pub struct Described<'a, E>(pub &'a E);

/// Describes a `Display` error by its message.
pub trait DescribeDisplay<'a> {
    /// The description.
    fn describe(&self) -> Description<'a>;
}

impl<'a, E: std::fmt::Display> DescribeDisplay<'a> for &Described<'a, E> {
    fn describe(&self) -> Description<'a> {
        Description::Display(self.0)
    }
}

/// Describes any other error by its type's name.
pub trait DescribeOther<'a> {
    /// The description.
    fn describe(&self) -> Description<'a>;
}

impl<'a, E> DescribeOther<'a> for Described<'a, E> {
    fn describe(&self) -> Description<'a> {
        Description::TypeName(std::any::type_name::<E>())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::McpStoreError;

    #[test]
    fn the_collect_entry_points_add_the_function_name_to_the_context() {
        let collector = ErrorCollector::new(10);
        let error = McpStoreError::connection("refused");
        collect(&collector, &error, "connect", json!({"operation": "x"}));
        collect(&collector, &error, "connect", Value::Null);
        collect(&collector, &error, "connect", json!(["a"]));
        collect(&collector, &error, "connect", json!({"function": "mine"}));
        collect_display(&collector, "text", "format", Value::Null);
        let contexts: Vec<Value> = collector
            .records()
            .iter()
            .map(|r| r.context().clone())
            .collect();
        assert_eq!(
            contexts,
            [
                json!({"operation": "x", "function": "connect"}),
                json!({"function": "connect"}),
                json!({"context": ["a"], "function": "connect"}),
                json!({"function": "mine"}),
                json!({"function": "format"}),
            ]
        );
    }
}

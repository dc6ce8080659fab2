//! What attribute-generated code calls. Not public API: no semver guarantees.

pub use serde_json;
pub use tracing;

pub use crate::fallback::{FallbackRun, FnCache};
/// The names attributes accept, resolved in `const` items.
pub mod names {
    pub use crate::names::{error_kind, jitter, strategy};
}

/// The bounds literal values must respect, checked in `const` items.
pub mod literals {
    pub use crate::literals::{
        base_delay, cache_capacity, cache_ttl, deadline, grown_by_backoff, jitter_fraction,
        max_attempts, multiplier, timeout,
    };
}

/// The cap of every delay of a `#[retry]` without `max_delay` or `config`.
pub const DEFAULT_MAX_DELAY: Duration = crate::backoff::DEFAULT_MAX_DELAY;

/// How long `#[fallback(cache)]` serves an entry unless told otherwise: the seed's 300 s.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);
/// How many entries `#[fallback(cache)]` holds unless told otherwise.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;
pub use crate::operation::Operation;
pub use crate::retry::RetryLoop;
pub use crate::retry::engine::{
    Attempt, Description, OnError, Seen, deadline_start, deadline_start_blocking, retry_sync,
};

/// The policy of a bare `#[retry]`: the seed's decorator defaults.
pub const fn attribute_default() -> crate::RetryConfig {
    crate::RetryConfig::attribute_default()
}

pub use crate::collector::ErrorCollector;

pub use crate::collector::Context;

/// A `context = {..}` written with literals only, parsed from its JSON text on first use.
#[cold]
#[inline(never)]
pub fn literal_context(
    cell: &'static std::sync::OnceLock<serde_json::Value>,
    text: &'static str,
) -> Context {
    // Shared by every error of the function: never copied.
    Context::from_static(
        cell.get_or_init(|| {
            // The macro writes only valid JSON; were it not to, say so rather than drop it unseen.
            serde_json::from_str(text).unwrap_or_else(|error| {
                tracing::warn!(target: "mcpstore_errors::collector", %error, text, "a literal context is not valid JSON; it is left out");
                serde_json::Value::Null
            })
        }),
    )
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

use crate::Classify;

/// The run closure of a function whose arguments `A` (a tuple) are passed to each run. Naming
/// `A` and `R` here, rather than in the closure's own signature, makes a lifetime left out of
/// them (`Cow<str>`) one the compiler infers, as in the function's signature, instead of one
/// the closure would be generic over.
#[inline(always)]
pub fn run_with<A, R, F: FnMut(A) -> R>(run: F) -> F {
    run
}

/// A `#[fallback(default = expr)]` value for a function returning `R` (a `Result`),
/// evaluated in a closure called at once: one that diverges leaves no code of the
/// expansion's unreachable, and one of another type is reported at the value.
#[inline(always)]
pub fn value_of<R: OkOf, F: FnOnce() -> R::Ok>(value: F) -> R::Ok {
    value()
}

/// The success type of a `Result` (through any alias).
pub trait OkOf {
    /// `T` of `Result<T, E>`.
    type Ok;
}

impl<T, E> OkOf for Result<T, E> {
    type Ok = T;
}

/// One async attempt, its output type named so that the body's `?` knows it.
#[inline(always)]
pub fn attempt_async<R, F: std::future::Future<Output = R>>(attempt: F) -> F {
    attempt
}

/// Runs one sync attempt. Naming `R` fixes the closure's return type before its body's `?`
/// needs it.
#[inline(always)]
pub fn attempt<R, F: FnOnce() -> R>(run: F) -> R {
    run()
}

/// An argument on its way to a run: `(&&Owned(&argument)).__mcpstore_resupply()` clones it
/// through [`ResupplyClone`] when its type is `Clone`, and otherwise reaches
/// [`ResupplyOther`], whose bound names the argument in the error.
#[derive(Debug)]
pub struct Owned<'a, T>(pub &'a T);

/// The argument's own copy, for a `Clone` type.
pub trait ResupplyClone<T> {
    /// A clone of the argument.
    fn __mcpstore_resupply(&self) -> T;
}

impl<T: Clone> ResupplyClone<T> for &Owned<'_, T> {
    #[inline(always)]
    fn __mcpstore_resupply(&self) -> T {
        self.0.clone()
    }
}

/// Reached for a type that is not `Clone`: its bound is the compile error.
pub trait ResupplyOther<T> {
    /// Never called: the bound cannot hold.
    fn __mcpstore_resupply(&self) -> T
    where
        T: PassedToEveryRun;
}

impl<T> ResupplyOther<T> for Owned<'_, T> {
    fn __mcpstore_resupply(&self) -> T
    where
        T: PassedToEveryRun,
    {
        unreachable!("a `Clone` argument is resupplied by `ResupplyClone`")
    }
}

/// What a by-value argument that is not `Clone` is told: implemented for `Clone` types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed by value to a function that may run more than once, so it must be `Clone`",
    label = "each run gets its own copy of this argument",
    note = "derive or implement `Clone`, take the argument by reference, or, if the body only borrows it, list it in `no_clone = [..]`"
)]
pub trait PassedToEveryRun {}

// Unmet for exactly the types `ResupplyClone` does not take; it makes rustc suggest `Clone`.
impl<T: Clone> PassedToEveryRun for T {}

/// `retry_if_result = predicate`: whether the value is rejected and the call retried.
#[inline(always)]
pub fn rejects<T, F: Fn(&T) -> bool>(value: &T, predicate: F) -> bool {
    predicate(value)
}

/// A policy built at run time for a `#[retry]` above a `#[circuit_breaker]`: an attempt
/// timeout that fires no later than what cuts the breaker's call (`cut_under`, `None` when
/// nothing does) cancels that call, which the breaker counts as nothing, so a hung service
/// would never open it. Said once, when the policy is built; the policy is kept as given.
#[cold]
pub fn attempt_timeout_over_breaker(
    policy: &crate::RetryConfig,
    operation: &'static str,
    cut_under: Option<std::time::Duration>,
) {
    let Some(timeout) = policy.get_attempt_timeout() else {
        return;
    };
    if cut_under.is_none_or(|cut| cut >= timeout) {
        tracing::warn!(
            target: "mcpstore_errors::retry",
            operation,
            attempt_timeout = ?timeout,
            timeout_under_breaker = ?cut_under,
            "the policy's attempt timeout cancels calls above #[circuit_breaker] before anything under it does: the breaker counts a cancelled call as nothing, so a hung service would never open it; put a shorter #[timeout] under #[circuit_breaker]"
        );
    }
}

/// The policy of a `#[retry]` whose `config =` reads the call, checked per call by
/// [`attempt_timeout_over_breaker`]'s rule: a load and a comparison per call, and the event
/// once per call site (`warned`), since the fix is the same for every call and a policy met
/// on every call would otherwise report on every call.
#[inline]
pub fn attempt_timeout_over_breaker_per_call(
    warned: &'static std::sync::atomic::AtomicBool,
    policy: &crate::RetryConfig,
    operation: &'static str,
    cut_under: Option<std::time::Duration>,
) {
    use std::sync::atomic::Ordering;
    if let Some(timeout) = policy.get_attempt_timeout()
        && cut_under.is_none_or(|cut| cut >= timeout)
        && !warned.load(Ordering::Relaxed)
        && !warned.swap(true, Ordering::Relaxed)
    {
        attempt_timeout_over_breaker(policy, operation, cut_under);
    }
}

/// What a `#[retry(config = ..)]` evaluated on every call may give: the policy itself or a
/// reference to one, used as it is (never cloned unless other keys change it).
#[diagnostic::on_unimplemented(
    message = "`config =` takes a `RetryConfig` or a `&RetryConfig`, not `{Self}`",
    label = "not a `RetryConfig` nor a reference to one"
)]
pub trait CallPolicy {
    /// The policy, borrowed.
    fn policy(&self) -> &crate::RetryConfig;
    /// The policy, owned, for other keys to change: a reference's is cloned.
    fn into_config(self) -> crate::RetryConfig;
}

impl CallPolicy for crate::RetryConfig {
    #[inline(always)]
    fn policy(&self) -> &crate::RetryConfig {
        self
    }

    #[inline(always)]
    fn into_config(self) -> crate::RetryConfig {
        self
    }
}

impl<P: CallPolicy> CallPolicy for &P {
    #[inline(always)]
    fn policy(&self) -> &crate::RetryConfig {
        (**self).policy()
    }

    fn into_config(self) -> crate::RetryConfig {
        self.policy().clone()
    }
}

/// A `config =` read per call and used as it is: kept in the caller's `slot`, so that one
/// bound (at the user's expression) gives the policy without moving or cloning it.
#[inline(always)]
pub fn call_policy<P: CallPolicy>(policy: P, slot: &mut Option<P>) -> &crate::RetryConfig {
    slot.insert(policy).policy()
}

/// A `config =` read per call that other keys change.
#[inline(always)]
pub fn call_config<P: CallPolicy>(policy: P) -> crate::RetryConfig {
    policy.into_config()
}

/// A sync `#[retry]` call's first attempt succeeded (it never builds a [`RetryLoop`]).
/// Counted with the feature `metrics` (one counter increment); without it, nothing.
#[inline(always)]
pub fn retry_succeeded_first(operation: crate::operation::Operation) {
    #[cfg(feature = "metrics")]
    crate::metrics::retry_succeeded_first(operation.name());
    #[cfg(not(feature = "metrics"))]
    let _ = operation;
}

// ---------------------------------------------------------------------------------------------
// #[fallback(cache)] keys

use std::hash::Hash;

pub use crate::fallback::FnKey;

pub use crate::fallback::CacheIdentity;

/// An argument on its way into a cache key, wrapped so that method lookup picks
/// [`IdentifiedArgument`] when its type implements [`CacheIdentity`], else [`OwnedArgument`]
/// when it is of a standard type ([`OwnedCopy`]), else [`BorrowingArgument`] when it holds
/// borrows of a generic type it knows, else [`CopiedArgument`] when its owned form can be
/// held, else [`UnkeyableArgument`], whose source no [`KeySource`] accepts:
/// `key_argument((&&&&&Argument::of(&arg)).__mcpstore_key_source())`. A by-value argument is
/// passed as `&arg`, a reference argument as `&*arg`.
#[derive(Debug)]
pub struct Argument<'a, T: ?Sized>(&'a T);

impl<'a, T: ?Sized> Argument<'a, T> {
    /// Wraps the argument.
    #[inline(always)]
    pub fn of(argument: &'a T) -> Self {
        Argument(argument)
    }
}

/// A [`CacheIdentity`] id as a key part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identified<Id>(Id);

/// Keys an argument by its [`CacheIdentity`].
pub trait IdentifiedArgument {
    /// What [`key_argument`] turns into a key part.
    type Source;
    /// The id.
    fn __mcpstore_key_source(&self) -> Self::Source;
}

impl<T: CacheIdentity + ?Sized> IdentifiedArgument for &&&&Argument<'_, T> {
    type Source = Identified<T::Id>;
    #[inline]
    fn __mcpstore_key_source(&self) -> Identified<T::Id> {
        Identified(self.0.cache_identity())
    }
}

pub use crate::fallback::OwnedCopy;

/// Keys an argument of a standard type by its [`OwnedCopy`], which borrows nothing however
/// deep the argument's borrows sit (`Option<&&str>`, `(&str, u32)`): its clone would still
/// borrow.
pub trait OwnedArgument {
    /// What [`key_argument`] turns into a key part.
    type Source;
    /// The owned copy.
    fn __mcpstore_key_source(&self) -> Self::Source;
}

impl<T: OwnedCopy + ?Sized> OwnedArgument for &&&Argument<'_, T> {
    type Source = OwnedKey<T::Copy>;
    #[inline]
    fn __mcpstore_key_source(&self) -> Self::Source {
        OwnedKey(self.0.owned_copy())
    }
}

/// Keys an argument that holds borrows of a type [`OwnedCopy`] does not know (a generic
/// `Option<&T>`, `&[&T]`, `Vec<&T>`) by an owned copy of what it borrows (`Option<T>`,
/// `Vec<T>`): its own copy would still borrow.
pub trait BorrowingArgument {
    /// What [`key_argument`] turns into a key part.
    type Source;
    /// The owned copy.
    fn __mcpstore_key_source(&self) -> Self::Source;
}

impl<T> BorrowingArgument for &&Argument<'_, Option<&T>>
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Source = OwnedKey<Option<T::Owned>>;
    #[inline]
    fn __mcpstore_key_source(&self) -> Self::Source {
        OwnedKey(self.0.map(T::to_owned))
    }
}

impl<T> BorrowingArgument for &&Argument<'_, [&T]>
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Source = OwnedKey<Vec<T::Owned>>;
    #[inline]
    fn __mcpstore_key_source(&self) -> Self::Source {
        OwnedKey(self.0.iter().map(|item| (*item).to_owned()).collect())
    }
}

/// Keyed as its slice.
impl<T> BorrowingArgument for &&Argument<'_, Vec<&T>>
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Source = OwnedKey<Vec<T::Owned>>;
    #[inline]
    fn __mcpstore_key_source(&self) -> Self::Source {
        BorrowingArgument::__mcpstore_key_source(&&&Argument::of(self.0.as_slice()))
    }
}

/// Keyed as what it points to: a `key = ..` expression naming a reference argument
/// (`key = request`) is then keyed as the argument itself would be.
impl<T> BorrowingArgument for &&Argument<'_, &T>
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Source = OwnedKey<T::Owned>;
    #[inline]
    fn __mcpstore_key_source(&self) -> Self::Source {
        OwnedKey((*self.0).to_owned())
    }
}

/// The five ways of keying an argument, imported together (`use key_sources::*`) where a
/// key is made: a glob import some item of which is used draws no `unused_imports`, where
/// five `as _` imports, four of them unused, each would (and an `allow` for them would be
/// refused under a crate's `forbid`).
pub mod key_sources {
    pub use super::{
        BorrowingArgument as _, CopiedArgument as _, IdentifiedArgument as _, OwnedArgument as _,
        UnkeyableArgument as _,
    };
}

/// A key part already owned, made by [`OwnedArgument`] or [`BorrowingArgument`].
#[derive(Debug)]
pub struct OwnedKey<K>(K);

impl<K: Hash + Eq + Send + Sync + 'static> KeySource for OwnedKey<K> {
    type Key = K;
    #[inline(always)]
    fn into_key(self) -> K {
        self.0
    }
}

/// Keys an argument by an owned copy of its value. Bounded as [`KeySource`] for `&T` is, so
/// that a type it cannot key reaches [`UnkeyableArgument`] instead.
pub trait CopiedArgument<'a> {
    /// What [`key_argument`] turns into a key part.
    type Source;
    /// The argument itself.
    fn __mcpstore_key_source(&self) -> Self::Source;
}

impl<'a, T> CopiedArgument<'a> for &Argument<'a, T>
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Source = &'a T;
    #[inline(always)]
    fn __mcpstore_key_source(&self) -> &'a T {
        self.0
    }
}

/// Reached by an argument no other way can key: its source, [`Unkeyable`], is a type no
/// [`KeySource`] (nor [`InstanceKeySource`], nor [`ExpressionKeySource`]) is implemented for,
/// so that [`key_argument`]'s bound fails as a whole, once, with its own message, rather than
/// once for each bound the type misses (`Hash`, `Eq`, `Send`...) under a `KeySource` impl that does not apply; and the
/// key part's type stays unknown, so that the cache asks nothing more of it.
pub trait UnkeyableArgument {
    /// [`Unkeyable`].
    type Source;
    /// Never called: the program does not compile.
    fn __mcpstore_key_source(&self) -> Self::Source;
}

impl<T: ?Sized> UnkeyableArgument for Argument<'_, T> {
    type Source = Unkeyable<T>;
    #[inline(always)]
    fn __mcpstore_key_source(&self) -> Unkeyable<T> {
        Unkeyable(std::marker::PhantomData)
    }
}

/// The source of an argument of type `T` that cannot be keyed: no [`KeySource`] is
/// implemented for it.
pub struct Unkeyable<T: ?Sized>(std::marker::PhantomData<fn(&T)>);

impl<T: ?Sized> std::fmt::Debug for Unkeyable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unkeyable")
    }
}

/// What a cache key can hold of an argument: an owned copy of its value (`String` for `&str`,
/// `Vec<T>` for `&[T]`, `T` for `T` or `&T`), compared by `Eq` so that equal values find the
/// same entry however they are passed, or its [`CacheIdentity`] id.
#[diagnostic::on_unimplemented(
    message = "`#[fallback(cache)]` keys its cache on each argument, and this one can be neither copied into the key (`Clone + Eq + Hash`) nor identified (`CacheIdentity`)",
    label = "this argument is part of the cache key",
    note = "make the type `Clone + PartialEq + Eq + Hash` (owned, `Send + Sync + 'static`), or implement `mcpstore_errors::CacheIdentity` for it to key it by an id, or key the cache by what tells calls apart, leaving this argument out: `cache(key = (service.to_owned(), request.id))`"
)]
pub trait KeySource {
    /// The key part.
    type Key: Hash + Eq + Send + Sync + 'static;
    /// Makes the key part.
    fn into_key(self) -> Self::Key;
}

// The expansion reaches this impl only through `CopiedArgument`, under the same bounds: a type
// that misses them is given `Unkeyable` instead, and its error does not show this impl as one
// it could have used (a help block pointing into this crate's internals).
#[diagnostic::do_not_recommend]
impl<T> KeySource for &T
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Key = T::Owned;
    #[inline]
    fn into_key(self) -> T::Owned {
        self.to_owned()
    }
}

impl<Id: Hash + Eq + Send + Sync + 'static> KeySource for Identified<Id> {
    type Key = Identified<Id>;
    #[inline(always)]
    fn into_key(self) -> Identified<Id> {
        self
    }
}

/// One argument's part of a cache key.
#[inline(always)]
pub fn key_argument<S: KeySource>(source: S) -> KeyPart<S::Key> {
    KeyPart {
        value: source.into_key(),
        eq: PartialEq::eq,
        hash: |value, mut state| value.hash(&mut state),
    }
}

/// An argument's part of a cache key, carrying its `Eq` and `Hash` from where [`KeySource`]
/// was checked: a missing bound is then reported once, at the argument, and not again where
/// the key is used.
pub struct KeyPart<K> {
    value: K,
    eq: fn(&K, &K) -> bool,
    hash: fn(&K, &mut dyn std::hash::Hasher),
}

impl<K> PartialEq for KeyPart<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.eq)(&self.value, &other.value)
    }
}

impl<K> Eq for KeyPart<K> {}

impl<K> Hash for KeyPart<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.hash)(&self.value, state);
    }
}

impl<K: std::fmt::Debug> std::fmt::Debug for KeyPart<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

/// What a cache key can hold of the value of `#[fallback(cache(key = ..))]`, wrapped in an
/// [`Argument`] as an argument is: the same owned copy or [`CacheIdentity`] id.
/// [`KeySource`] again, with its own message, at the expression.
#[diagnostic::on_unimplemented(
    message = "the `key` of `#[fallback(cache(key = ..))]` must be a value the cache can own and compare: `Clone + Eq + Hash + Send + Sync + 'static`, a borrow of one, or a `CacheIdentity`",
    label = "this value is the cache key",
    note = "key by owned values of what tells calls apart (`key = (service.to_owned(), request.id)`), derive `Clone, PartialEq, Eq, Hash` on the type, or implement `mcpstore_errors::CacheIdentity` for it"
)]
pub trait ExpressionKeySource {
    /// The key part.
    type Key: Hash + Eq + Send + Sync + 'static;
    /// Makes the key part.
    fn into_key(self) -> Self::Key;
}

// As `KeySource` for `&T`: not shown in the error of a key that cannot be kept.
#[diagnostic::do_not_recommend]
impl<T> ExpressionKeySource for &T
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Key = T::Owned;
    #[inline]
    fn into_key(self) -> T::Owned {
        self.to_owned()
    }
}

impl<Id: Hash + Eq + Send + Sync + 'static> ExpressionKeySource for Identified<Id> {
    type Key = Identified<Id>;
    #[inline(always)]
    fn into_key(self) -> Identified<Id> {
        self
    }
}

impl<K: Hash + Eq + Send + Sync + 'static> ExpressionKeySource for OwnedKey<K> {
    type Key = K;
    #[inline(always)]
    fn into_key(self) -> K {
        self.0
    }
}

/// The part of a cache key given by `key = ..`, in place of the arguments'.
#[inline(always)]
pub fn key_expression<S: ExpressionKeySource>(source: S) -> KeyPart<S::Key> {
    KeyPart {
        value: source.into_key(),
        eq: PartialEq::eq,
        hash: |value, mut state| value.hash(&mut state),
    }
}

/// What a cache key can hold of a method's instance (its receiver, which `&self`, `Arc<Self>`,
/// `Pin<&mut Self>`.. all coerce to `&Self`, wrapped in an [`Argument`]): its [`CacheIdentity`]
/// id, or an owned copy of its value compared by `Eq` (equal instances share entries); never
/// its address, which a later instance may reuse. [`KeySource`] again, with its own message.
#[diagnostic::on_unimplemented(
    message = "`#[fallback(cache)]` on a method keys its entries by the instance, and `Self` can be neither identified (`CacheIdentity`) nor copied into the key (`Clone + Eq + Hash`)",
    label = "the instance is part of the cache key",
    note = "implement `mcpstore_errors::CacheIdentity` for the type, to key its instances by an id (a service name, a connection id), or make it `Clone + PartialEq + Eq + Hash` (`Send + Sync + 'static`); in a trait's default method, as a supertrait of the trait"
)]
pub trait InstanceKeySource {
    /// The key part.
    type Key: Hash + Eq + Send + Sync + 'static;
    /// Makes the key part.
    fn into_key(self) -> Self::Key;
}

// As `KeySource` for `&T`: not shown in the error of an instance that cannot be keyed.
#[diagnostic::do_not_recommend]
impl<T> InstanceKeySource for &T
where
    T: ToOwned + ?Sized,
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Key = T::Owned;
    #[inline]
    fn into_key(self) -> T::Owned {
        self.to_owned()
    }
}

impl<Id: Hash + Eq + Send + Sync + 'static> InstanceKeySource for Identified<Id> {
    type Key = Identified<Id>;
    #[inline(always)]
    fn into_key(self) -> Identified<Id> {
        self
    }
}

impl<K: Hash + Eq + Send + Sync + 'static> InstanceKeySource for OwnedKey<K> {
    type Key = K;
    #[inline(always)]
    fn into_key(self) -> K {
        self.0
    }
}

/// The part of a cache key of an instance the method may change (`&mut self`,
/// `Pin<&mut Self>`): its [`CacheIdentity`] only, since a copy of it would be another key after
/// every change.
#[inline(always)]
pub fn key_changing_instance<T: CacheIdentity + ?Sized>(
    instance: &T,
) -> KeyPart<Identified<T::Id>> {
    key_instance(Identified(instance.cache_identity()))
}

/// A method's instance's part of a cache key.
#[inline(always)]
pub fn key_instance<S: InstanceKeySource>(source: S) -> KeyPart<S::Key> {
    KeyPart {
        value: source.into_key(),
        eq: PartialEq::eq,
        hash: |value, mut state| value.hash(&mut state),
    }
}

// ---------------------------------------------------------------------------------------------
// #[fallback(with = .., recover = ..)] on an async fn: a function returning the `Result`, or a
// future of it

use std::future::{IntoFuture, Ready};
use std::marker::PhantomData;

/// What a step's function returned (`S`), in a function returning `R` (a `Result`), wrapped so
/// that method lookup picks [`StepFuture`] for a future, else [`StepReady`] for a `Result`,
/// else [`StepNeither`]: `(&&&StepOf::<R, _>::of(&returned)).__mcpstore_step_kind()`. The
/// kind's `step` makes the future to await, its `with` or `recover` (named after the key,
/// for the compile error) checks what it resolved to.
#[derive(Debug)]
pub struct StepOf<R, S>(PhantomData<fn() -> (R, S)>);

impl<R, S> StepOf<R, S> {
    /// The probe of `returned`'s type (only its type is used).
    #[inline(always)]
    pub fn of(_returned: &S) -> Self {
        StepOf(PhantomData)
    }
}

/// A step's function returned a future: it is awaited.
pub trait StepFuture<R> {
    /// The kind.
    fn __mcpstore_step_kind(&self) -> AwaitedStep<R>;
}

impl<R, S: IntoFuture> StepFuture<R> for &&StepOf<R, S> {
    #[inline(always)]
    fn __mcpstore_step_kind(&self) -> AwaitedStep<R> {
        AwaitedStep(PhantomData)
    }
}

/// A step's function returned a `Result`: it is served as a ready future, so that a sync
/// alternative needs no `async` of its own.
pub trait StepReady<R> {
    /// The kind.
    fn __mcpstore_step_kind(&self) -> ReadyStep<R>;
}

impl<R, T, E> StepReady<R> for &StepOf<R, Result<T, E>> {
    #[inline(always)]
    fn __mcpstore_step_kind(&self) -> ReadyStep<R> {
        ReadyStep(PhantomData)
    }
}

/// A step's function returned neither: refused by [`NeitherStep`]'s `with` and `recover`.
pub trait StepNeither<R> {
    /// The kind.
    fn __mcpstore_step_kind(&self) -> NeitherStep<R>;
}

impl<R, S> StepNeither<R> for StepOf<R, S> {
    #[inline(always)]
    fn __mcpstore_step_kind(&self) -> NeitherStep<R> {
        NeitherStep(PhantomData)
    }
}

/// A step whose function returns a future.
#[derive(Debug)]
pub struct AwaitedStep<R>(PhantomData<fn() -> R>);

impl<R: OkOf> AwaitedStep<R> {
    /// The future to await.
    #[inline(always)]
    pub fn step<F: IntoFuture>(&self, returned: F) -> F::IntoFuture {
        returned.into_future()
    }

    /// What a `with` function's future resolved to: `Result<R::Ok, _>`.
    #[inline(always)]
    pub fn with<O: WithResolvesTo<R::Ok>>(&self, output: O) -> Result<R::Ok, O::Error> {
        output.into_result()
    }

    /// What a `recover` function's future resolved to: `Result<R::Ok, _>`.
    #[inline(always)]
    pub fn recover<O: RecoverResolvesTo<R::Ok>>(&self, output: O) -> Result<R::Ok, O::Error> {
        output.into_result()
    }
}

/// A step whose function returns a `Result`.
#[derive(Debug)]
pub struct ReadyStep<R>(PhantomData<fn() -> R>);

impl<R: OkOf> ReadyStep<R> {
    /// The value, ready at once.
    #[inline(always)]
    pub fn step<S>(&self, returned: S) -> Ready<S> {
        std::future::ready(returned)
    }

    /// What a `with` function returned: `Result<R::Ok, _>`.
    #[inline(always)]
    pub fn with<O: WithReturns<R::Ok>>(&self, output: O) -> Result<R::Ok, O::Error> {
        output.into_result()
    }

    /// What a `recover` function returned: `Result<R::Ok, _>`.
    #[inline(always)]
    pub fn recover<O: RecoverReturns<R::Ok>>(&self, output: O) -> Result<R::Ok, O::Error> {
        output.into_result()
    }
}

/// A step whose function returns neither a `Result` nor a future: a compile error.
#[derive(Debug)]
pub struct NeitherStep<R>(PhantomData<fn() -> R>);

impl<R: OkOf> NeitherStep<R> {
    /// The value, ready at once, to be refused.
    pub fn step<S>(&self, returned: S) -> Ready<S> {
        std::future::ready(returned)
    }

    /// Refused: no type implements [`WithReturnsNeither`]. Typed as the function's own result,
    /// so that the error is the only one.
    pub fn with<O: WithReturnsNeither<R::Ok>>(&self, _output: O) -> R {
        unreachable!("no type implements WithReturnsNeither")
    }

    /// Refused: no type implements [`RecoverReturnsNeither`].
    pub fn recover<O: RecoverReturnsNeither<R::Ok>>(&self, _output: O) -> R {
        unreachable!("no type implements RecoverReturnsNeither")
    }
}

// The four traits below are written out, not made by a `macro_rules!`: rustc would show the
// macro's body in every note pointing at their impls.

/// What a `with` function returns: `Result<T, _>`.
#[diagnostic::on_unimplemented(
    message = "`with = ..` must name a function returning `Result<{T}, _>` or a future of one; this one returns `{Self}`",
    label = "returns `{Self}`, not `Result<{T}, _>`"
)]
pub trait WithReturns<T> {
    /// The step's error.
    type Error;
    /// The step's result.
    fn into_result(self) -> Result<T, Self::Error>;
}

impl<T, E> WithReturns<T> for Result<T, E> {
    type Error = E;

    #[inline(always)]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What a `recover` function returns: `Result<T, _>`.
#[diagnostic::on_unimplemented(
    message = "`recover = ..` must name a function returning `Result<{T}, _>` or a future of one; this one returns `{Self}`",
    label = "returns `{Self}`, not `Result<{T}, _>`"
)]
pub trait RecoverReturns<T> {
    /// The step's error.
    type Error;
    /// The step's result.
    fn into_result(self) -> Result<T, Self::Error>;
}

impl<T, E> RecoverReturns<T> for Result<T, E> {
    type Error = E;

    #[inline(always)]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What a `with` function's future resolves to: `Result<T, _>`.
#[diagnostic::on_unimplemented(
    message = "`with = ..` must name a function returning `Result<{T}, _>` or a future of one; this one returns a future of `{Self}`",
    label = "returns a future of `{Self}`, not of `Result<{T}, _>`"
)]
pub trait WithResolvesTo<T> {
    /// The step's error.
    type Error;
    /// The step's result.
    fn into_result(self) -> Result<T, Self::Error>;
}

impl<T, E> WithResolvesTo<T> for Result<T, E> {
    type Error = E;

    #[inline(always)]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What a `recover` function's future resolves to: `Result<T, _>`.
#[diagnostic::on_unimplemented(
    message = "`recover = ..` must name a function returning `Result<{T}, _>` or a future of one; this one returns a future of `{Self}`",
    label = "returns a future of `{Self}`, not of `Result<{T}, _>`"
)]
pub trait RecoverResolvesTo<T> {
    /// The step's error.
    type Error;
    /// The step's result.
    fn into_result(self) -> Result<T, Self::Error>;
}

impl<T, E> RecoverResolvesTo<T> for Result<T, E> {
    type Error = E;

    #[inline(always)]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What a `with` function returns when it is neither a `Result` nor a future: implemented by
/// no type.
#[diagnostic::on_unimplemented(
    message = "`with = ..` must name a function returning `Result<{T}, _>` or a future of one; this one returns `{Self}`",
    label = "returns `{Self}`, neither `Result<{T}, _>` nor a future"
)]
pub trait WithReturnsNeither<T> {}

/// What a `recover` function returns when it is neither a `Result` nor a future: implemented by
/// no type.
#[diagnostic::on_unimplemented(
    message = "`recover = ..` must name a function returning `Result<{T}, _>` or a future of one; this one returns `{Self}`",
    label = "returns `{Self}`, neither `Result<{T}, _>` nor a future"
)]
pub trait RecoverReturnsNeither<T> {}

// ---------------------------------------------------------------------------------------------
// #[collect_errors]: `collect` for `Error` types, `collect_display` for the others

/// The escaping error, wrapped so that method lookup picks the most telling way to record it:
/// a boxed `dyn Error` (and, with the `anyhow` feature, an `anyhow::Error`) through its source
/// chain, a [`Classify`](crate::Classify) `Error` with the `McpStoreError` it names and its
/// chain, another `Error` with its chain, anything else by its `Display`:
/// `(&&&&Collected(error)).__mcpstore_collect_into(..)`.
#[derive(Debug)]
pub struct Collected<'a, E: ?Sized>(pub &'a E);

/// Records a type-erased error through its source chain.
pub trait CollectErased {
    /// Records the error in `collector`.
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    );
}

/// A boxed `dyn Error` with each set of auto traits a user writes.
macro_rules! collect_boxed {
    ($($bounds:tt)*) => {
        impl CollectErased for &&&Collected<'_, Box<dyn std::error::Error $($bounds)* + 'static>> {
            #[cold]
            #[inline(never)]
            fn __mcpstore_collect_into(&self, collector: &ErrorCollector, function: &'static str, context: Context) {
                collector.collect_dyn_in(&**self.0, context, Some(function));
            }
        }
    };
}

collect_boxed!(+ Send + Sync);
collect_boxed!(+ Send);
collect_boxed!();

#[cfg(feature = "anyhow")]
impl CollectErased for &&&Collected<'_, anyhow::Error> {
    #[cold]
    #[inline(never)]
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    ) {
        collector.collect_anyhow_in(self.0, context, Some(function));
    }
}

/// Records a classified `Error`, with the `McpStoreError` its `Classify::store_error` names.
pub trait CollectClassified {
    /// Records the error in `collector`.
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    );
}

impl<E: std::error::Error + crate::Classify + 'static> CollectClassified for &&Collected<'_, E> {
    #[cold]
    #[inline(never)]
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    ) {
        collector.collect_classified_in(self.0, context, Some(function));
    }
}

/// Records an `Error`, with its source chain.
pub trait CollectError {
    /// Records the error in `collector`.
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    );
}

impl<E: std::error::Error + 'static> CollectError for &Collected<'_, E> {
    #[cold]
    #[inline(never)]
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    ) {
        collector.collect_in(self.0, context, Some(function));
    }
}

/// Records an error that is only `Display`.
pub trait CollectDisplay {
    /// Records the error in `collector`.
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    );
}

impl<E: std::fmt::Display + ?Sized + 'static> CollectDisplay for Collected<'_, E> {
    #[cold]
    #[inline(never)]
    fn __mcpstore_collect_into(
        &self,
        collector: &ErrorCollector,
        function: &'static str,
        context: Context,
    ) {
        collector.collect_display_in(self.0, context, Some(function));
    }
}

// ---------------------------------------------------------------------------------------------
// Errors in events: their `Display` when they have one, their type's name otherwise

/// The error to describe, wrapped so that method lookup picks [`DescribeDisplay`] when the type
/// is `Display` and [`DescribeOther`] otherwise: `(&&Described(&error)).__mcpstore_describe()`.
#[derive(Debug)]
pub struct Described<'a, E>(pub &'a E);

/// Describes a `Display` error by its message.
pub trait DescribeDisplay<'a, E> {
    /// The description.
    fn __mcpstore_describe(&self) -> Description<'a>;
    /// The same, as a function: for a step that takes the error by value.
    fn __mcpstore_describer(&self) -> for<'e> fn(&'e E) -> Description<'e>;
}

impl<'a, E: std::fmt::Display> DescribeDisplay<'a, E> for &Described<'a, E> {
    fn __mcpstore_describe(&self) -> Description<'a> {
        Description::Display(self.0)
    }

    fn __mcpstore_describer(&self) -> for<'e> fn(&'e E) -> Description<'e> {
        |error| Description::Display(error)
    }
}

/// Describes any other error by its type's name.
pub trait DescribeOther<'a, E> {
    /// The description.
    fn __mcpstore_describe(&self) -> Description<'a>;
    /// The same, as a function: for a step that takes the error by value.
    fn __mcpstore_describer(&self) -> for<'e> fn(&'e E) -> Description<'e>;
}

impl<'a, E> DescribeOther<'a, E> for Described<'a, E> {
    fn __mcpstore_describe(&self) -> Description<'a> {
        Description::TypeName(std::any::type_name::<E>())
    }

    fn __mcpstore_describer(&self) -> for<'e> fn(&'e E) -> Description<'e> {
        |_| Description::TypeName(std::any::type_name::<E>())
    }
}

// ---------------------------------------------------------------------------------------------
// Timeouts and circuit breakers

/// An error type an attempt timeout's `ServiceTimeout` converts into; only ever asked
/// through the `TimeoutErrorFromStore` autoref pick, so it never reports unmet.
pub trait FromStoreError: Sized {
    /// The conversion.
    fn from_store_error(error: crate::McpStoreError) -> Self;
}

impl<E: From<crate::McpStoreError>> FromStoreError for E {
    fn from_store_error(error: crate::McpStoreError) -> Self {
        E::from(error)
    }
}

/// What an attempt timeout's timer runs on: the policy's sleeper, or the real one.
pub fn attempt_sleeper(policy: &crate::RetryConfig) -> &dyn crate::Sleeper {
    policy.timer()
}

/// `sleeper`, checked to be one where `#[timeout(sleeper = ..)]` names it (an error there
/// names the expression).
#[inline(always)]
pub fn sleeper_of<S: crate::Sleeper + ?Sized>(sleeper: &S) -> &S {
    sleeper
}

/// The error an attempt that ran out of time fails with.
#[cold]
#[inline(never)]
pub fn timed_out<E: FromStoreError>(elapsed: crate::Elapsed, operation: &str) -> E {
    E::from_store_error(elapsed.into_error(operation))
}

/// One attempt of an async `#[retry(config = ..)]` under the attempt timeout its policy may
/// carry, failing with what `timed_out` (from [`timeout_of`]) makes of a lapse.
pub async fn attempt_within<T, E, F: std::future::Future<Output = Result<T, E>>>(
    attempt: F,
    retry: &RetryLoop<'_>,
    timed_out: fn(crate::Elapsed, &str) -> Option<E>,
) -> Result<T, E> {
    crate::timeout::attempt_within(attempt, retry, timed_out).await
}

/// The error type `E` of an attempt, for the `TimesOut*` traits to pick, by autoref, how it
/// expresses a lapsed attempt timeout: `(&&&timeout_of(&attempt)).__mcpstore_timed_out()`.
pub struct TimeoutOf<E>(std::marker::PhantomData<fn() -> E>);

impl<E> std::fmt::Debug for TimeoutOf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimeoutOf")
    }
}

/// The [`TimeoutOf`] of `attempt`'s error type.
pub fn timeout_of<T, E, F: std::future::Future<Output = Result<T, E>>>(
    _attempt: &F,
) -> TimeoutOf<E> {
    TimeoutOf(std::marker::PhantomData)
}

/// An error made from a `ServiceTimeout` [`McpStoreError`](crate::McpStoreError).
pub trait TimesOutAsStoreError<E> {
    /// How it expresses a lapse.
    fn __mcpstore_timed_out(&self) -> fn(crate::Elapsed, &str) -> Option<E>;
}

impl<E: FromStoreError> TimesOutAsStoreError<E> for &&TimeoutOf<E> {
    fn __mcpstore_timed_out(&self) -> fn(crate::Elapsed, &str) -> Option<E> {
        |elapsed, operation| Some(timed_out(elapsed, operation))
    }
}

/// An error whose [`Classify::timed_out`] says.
pub trait TimesOutClassified<E> {
    /// How it expresses a lapse.
    fn __mcpstore_timed_out(&self) -> fn(crate::Elapsed, &str) -> Option<E>;
}

impl<E: Classify> TimesOutClassified<E> for &TimeoutOf<E> {
    fn __mcpstore_timed_out(&self) -> fn(crate::Elapsed, &str) -> Option<E> {
        E::timed_out
    }
}

/// The error a lapse of `#[timeout]` or an `attempt_timeout` key fails the attempt with,
/// picked by autoref: `(&&&timeout_of(&attempt)).__mcpstore_timeout_error()` is
/// [`TimeoutErrorFromStore`], [`TimeoutErrorIo`] or, for any other type, the compile error of
/// [`TimeoutErrorRefused`].
pub trait TimeoutErrorFromStore<E> {
    /// The error of a lapse.
    fn __mcpstore_timeout_error(&self) -> fn(crate::Elapsed, &str) -> E;
}

impl<E: FromStoreError> TimeoutErrorFromStore<E> for &&TimeoutOf<E> {
    fn __mcpstore_timeout_error(&self) -> fn(crate::Elapsed, &str) -> E {
        timed_out
    }
}

/// An `io::Error`: `TimedOut`, carrying the `ServiceTimeout`.
pub trait TimeoutErrorIo<E> {
    /// The error of a lapse.
    fn __mcpstore_timeout_error(&self) -> fn(crate::Elapsed, &str) -> E;
}

impl TimeoutErrorIo<std::io::Error> for &TimeoutOf<std::io::Error> {
    fn __mcpstore_timeout_error(&self) -> fn(crate::Elapsed, &str) -> std::io::Error {
        crate::classify::io_timed_out
    }
}

/// Any other error type: a compile error, through [`CanTimeOut`], which no type implements.
pub trait TimeoutErrorRefused<E> {
    /// Never called: the bound cannot hold.
    fn __mcpstore_timeout_error(&self) -> fn(crate::Elapsed, &str) -> E
    where
        E: CanTimeOut;
}

impl<E> TimeoutErrorRefused<E> for TimeoutOf<E> {
    fn __mcpstore_timeout_error(&self) -> fn(crate::Elapsed, &str) -> E
    where
        E: CanTimeOut,
    {
        unreachable!("`CanTimeOut` has no implementations")
    }
}

/// Implemented for no type: what an error type an attempt timeout cannot fail with is told.
#[diagnostic::on_unimplemented(
    message = "an attempt timeout fails the attempt with the function's error type, and `{Self}` cannot express one",
    label = "the function's error type",
    note = "implement `From<McpStoreError>` for `{Self}` (as `Box<dyn Error + Send + Sync>` and `anyhow::Error` do), or return `McpStoreError` or `io::Error`; a `Classify::timed_out` is honoured through `config =` only"
)]
pub trait CanTimeOut {}

/// Any other error: it cannot, and the attempt runs on.
pub trait TimesOutNever<E> {
    /// How it expresses a lapse.
    fn __mcpstore_timed_out(&self) -> fn(crate::Elapsed, &str) -> Option<E>;
}

impl<E> TimesOutNever<E> for TimeoutOf<E> {
    fn __mcpstore_timed_out(&self) -> fn(crate::Elapsed, &str) -> Option<E> {
        |_, _| None
    }
}

/// The error type `E` of a `#[circuit_breaker]` function, for the `Refuse*` traits to pick,
/// by autoref, how a refused call fails: `(&&refusal_of::<Result<T, E>>()).__mcpstore_refuse()`
/// is [`RefuseWith`], or, for a type that cannot hold the refusal, the compile error of
/// [`RefuseNever`] (a plain bound would show rustc's list of unrelated `From` impls).
pub struct RefusalOf<E>(std::marker::PhantomData<fn() -> E>);

impl<E> std::fmt::Debug for RefusalOf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefusalOf")
    }
}

/// The [`RefusalOf`] of the error type of `R`, a `Result` (through any alias).
#[inline(always)]
pub fn refusal_of<R: ErrOf>() -> RefusalOf<R::Err> {
    RefusalOf(std::marker::PhantomData)
}

/// The error type of a `Result` (through any alias).
pub trait ErrOf {
    /// `E` of `Result<T, E>`.
    type Err;
}

impl<T, E> ErrOf for Result<T, E> {
    type Err = E;
}

/// An error type that holds the refusal: as `CircuitBreaker::call` makes it.
pub trait RefuseWith<E> {
    /// How a refusal fails.
    fn __mcpstore_refuse(&self) -> fn(crate::McpStoreError) -> E;
}

impl<E: crate::FromCircuitOpen> RefuseWith<E> for &RefusalOf<E> {
    #[inline(always)]
    fn __mcpstore_refuse(&self) -> fn(crate::McpStoreError) -> E {
        crate::breaker::refused
    }
}

/// Any other error type: a compile error, through [`CanHoldCircuitOpen`], which no type
/// implements.
pub trait RefuseNever<E> {
    /// Never called: the bound cannot hold.
    fn __mcpstore_refuse(&self) -> fn(crate::McpStoreError) -> E
    where
        E: CanHoldCircuitOpen;
}

impl<E> RefuseNever<E> for RefusalOf<E> {
    fn __mcpstore_refuse(&self) -> fn(crate::McpStoreError) -> E
    where
        E: CanHoldCircuitOpen,
    {
        unreachable!("`CanHoldCircuitOpen` has no implementations")
    }
}

/// Implemented for no type: what an error type a refused call cannot fail with is told.
#[diagnostic::on_unimplemented(
    message = "a call the circuit breaker refuses fails with the function's error type, and `{Self}` cannot hold the breaker's `CircuitOpen` error",
    label = "the function's error type",
    note = "return `McpStoreError`, `std::io::Error` (an `Other` error carrying it), or a type that wraps `McpStoreError` and converts from it with `From<McpStoreError>`: `Box<dyn Error + Send + Sync>`, `anyhow::Error`, or an error type of your own (an enum with a variant for it); a type from another crate cannot be given that impl, so wrap it in one of yours"
)]
pub trait CanHoldCircuitOpen {}

pub use crate::breaker::{BreakerSite, SiteBreaker};

/// The breaker of `service` in `registry` for one call at the call site `site` (a
/// `thread_local!` of the expansion): the site's last breaker while it is still the registry's
/// breaker of that name, so the name is looked up only when something changed. Not `Send`:
/// an `async` function takes [`site_breaker_owned`].
#[inline]
pub fn site_breaker(
    site: &'static std::thread::LocalKey<BreakerSite>,
    registry: &crate::BreakerRegistry,
    service: &str,
) -> SiteBreaker {
    crate::site::site_handle(site, registry, service)
}

/// [`site_breaker`] as a handle of its own, to keep across `.await`s.
#[inline]
pub fn site_breaker_owned(
    site: &'static std::thread::LocalKey<BreakerSite>,
    registry: &crate::BreakerRegistry,
    service: &str,
) -> crate::CircuitBreaker {
    crate::CircuitBreaker::clone(&site_breaker(site, registry, service))
}

/// A `#[retry(budget = "name")]` call site's last budget, per thread.
pub type BudgetSite = crate::site::Site<crate::RetryBudget>;

/// The budget named `service` in `budgets` for one call at the call site `site`: the site's
/// last budget while `budgets` has forgotten none since, so the name is looked up only when
/// something changed. Not `Send`: an `async` function takes [`site_budget_owned`].
#[inline]
pub fn site_budget(
    site: &'static std::thread::LocalKey<BudgetSite>,
    budgets: &crate::RetryBudgets,
    service: &str,
) -> crate::site::SiteHandle<crate::RetryBudget> {
    crate::site::site_handle(site, budgets, service)
}

/// [`site_budget`] as a handle of its own, to keep across `.await`s.
#[inline]
pub fn site_budget_owned(
    site: &'static std::thread::LocalKey<BudgetSite>,
    budgets: &crate::RetryBudgets,
    service: &str,
) -> crate::RetryBudget {
    crate::RetryBudget::clone(&site_budget(site, budgets, service))
}

// ---------------------------------------------------------------------------------------------
// What the engines need to know of an error, whatever its type

/// The error type `E` of a call, known from its outcome: what the `See*` traits dispatch on,
/// by autoref, to pick the most `E` allows: `(&&&&observer(&outcome)).__mcpstore_see()`.
pub struct Observer<E>(std::marker::PhantomData<fn(&E)>);

impl<E> std::fmt::Debug for Observer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// The [`Observer`] of `outcome`'s error type.
#[inline(always)]
pub fn observer<T, E>(_outcome: &Result<T, E>) -> Observer<E> {
    Observer(std::marker::PhantomData)
}

/// `when = predicate` as a filter of `E`, so that the closure's argument type is inferred.
#[inline(always)]
pub fn when<E, F: Fn(&E) -> bool>(
    _error: &Observer<E>,
    predicate: F,
) -> impl crate::ErrorFilter<E> + use<E, F> {
    predicate
}

/// `on_retry = hook` for errors of type `E`, so that the closure's argument types are inferred.
#[inline(always)]
pub fn on_retry<E, H: Fn(u32, &E, Duration)>(_error: &Observer<E>, hook: H) -> H {
    hook
}

fn see_all<E: std::fmt::Display + Classify>(error: &E) -> Seen<'_> {
    Seen {
        shown: Description::Display(error),
        kind: error.error_kind(),
        suggested: error.retry_after(),
    }
}

fn see_classified<E: Classify>(error: &E) -> Seen<'_> {
    Seen {
        shown: Description::TypeName(std::any::type_name::<E>()),
        kind: error.error_kind(),
        suggested: error.retry_after(),
    }
}

fn see_displayed<E: std::fmt::Display>(error: &E) -> Seen<'_> {
    Seen {
        shown: Description::Display(error),
        kind: None,
        suggested: None,
    }
}

fn see_nothing<E>(_error: &E) -> Seen<'_> {
    Seen {
        shown: Description::TypeName(std::any::type_name::<E>()),
        kind: None,
        suggested: None,
    }
}

/// How to see a `Display` and [`Classify`] error.
pub trait SeeAll<E> {
    /// The function that sees it.
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e>;
}

impl<E: std::fmt::Display + Classify> SeeAll<E> for &&&Observer<E> {
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e> {
        see_all::<E>
    }
}

/// How to see a [`Classify`] error without `Display`.
pub trait SeeClassified<E> {
    /// The function that sees it.
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e>;
}

impl<E: Classify> SeeClassified<E> for &&Observer<E> {
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e> {
        see_classified::<E>
    }
}

/// How to see a `Display` error that is not classified.
pub trait SeeDisplayed<E> {
    /// The function that sees it.
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e>;
}

impl<E: std::fmt::Display> SeeDisplayed<E> for &Observer<E> {
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e> {
        see_displayed::<E>
    }
}

/// How to see any other error: by its type's name.
pub trait SeeNothing<E> {
    /// The function that sees it.
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e>;
}

impl<E> SeeNothing<E> for Observer<E> {
    fn __mcpstore_see(&self) -> for<'e> fn(&'e E) -> Seen<'e> {
        see_nothing::<E>
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::McpStoreError;

    #[test]
    // Spelled as the macro writes it, whatever impl the types pick here.
    #[allow(clippy::needless_borrow)]
    fn the_collect_entry_points_add_the_function_name_to_the_context() {
        let collector = ErrorCollector::new(10);
        let error = McpStoreError::connection("refused");
        // As `#[collect_errors]` calls them, through the autoref dispatch.
        let collect = |context: Value| {
            (&&&&Collected(&error)).__mcpstore_collect_into(&collector, "connect", context.into());
        };
        collect(json!({"operation": "x"}));
        collect(Value::Null);
        collect(json!(["a"]));
        collect(json!({"function": "mine"}));
        (&&&&Collected("text")).__mcpstore_collect_into(&collector, "format", Value::Null.into());
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

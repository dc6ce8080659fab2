//! Typed errors, retry with backoff, fallback chains and error collection for MCPStore, applied
//! with one attribute.
//!
//! MCPStore manages Model Context Protocol services: it starts them, lists their tools and
//! calls them. Services start late, connections drop, tools fail. This crate gives such code
//! one error type, [`McpStoreError`], whose [`ErrorKind`] follows MCPStore's exception
//! hierarchy, and attributes that handle failures without cluttering the function:
//!
//! - [`#[retry]`](macro@retry) calls the function again after a failure, waiting longer each
//!   time ([`RetryStrategy`], [`Jitter`]); [`RetryManager`] does the same for a closure.
//! - [`#[fallback]`](macro@fallback) answers from a cache, a default value or an alternative
//!   when the function still fails.
//! - [`#[collect_errors]`](macro@collect_errors) records what finally fails in an
//!   [`ErrorCollector`], which keeps statistics, raises a rate alert and exports JSON.
//! - [`#[circuit_breaker]`](macro@circuit_breaker) fails calls at once while a service keeps
//!   failing ([`CircuitBreaker`], [`BreakerRegistry`]).
//! - [`#[timeout]`](macro@timeout) cuts off an `async fn` that runs too long.
//!
//! ```
//! use mcpstore_errors::{CacheIdentity, McpStoreError, collect_errors, fallback, retry};
//!
//! struct Store { online: bool }
//!
//! // Whose cached answers these are: a process has one store.
//! impl CacheIdentity for Store {
//!     type Id = ();
//!     fn cache_identity(&self) {}
//! }
//!
//! impl Store {
//!     /// Up to 3 attempts 10 ms and 20 ms apart; then the last good answer (for 10 minutes).
//!     /// What still fails is recorded by the global collector.
//!     #[collect_errors(context = {"operation": "list_tools"})]
//!     #[fallback(cache(ttl = "10m"))]
//!     #[retry(max_attempts = 3, delay = "10ms", jitter = false, on = [Connection])]
//!     fn list_tools(&self, service: &str) -> Result<Vec<String>, McpStoreError> {
//!         match self.online {
//!             true => Ok(vec!["read_file".into(), "search".into()]),
//!             false => Err(McpStoreError::connection(format!("cannot reach '{service}'"))),
//!         }
//!     }
//! }
//!
//! let mut store = Store { online: true };
//! assert_eq!(store.list_tools("filesystem")?.len(), 2);
//! store.online = false;
//! assert_eq!(store.list_tools("filesystem")?.len(), 2); // retried twice, then from the cache
//! assert!(store.list_tools("web").is_err()); // nothing cached for "web": the error escapes
//! assert_eq!(mcpstore_errors::global_collector().statistics()["ConnectionError"], 1);
//! # Ok::<(), McpStoreError>(())
//! ```
//!
//! # The attributes
//!
//! Each takes `key = value` pairs, in any order; a bad key or value is a compile error that
//! points at it and lists the valid choices (with the one meant, for a misspelt name such as
//! `on = [ServiceTimeOut]`). One build reports every bad key and value. Each attribute's own page ([`macro@retry`],
//! [`macro@fallback`], [`macro@collect_errors`], [`macro@circuit_breaker`], [`macro@timeout`])
//! has the details and the code it expands to.
//!
//! | attribute | meaning |
//! |---|---|
//! | `#[retry]` | the seed's defaults: 3 attempts, 1 s then ×2, ±25 % jitter, every error |
//! | `max_attempts = 5` | calls in all, the first included (at least 1) |
//! | `delay = "200ms"` | the first delay; `"1.5s"`, `"2m"`, a bare number of seconds (`5`; a unit needs the quotes: `250ms` is refused), or a `Duration` expression |
//! | `strategy = fibonacci` | `fixed`, `linear`, `exponential` (default) or `fibonacci` |
//! | `backoff = 2.0` | the exponential multiplier (refused beside another `strategy`, which has none) |
//! | `max_delay = "30s"` | no delay is longer, jitter and `Retry-After` included (default 60 s) |
//! | `jitter = 0.1` | `true` (±25 %, the default), `false`, a fraction, `full`, `equal`, `decorrelated`, or a [`Jitter`] expression |
//! | `on = [ServiceStart, ServiceTimeout]` | retry only these [`ErrorKind`]s and their sub-kinds |
//! | `when = retryable` | retry only errors whose [`Classify::is_retryable`] is true |
//! | `when = \|e: &MyError\| e.is_transient()` | retry when the predicate holds |
//! | `retry_if_result = \|ok: &bool\| !*ok` | also retry successful values the predicate rejects |
//! | `config = policies::health()` | a [`RetryConfig`] to start from, evaluated once on first use |
//! | `config = &self.retry` | one that reads `self` or an argument (`policy_for(service)`): evaluated on every call, a `RetryConfig` or a `&RetryConfig` (used as it is, not cloned) |
//! | `on_retry = log_attempt` | called with the attempt, `&error` and the next delay |
//! | `no_clone = [pool]` | pass these by-value arguments to every attempt without cloning (the body only borrows them) |
//! | `attempt_timeout = "2s"` | (`async fn`) each attempt is dropped after this long and fails as `ServiceTimeout` |
//! | `deadline = "10s"` | no attempt starts and no wait runs past this, from the first attempt |
//! | `budget = "fs"` | retries draw on that service's [`RetryBudget`] in [`retry_budgets()`]; successes refill it (the call site keeps it per thread: no lookup per call) |
//! | `budget = &FS_BUDGET` | the same with any expression giving a `RetryBudget` or a reference to one, evaluated on every call |
//! | `#[fallback(cache(ttl = "10m", capacity = 1000))]` | serve the last success for the same arguments (and, for a method, the same instance) while younger than `ttl` (default 5 min); at most `capacity` entries (default 1024) |
//! | `#[fallback(cache(key = (service, path.to_owned())))]` | key the entries by this expression of the arguments instead of by every argument (the instance and the function's generic arguments stay in the key); arguments it does not name need not be keyable |
//! | `#[fallback(default = Vec::new())]` | return this value |
//! | `#[fallback(default)]` | return `Default::default()` |
//! | `#[fallback(with = Self::from_backup)]` | call an alternative with the same arguments (on an `async fn`, a sync or an async one) |
//! | `#[fallback(recover = Self::on_failure)]` | call a function with the same arguments plus `&error` (likewise) |
//! | `#[collect_errors]` | record escaping errors in [`global_collector()`] |
//! | `context = {"operation": "x"}` | JSON stored with each recorded error |
//! | `collector = &MY_COLLECTOR` | record in another [`ErrorCollector`] |
//! | `#[circuit_breaker(service = "fs")]` | fail at once while the service's [`CircuitBreaker`] is open; `registry = &R` for another [`BreakerRegistry`] |
//! | `#[timeout("2s")]` | (`async fn`) drop the call after this long; it fails as `ServiceTimeout` |
//! | `crate = deps::mcpstore_errors` | any attribute: where this crate is when renamed or re-exported |
//!
//! Fallbacks are tried in the order written; when all fail, the original error is returned.
//! The annotated function must return a `Result` (an alias of one will do, except with
//! `cache`, which needs `T` written out). It may be a free function, a method
//! (`&self`, `&mut self`, `self: Pin<&mut Self>`, `self: Arc<Self>`), generic, in a trait impl,
//! `async`, or made by `macro_rules!`; not a `const fn`. A `&mut`, `Pin<&mut>` or
//! `Option<&mut>` parameter is reborrowed for each attempt, so the body may move it (into a `move` closure or an
//! `async move` block); for the same reason a retried function cannot return a borrow of it
//! (`fn conn(&mut self) -> Result<&mut Conn, E>` is refused at the return type): retry a
//! helper that returns an owned value, then borrow.
//!
//! ## A renamed or re-exported crate
//!
//! The expansion names this crate `::mcpstore_errors`. Where it is known by another path (a
//! dependency renamed in `Cargo.toml`, or re-exported by a facade crate), say so with
//! `crate = path` on the outermost attribute; attributes stacked under it may then be written
//! through that path too.
//!
//! ```
//! mod facade {
//!     pub use mcpstore_errors as errors;
//! }
//! use facade::errors::{McpStoreError, retry};
//!
//! #[retry(crate = facade::errors, max_attempts = 2, delay = 0)]
//! #[facade::errors::fallback(default = 7)]
//! fn answer() -> Result<u32, McpStoreError> {
//!     Err(McpStoreError::connection("down"))
//! }
//!
//! assert_eq!(answer().unwrap(), 7);
//! ```
//!
//! ## Stacking
//!
//! Attributes compose from the outside in, so write them in this order:
//!
//! ```text
//! #[collect_errors]                     5. records what still fails
//! #[fallback(..)]                       4. falls back once the retries are exhausted
//! #[retry(..)]                          3. retries each failure; stops at once on CircuitOpen
//! #[circuit_breaker(service = "fs")]    2. one permit per attempt; counts each outcome
//! #[timeout("2s")]                      1. cancels a hung attempt (a ServiceTimeout failure)
//! async fn call() -> Result<T, E>
//! ```
//!
//! Any subset keeps this order. `tests/layers.rs` runs the whole stack on virtual time.
//! Another attribute macro, such as `#[tracing::instrument]`, goes below the first of these:
//! above them all, it would run first and wrap each attempt (see [`retry`]).
//!
//! ## Sync and async
//!
//! On a plain `fn`, each attempt runs the body in a closure and waits with
//! `std::thread::sleep`. On an `async fn`, each attempt is an `async` block awaited in place,
//! which owns the arguments it uses (a `&mut` one reborrowed) as the plain function's future
//! does, so the future is `Send` exactly when the plain function's is (an argument an
//! attribute's expression reads, such as `after = self.limit`, is borrowed instead); its
//! `return`s and tail coerce to the declared type as in the plain function. It waits with tokio's timer when a tokio
//! runtime is running (feature `tokio`, on by default), else a timer thread. Inside a tokio
//! runtime, its timer must be on (`enable_time()` or `enable_all()`), or the policy given a
//! [`Sleeper`]: tokio panics at the first wait otherwise, and offers no way to ask. Another runtime's
//! timer plugs in through [`Sleeper`]. In both, `?` and `return` end the attempt, not the
//! retry loop.
//!
//! ## Lints
//!
//! The expansions draw no warning of their own and hide the compiler's about the body but
//! one: a needless `mut`, an unused variable or a function never called is reported where it
//! would be without the attribute, except a needless `mut self`. Of clippy's lints, those
//! that judge a body's tail (`needless_return`, `needless_question_mark`) see it in the
//! closure or `async` block it runs in, but those that judge the function by its signature
//! and whole body (`unused_async`, `unnecessary_wraps`, `needless_pass_by_value`, `ptr_arg`)
//! do not; the pedantic `used_underscore_binding` takes a run's copy of a `_`-prefixed
//! parameter for a use of it; restriction lints such as `shadow_*` and `absolute_paths` draw
//! nothing more than on the plain function.
//! (Measured on 54 functions built with and without each attribute by the repository's
//! `tests/lint-parity/run.py`.)
//!
//! No `#[allow]` of the expansions covers the user's code, and few are emitted, so a crate
//! may `#![forbid(..)]` lints such as `unused_braces`, `unreachable_code`, `unused_imports`
//! or `unused_mut`. Some forms allow one and so need it denied at most, not forbidden: a
//! `default = expr` that uses `?` or `.await` (`unreachable_code`), a `Pin<&mut _>` or
//! `Option<&mut _>` parameter (`unused_mut`), and each run's copy of a parameter, which
//! shadows it (clippy's `shadow_same`, `shadow_reuse`, `shadow_unrelated` and
//! `no_effect_underscore_binding`).
//!
//! # Testing retried code without waiting
//!
//! Give the policy a [`VirtualSleeper`]: it records each delay instead of sleeping. A
//! [`SeededRandom`] makes jitter reproducible.
//!
//! ```
//! use std::sync::{Arc, LazyLock};
//! use std::time::Duration;
//! use mcpstore_errors::{McpStoreError, RetryConfig, SeededRandom, VirtualSleeper, retry};
//!
//! static SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(|| Arc::new(VirtualSleeper::new()));
//!
//! fn test_policy() -> RetryConfig {
//!     RetryConfig::new()
//!         .max_attempts(4)
//!         .sleeper(SLEEPER.clone())
//!         .random(Arc::new(SeededRandom::new(7)))
//! }
//!
//! #[retry(config = test_policy())]
//! fn always_down() -> Result<(), McpStoreError> {
//!     Err(McpStoreError::connection("refused"))
//! }
//!
//! assert!(always_down().is_err());
//! let delays = SLEEPER.delays();
//! assert_eq!(delays.len(), 3); // 4 attempts, 3 waits: about 1 s, 2 s, 4 s (±10 %)
//! assert!(delays[2] > Duration::from_millis(3600) && delays[2] < Duration::from_millis(4400));
//! ```
//!
//! # Without attributes
//!
//! Everything the attributes do is plain API: [`RetryManager`] retries a closure,
//! [`FallbackChain`] runs cache, default, alternative and custom [`FallbackStrategy`]s, and
//! [`ErrorCollector::collect`] records any `std::error::Error`.
//!
//! ```
//! use std::time::Duration;
//! use mcpstore_errors::{ErrorKind, Jitter, McpStoreError, RetryConfig, RetryManager};
//!
//! let manager = RetryManager::new(RetryConfig::new().base_delay(Duration::ZERO).jitter(Jitter::None))
//!     .retry_on([ErrorKind::ServiceStart]);
//! let mut calls = 0;
//! let started = manager.execute(|| {
//!     calls += 1;
//!     if calls < 3 { Err(McpStoreError::service_start_failed("fs", "port busy")) } else { Ok("running") }
//! });
//! assert_eq!(started?, "running");
//! # Ok::<(), McpStoreError>(())
//! ```
//!
//! # Tracing
//!
//! The crate never prints. Retries, fallbacks, collected errors and rate alerts are `tracing`
//! events (targets `mcpstore_errors::retry`, `mcpstore_errors::fallback`,
//! `mcpstore_errors::collector`, `mcpstore_errors::breaker`, `mcpstore_errors::budget`,
//! `mcpstore_errors::sleep` for the timer thread's own troubles);
//! install any subscriber to see them.
#![deny(missing_docs)]

mod backoff;
mod breaker;
mod budget;
mod classify;
mod clock;
mod collector;
mod error;
mod fallback;
mod kind;
mod literals;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
mod metrics;
mod names;
mod operation;
mod random;
mod retry;
mod secret_text;
mod site;
mod sleep;
mod timeout;

#[doc(hidden)]
pub mod __private;
#[cfg(feature = "rmcp")]
pub mod rmcp;

pub use backoff::{Backoff, Jitter, RetryConfig, RetryStrategy};
pub use breaker::{
    BreakerMetrics, BreakerRegistry, CircuitBreaker, CircuitBreakerConfig, CircuitState,
    DEFAULT_FAILURE_KINDS, DEFAULT_MAX_SERVICES, FromCircuitOpen, MAX_WINDOW_BUCKETS,
    MAX_WINDOW_CALLS, Permit, SlidingWindow, Transition, TransitionReason, breakers,
};
pub use budget::{
    DEFAULT_MAX_BUDGETS, RetryBudget, RetryBudgetConfig, RetryBudgets, retry_budgets,
};
pub use classify::Classify;
#[cfg(feature = "tokio")]
pub use clock::TokioClock;
pub use clock::{Clock, ManualClock, SystemClock};
pub use collector::{
    Context, DEFAULT_ALERT_THRESHOLD, DEFAULT_ALERT_WINDOW, DEFAULT_MAX_ERRORS,
    DEFAULT_TREND_LENGTH, ErrorCollector, ErrorCollectorBuilder, ErrorRecord, ErrorSummary,
    RateAlert, global_collector,
};
pub use collector::{
    DEFAULT_MAX_CONTEXT_BYTES, DEFAULT_MAX_CONTEXT_DEPTH, ExportOptions, MAX_CONTEXT_DEPTH,
    MAX_MESSAGE_BYTES, REDACTED, RedactTarget, Redactor, WeakCollector, is_secret_key,
};
pub use error::{BoxError, McpStoreError};
pub use fallback::{
    CacheIdentity, ChainKey, FallbackChain, FallbackStrategy, ResponseCache, Served, ServedBy,
    set_fn_cache_clock,
};
pub use kind::{ErrorKind, KindSet};
pub use random::{RandomSource, SeededRandom, ThreadRandom};
pub use retry::{
    AcceptAnyValue, ErrorFilter, NoHook, ResultFilter, RetryAnyError, RetryHook, RetryManager,
    RetryStats, Retryable, StopReason,
};
pub use secret_text::redact_text;
pub use sleep::{RealSleeper, SleepFuture, Sleeper, VirtualSleeper};
pub use timeout::{Elapsed, race_timeout, race_timeout_with};

/// Retries a function that returns `Result<T, E>`: each failed attempt is followed by a
/// backoff delay and another attempt, until one succeeds, the error is not retried, or
/// `max_attempts` calls were made; then the last outcome is returned.
///
/// # Grammar
///
/// ```text
/// #[retry]                                         3 attempts, 1 s, ×2, ±25 % jitter, every error
/// #[retry(
///     max_attempts = 5,                            calls in all, the first included (≥ 1)
///     delay = "200ms",                             base delay: "250ms", "1.5s", "2m", a number of
///                                                  seconds, or a `Duration` expression
///     backoff = 2.0,                               multiplier of the exponential strategy
///     max_delay = "30s",                           cap of every delay
///     jitter = false,                              true (±25 %), false, 0.1 (±10 %), full, equal,
///                                                  decorrelated, or a `Jitter` expression
///     strategy = fibonacci,                        fixed | linear | exponential | fibonacci
///     on = [ServiceStart, ServiceTimeout],         only these `ErrorKind`s and their sub-kinds
///     when = retryable,                            `Classify::is_retryable`, or any `Fn(&E) -> bool`
///     retry_if_result = |ok: &bool| !*ok,          retry `Ok` values too (the last one is returned)
///     config = policies::health(),                 a `RetryConfig` to start from (evaluated once), or,
///                                                  reading `self` or an argument (`&self.retry`),
///                                                  a `RetryConfig` or `&RetryConfig` per call
///     on_retry = log_attempt,                      `Fn(u32, &E, Duration)`: failed attempt, error, delay
///     no_clone = [pool],                           by-value arguments the body only borrows
///     attempt_timeout = "2s",                      async only: each attempt cut off after this
///     deadline = "10s",                            no attempt starts, no wait ends, after this
///     budget = "fs",                               the table's `RetryBudget` for "fs", or
///                                                  `budget = &MY_BUDGET`
///     crate = my_reexport::mcpstore_errors,        where the runtime is, when renamed
/// )]
/// ```
///
/// `when` and `on_retry` expressions are evaluated after a failed attempt, before it is known
/// whether a retry follows (once per call in a sync function, after each failed attempt in an
/// `async` one): write a closure or a function's path, not a call that does work. In the
/// body, a receiver taken by value or through a pointer is bound under another name, which a
/// stringifying macro (`assert!(self.ready)`'s message) shows as `__mcpstore_self`
/// (`stringify!(self)` itself keeps `self`). The attributes'
/// expressions (of every attribute) name parameters as the signature does; the bindings of a
/// destructuring parameter (`(a, b): (u32, u32)`) exist in the body only.
/// `on` and `when = retryable` need `E: Classify`. Whatever the filter, an error type that
/// implements `Classify` has its `retry_after` honoured, never beyond `max_delay`; `on` and
/// `when` together retry an error only when both accept it. The error is
/// shown in `tracing` events through its `Display` (a type without one shows its name).
///
/// The body runs in its own closure (or `async` block) per attempt, so `?` and `return` end
/// the attempt, not the loop. By-value arguments are cloned for each attempt (the originals
/// stay for the attributes' own expressions, such as a `context` or a `default` that names
/// them); a non-`Clone` one is a compile error at that argument unless listed
/// in `no_clone`. References pass through. An argument's lint levels (`#[allow(..)]`) apply
/// to each attempt's copy too; an `#[expect(..)]` on one is read as `#[allow(..)]`, since the
/// expansion itself uses the argument. `#[track_caller]` is refused: the attempt's closure
/// cannot carry it. Works on free functions, `async fn` (the future is
/// `Send` whenever the body's is), methods with any receiver, generic functions, trait impls and
/// methods under `#[async_trait]`. Sync functions sleep on the thread, async ones through the
/// policy's [`Sleeper`].
///
/// # When the policy is built
///
/// A key's value is evaluated on every call when it reads the call: when it names `self`
/// (by any receiver; `self::path` is a module) or a parameter, as a value. A field or
/// method (`x.service`), a path's segment (`service::policy()`), a macro's name, `stringify!`'s
/// tokens and a name the value binds itself (a closure's parameter, a `let`, `for`,
/// `if let` or `match` arm) do not read it; a formatting macro's `"{service}"` does. The rule
/// reads the tokens, so a function made by `macro_rules!` (its values in `$x:expr`
/// fragments) is read alike. Otherwise:
///
/// - Every key literal: the policy is a `static` constant. A call whose first attempt
///   succeeds allocates nothing, takes no lock and draws no random number.
/// - No key reads the call: `config` and the other values are evaluated once, on first use
///   (one policy serves every call and every instantiation, so they may not use `Self` or the
///   function's or impl's generic parameters: a compile error at that token; name the type).
///   A value that reads nothing of the call but would need to (it shadows an argument with a
///   `let` of its own) is refused by the compiler: the once-built policy cannot capture it.
/// - A `config` that reads the call (`config = &self.retry`, `config = policy_for(service)`):
///   evaluated on every call, into a `RetryConfig` or a `&RetryConfig` (any other type is a
///   compile error at the expression). A reference is used as it is, never cloned, unless
///   another key changes the policy, which clones it to apply the keys to the copy; the other
///   keys are then evaluated on every call too. On a `&mut self` method, a `config` borrowed
///   from `self` would keep it borrowed through the attempts: give it by value
///   (`self.retry.clone()`), or copy the fields it needs (`max_attempts = self.attempts`).
/// - A key other than `config` that reads the call (`max_attempts = self.attempts`), with a
///   `config` that does not: the policy of the other keys is built once (as above), and each
///   call applies the keys that read it to a copy of it (of a constant, when the others are
///   literals: nothing to clone).
///
/// A policy an expression gives at run time may carry an attempt timeout that a
/// `#[circuit_breaker]` beneath cannot see (see [`circuit_breaker`](macro@circuit_breaker)):
/// built once, it is checked once; read per call, it is checked on every call (a comparison)
/// and reported once per function, by one `warn` event, since instances may differ and the fix
/// is the same for all. For a policy built per call without the attribute, use a
/// [`RetryManager`].
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use mcpstore_errors::{McpStoreError, RetryConfig, VirtualSleeper, retry};
///
/// struct Client {
///     retry: RetryConfig,
///     calls: AtomicU32,
/// }
///
/// impl Client {
///     #[retry(config = &self.retry)] // this instance's policy, borrowed on every call
///     fn list_tools(&self) -> Result<Vec<String>, McpStoreError> {
///         self.calls.fetch_add(1, Ordering::SeqCst);
///         Err(McpStoreError::connection("refused"))
///     }
/// }
///
/// let client = |attempts| Client {
///     retry: RetryConfig::new().max_attempts(attempts).sleeper(Arc::new(VirtualSleeper::new())),
///     calls: AtomicU32::new(0),
/// };
/// let (two, five) = (client(2), client(5));
/// assert!(two.list_tools().is_err() && five.list_tools().is_err());
/// assert_eq!(two.calls.load(Ordering::SeqCst), 2);
/// assert_eq!(five.calls.load(Ordering::SeqCst), 5);
/// ```
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use mcpstore_errors::{McpStoreError, retry};
///
/// #[retry(max_attempts = 3, delay = "1ms", on = [ServiceStart, ServiceTimeout])]
/// fn start(calls: &AtomicU32, name: &str) -> Result<&'static str, McpStoreError> {
///     if calls.fetch_add(1, Ordering::SeqCst) < 2 {
///         return Err(McpStoreError::service_start_failed(name, "port busy"));
///     }
///     Ok("running")
/// }
///
/// let calls = AtomicU32::new(0);
/// assert_eq!(start(&calls, "fs").unwrap(), "running");
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// ```
///
/// # Expands to (roughly)
///
/// ```text
/// fn start(calls: &AtomicU32, name: &str) -> Result<&'static str, McpStoreError> {
///     static POLICY: RetryConfig = attribute_default()
///         .max_attempts(3).base_delay(Duration::new(0, 1_000_000));
///     let started = deadline_start(&POLICY);  // the clock is read only for a deadline
///     // One attempt: by-value arguments are cloned for it, `&mut` ones reborrowed. When
///     // all are by value or shared references, they are passed to it as arguments, so that
///     // nothing is stored for retries that may never come.
///     let mut run = || -> Result<&'static str, McpStoreError> { /* body */ };
///     match run() {
///         Ok(value) => Ok(value),              // a first success: the body and one branch
///         first => retry_sync(                 // out of line: the retry engine
///             &POLICY, "my_crate::start", started, None, // `budget`, when given
///             first,
///             &mut run,                        // each retry re-runs the same closure
///             OnError {
///                 see: /* message, kind and Retry-After, as far as E's type tells */,
///                 filter: &KindSet::of(&[ServiceStart, ServiceTimeout]),
///                 hook: None,                  // `on_retry`, when given
///             },
///             None,                            // `retry_if_result`, when given
///         ),
///     }
/// }
/// ```
///
/// An `async fn` keeps the loop in place (each attempt is an `async` block awaited in it, so
/// the future stays `Send` exactly when the body is) and asks the same `RetryLoop` for each
/// decision.
///
/// # Stacking
///
/// The attributes compose from the outside in; the outermost expands the whole stack:
///
/// | written | meaning |
/// |---|---|
/// | `#[collect_errors] #[fallback(..)] #[retry(..)]` | retry; when retries run out, fall back; collect what still fails |
/// | `#[fallback(..)] #[retry(..)]` | the chain starts once every attempt failed |
/// | `#[retry(..)] #[fallback(..)]` | each attempt falls back; only an error the chain could not replace is retried |
/// | `#[collect_errors] #[retry(..)]` | collects the final error only |
/// | `#[retry(..)] #[collect_errors]` | collects the error of every failed attempt |
/// | `#[fallback(..)] #[collect_errors]` | collects the original error, even when the chain then succeeds |
/// | `#[collect_errors] #[fallback(..)]` | collects only when the whole chain failed |
/// | `#[retry(..)] #[retry(..)]` | nested: the outer retries the inner's every run, so the attempts multiply (2 × 3 = 6 calls); meant for two policies over different kinds of error |
/// | `#[collect_errors] #[collect_errors(collector = &AUDIT)]` | each collector sees each error once; two naming one collector by the same expression are refused, as are two breakers of one service written alike (the check compares the expressions as written: `&AUDIT` and `audit()` returning it are not seen to be one) |
///
/// Other attributes written below the first of these apply to the generated function as a
/// whole, outside every layer: `#[tracing::instrument]` written between `#[fallback]` and
/// `#[retry]` still makes one span around the retries and the fallback. Written above them
/// all, an attribute macro runs first, on the body alone: `#[tracing::instrument(err)]` there
/// makes a span, and an error event, for every attempt, and the retry events fall outside
/// them. Write it below the first of this crate's attributes:
///
/// ```
/// # use mcpstore_errors::{McpStoreError, retry};
/// #[retry(max_attempts = 3, delay = 0)]
/// #[tracing::instrument(err)] // one span around the three attempts
/// fn list_tools(service: &str) -> Result<Vec<String>, McpStoreError> {
///     Err(McpStoreError::connection(format!("{service}: refused")))
/// }
/// # assert!(list_tools("fs").is_err());
/// ```
#[doc(inline)]
pub use mcpstore_errors_macros::retry;

/// Falls back when a function returning `Result<T, E>` fails: the strategies are tried in the
/// order written, the first success is returned, and when every strategy fails the ORIGINAL
/// error is returned.
///
/// # Grammar
///
/// ```text
/// #[fallback(
///     cache,                                   the last success for the same arguments,
///     cache(ttl = "10m", capacity = 1000),     younger than `ttl` (default 300 s, 1024 entries)
///     cache(key = request.id),                 keyed by this expression instead of the arguments
///     default,                                 `T::default()`
///     default = Vec::new(),                    this expression, evaluated only when needed
///     with = Self::list_tools_from_backup,     an alternative taking the same arguments
///                                              (sync, or async in an `async fn`)
///     recover = Self::on_failure,              the same arguments plus `&error` (likewise)
///     no_clone = [pool],                       by-value arguments not to clone for the strategies
/// )]
/// ```
///
/// Each strategy may be given once. `with` and `recover` name a function (a path or a closure)
/// returning `Result<T, _>` (any error type: it is only reported). On an `async fn` it may be
/// sync or async: a function returning the `Result` (a static list, a local file, an
/// in-memory index) is called as it is, one returning a future of it (an `async fn`, or
/// `impl Future`) is awaited, told apart at compile time. A wrong signature, or a return type
/// that is neither, is a compile error at the path. The cache is one
/// `static` per function and needs `T: Clone + Send + Sync + 'static`. An entry is served only
/// to a call whose key equals the one it was stored under (compared by `Eq`; the hash only
/// picks the bucket): the function's full instantiation (`Self`, the impl's and the function's
/// generic arguments, so `Holder::<u8>::label` and `Holder::<String>::label` never share), the
/// instance for a method, and an owned copy of every argument (`String` for `&str`, `Vec<T>`
/// for `&[T]`, `Option<String>` for `Option<&&str>`, `Vec<(String, u32)>` for
/// `&[(&str, u32)]`: equal values share an entry however they are passed). Borrows are copied
/// at any depth of the standard types (references, `Option`, `Result`, tuples, slices, arrays,
/// `Vec`, `Box`, `Rc`, `Arc`, `Cow`, `BTreeMap`, strings and paths); a generic `Option<&T>`,
/// `&[&T]` or `Vec<&T>` as `Option<T>` or `Vec<T>`. Any other argument's type must be
/// `Clone + Eq + Hash` (owned, `Send + Sync + 'static`) or implement [`CacheIdentity`], which
/// keys it by an id; otherwise a compile error points at the argument. A by-value `self` is
/// an argument like any other. A method's entries are per instance: `&self`, `&mut self` and
/// smart-pointer receivers (`self: Arc<Self>`, `Pin<&mut Self>`..) key on the instance's
/// [`CacheIdentity`] when `Self` implements it (a service name, a connection id), else on an
/// owned copy of it when `Self` is `Clone + Eq + Hash` (cloned for each call; an instance whose
/// fields changed between calls is another key); otherwise a compile error at the receiver
/// names both. A method that takes `self` mutably (`&mut self`, `Pin<&mut Self>`) keys on its
/// [`CacheIdentity`] only: a copy of an instance it may change would be another key every call. Never on its address: a temporary dropped and replaced at the same
/// address would be served its predecessor's entries. In a trait's default method, make
/// [`CacheIdentity`] (or, for a `&self` method, `Clone + Eq + Hash`) a supertrait of the
/// trait. Its `ttl` and `capacity` are constants: they may not use `self`, `Self`, the
/// function's generic parameters or its arguments. See [below](#a-key-expression) for `key`. A strategy written after `default` is refused: it would never run. When `with` or `recover` is present,
/// by-value arguments are cloned for the original call so they can be passed on. A
/// `default = ..` expression reads the arguments as the body left them: a body that moves an
/// argument the expression names fails to compile (clone it in the body), unless a `#[retry]`
/// beneath hands each attempt copies. Each fallback is reported as a `tracing` event.
///
/// # Example
///
/// ```
/// use mcpstore_errors::{McpStoreError, fallback};
///
/// fn tools_from_backup(service: &str) -> Result<Vec<String>, McpStoreError> {
///     Ok(vec![format!("{service}.backup")])
/// }
///
/// #[fallback(cache(ttl = "10m"), with = tools_from_backup, default)]
/// fn tools(service: &str) -> Result<Vec<String>, McpStoreError> {
///     Err(McpStoreError::connection("registry down"))
/// }
///
/// assert_eq!(tools("fs").unwrap(), ["fs.backup"]);
/// ```
///
/// On an `async fn`, the alternative may stay sync (an `async` one would draw clippy's
/// `unused_async` when it awaits nothing):
///
/// ```
/// use mcpstore_errors::{McpStoreError, fallback};
///
/// struct Search {
///     index: Vec<&'static str>,
/// }
///
/// impl Search {
///     fn from_index(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
///         Ok(self.index.iter().filter(|name| name.starts_with(q)).map(|name| name.to_string()).collect())
///     }
///
///     #[fallback(with = Self::from_index)]
///     async fn find(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
///         Err(McpStoreError::connection(format!("search down for {q}")))
///     }
/// }
///
/// let search = Search { index: vec!["read_file", "write_file"] };
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(runtime.block_on(search.find("read")).unwrap(), ["read_file"]);
/// ```
///
/// # Expands to (roughly)
///
/// ```text
/// fn tools(service: &str) -> Result<Vec<String>, McpStoreError> {
///     static CACHE: FnCache = FnCache::new(Duration::new(600, 0), 1024);
///     // The closure's type carries every generic parameter in scope.
///     let key = FnCache::key(&|| {}, (), (key_argument(service),));
///     match (|| -> Result<Vec<String>, McpStoreError> { /* body */ })() {
///         Ok(value) => { CACHE.store(key, &value); Ok(value) }
///         Err(error) => 'chain: {
///             if let Some(value) = CACHE.lookup(&key) { break 'chain Ok(value); }
///             match tools_from_backup(service) {
///                 Ok(value) => break 'chain Ok(value),
///                 Err(failure) => fallback_strategy_failed("my_crate::tools", "with", &failure),
///             }
///             break 'chain Ok(Default::default());
///         }
///     }
/// }
/// ```
///
/// In an `async fn`, what a `with` or `recover` function returned is told apart by its type,
/// at compile time:
///
/// ```text
/// let outcome = match (tools_from_backup(service),) {
///     returned => {
///         // A future, else a `Result`, else neither (a compile error at the path).
///         let step = (&&&StepOf::<Result<Vec<String>, McpStoreError>, _>::of(&returned.0)).kind();
///         // A future is awaited; a `Result` is a ready future (nothing boxed).
///         match (step.step(returned.0).await,) {
///             output => step.with(output.0),     // checks `Result<Vec<String>, _>`
///         }
///     }
/// };
/// match outcome { Ok(value) => break 'chain Ok(value), Err(failure) => /* as above */ }
/// ```
///
/// # A key expression
///
/// `cache(key = <expr>)` keys the entries by the value of an expression of the arguments in
/// place of the arguments themselves, so an argument the cache could not key (a `&Client`, a
/// `&Semaphore`, an `&AtomicU32`, an `impl Fn`) may be passed, and need not tell calls apart:
///
/// - **When.** Once per call, at the top of the function, before the body runs: the body may
///   move what the key reads. On every call, since only the body's outcome tells whether the
///   key is needed (a success stores under it, a failure looks it up), including a failure a
///   strategy written before `cache` then serves. Stacked over a `#[retry]`, once for all
///   attempts; under one, once per attempt. It runs in place, so keep it cheap, and without
///   `?` or `return` (they would leave the function before the body).
/// - **What.** The expression is borrowed, not moved (`key = request.id` leaves `request` to
///   the body), then turned into an owned key as an argument is: a value that is
///   `Clone + Eq + Hash + Send + Sync + 'static` is cloned, a borrowed standard type copied
///   (`(String, String)` for `(&str, String)`), a reference keyed by what it points to, and a
///   [`CacheIdentity`] type by its id (`key = *connection`). Anything else is a compile
///   error at the expression naming what is needed; so is a key that borrows from the call
///   (a `View<'a>`), reported by the borrow checker there.
/// - **What stays.** The function's full instantiation and, for a method, the instance stay in
///   the key exactly as without `key` (a by-value `self` too): two instances, two `Self` types
///   (`Holder<u8>`, `Holder<String>`) or two implementors of a trait's default method are never
///   served each other's entries, whatever the expression gives. An `impl Trait` argument is a
///   generic parameter: each closure type passed is its own instantiation, with its own entries.
/// - Arguments the expression does not name are not read by the cache at all.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use mcpstore_errors::{McpStoreError, fallback};
///
/// /// Neither `Clone`, `Eq` nor `Hash`: a plain `cache` could not key it.
/// struct Client {
///     up: bool,
/// }
///
/// #[fallback(cache(ttl = "10m", key = (service, path.to_owned())))]
/// fn get(client: &Client, sent: &AtomicU32, service: &str, path: &str) -> Result<String, McpStoreError> {
///     sent.fetch_add(1, Ordering::Relaxed);
///     match client.up {
///         true => Ok(format!("{service}{path}: ok")),
///         false => Err(McpStoreError::connection(format!("{service} is down"))),
///     }
/// }
///
/// let sent = AtomicU32::new(0);
/// assert_eq!(get(&Client { up: true }, &sent, "fs", "/tools").unwrap(), "fs/tools: ok");
/// // Another client and counter, the same key: served from the cache.
/// assert_eq!(get(&Client { up: false }, &sent, "fs", "/tools").unwrap(), "fs/tools: ok");
/// assert!(get(&Client { up: false }, &sent, "fs", "/prompts").is_err());
/// assert_eq!(sent.load(Ordering::Relaxed), 3);
/// ```
///
/// It expands as a plain `cache` does, the arguments' key parts replaced by the expression's:
///
/// ```text
/// let key = FnCache::key(&|| {}, (), (key_expression(&(service, path.to_owned())),));
/// ```
///
/// See [`retry`](macro@retry#stacking) for stacking with the other attributes.
#[doc(inline)]
pub use mcpstore_errors_macros::fallback;

/// Records the error a function returns in an [`ErrorCollector`], then returns it unchanged.
///
/// # Grammar
///
/// ```text
/// #[collect_errors]                                        the global collector
/// #[collect_errors(context = {"operation": "start"})]      `serde_json::json!` object syntax
/// #[collect_errors(collector = &MY_COLLECTOR)]             any `&ErrorCollector` expression
/// ```
///
/// The context always holds the function's path under `"function"` (with its impl's type for
/// an associated function or method: `my_crate::FsClient::list_tools`); the `context` object is
/// merged in and built only when there is an error, from the arguments as the body left them
/// (a body may not move one the context names, unless a `#[retry]` beneath hands each attempt
/// copies). Errors that implement `std::error::Error`
/// are recorded with their source chain (and code and details when a [`McpStoreError`] is in
/// it, or is named by the type's [`Classify::store_error`], as a thiserror
/// `#[error(transparent)]` wrapper needs); errors that are only `Display` are recorded by
/// message. The error type must be
/// `'static`: a generic one needs the bound (`E: Display + 'static`).
///
/// # Example
///
/// ```
/// use std::sync::LazyLock;
/// use mcpstore_errors::{ErrorCollector, McpStoreError, collect_errors};
///
/// static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));
///
/// #[collect_errors(collector = &COLLECTOR, context = {"operation": "service_management"})]
/// fn stop(name: &str) -> Result<(), McpStoreError> {
///     Err(McpStoreError::service_stop_failed(name, "still running"))
/// }
///
/// assert!(stop("fs").is_err());
/// assert_eq!(COLLECTOR.len(), 1);
/// ```
///
/// # Expands to (roughly)
///
/// ```text
/// fn stop(name: &str) -> Result<(), McpStoreError> {
///     let outcome = (|| -> Result<(), McpStoreError> { /* body */ })();
///     if let Err(error) = &outcome {
///         let collector: &ErrorCollector = &COLLECTOR;
///         collect(collector, error, "my_crate::stop", json!({"operation": "service_management"}));
///     }
///     outcome
/// }
/// ```
///
/// See [`retry`](macro@retry#stacking) for stacking with the other attributes.
#[doc(inline)]
pub use mcpstore_errors_macros::collect_errors;

/// Guards a function that returns `Result<T, E>` with the circuit breaker of a service: a call
/// while the breaker is open fails at once with a [`CircuitOpen`](ErrorKind::CircuitOpen)
/// error, and every outcome is recorded in the breaker's window. The refusal is made into `E`
/// as [`FromCircuitOpen`] does for [`CircuitBreaker::call`]: converted with
/// `E: From<McpStoreError>` (`McpStoreError` itself, `Box<dyn Error + Send + Sync>`,
/// `anyhow::Error`, an enum of yours), or, for `std::io::Error`, an `ErrorKind::Other` error
/// carrying it (seen as `CircuitOpen` by `#[retry]` and the collector). Another error type is
/// a compile error at the error type. The plain API is [`CircuitBreaker::call`] and, for
/// `async` code, [`CircuitBreaker::call_async`]: the same engine, permit and classification.
///
/// # Grammar
///
/// ```text
/// #[circuit_breaker(
///     service = "filesystem",          the service's name: any expression giving a `&str`
///                                      (`self.name`, `&service`..), evaluated per call
///     registry = &MY_BREAKERS,         a `&BreakerRegistry` (default: `breakers()`)
/// )]
/// ```
///
/// The registry makes one [`CircuitBreaker`] per service name on first use, with the
/// configuration given to [`BreakerRegistry::configure`] for that service, or its default.
/// Which errors count as failures is the breaker's decision, by kind (an error type that does
/// not implement [`Classify`] counts as configured by
/// [`CircuitBreakerConfig::unclassified_is_failure`]); a server-suggested delay keeps the
/// breaker open at least that long. A call dropped before it finishes (a cancelled future)
/// records nothing and gives a half-open probe back.
///
/// # Stacking
///
/// The recommended order, outermost first: collect, fallback, retry, breaker, timeout.
///
/// ```text
/// #[collect_errors]                      5. records what still fails
/// #[fallback(cache)]                     4. serves the last good answer when all failed
/// #[retry(deadline = "10s")]             3. retries; stops at once on CircuitOpen
/// #[circuit_breaker(service = "fs")]     2. one permit per attempt; counts its outcome
/// #[timeout("2s")]                       1. cancels a hung attempt: a ServiceTimeout failure
/// async fn call() -> Result<T, McpStoreError>
/// ```
///
/// A call goes in from the outside:
///
/// ```text
/// ┌ #[collect_errors] ─────────────────────────────────────────────────┐
/// │ records the error that still escapes                               │
/// │ ┌ #[fallback(cache(ttl = "10m"))] ───────────────────────────────┐ │
/// │ │ on an error: the last good answer                              │ │
/// │ │ ┌ #[retry(deadline = "10s", budget = ..)] ───────────────────┐ │ │
/// │ │ │ attempts until a success, the deadline, the budget,        │ │ │
/// │ │ │ an error not retried, or CircuitOpen                       │ │ │
/// │ │ │ ┌ #[circuit_breaker(service = "fs")] ────────────────────┐ │ │ │
/// │ │ │ │ a permit per attempt, or CircuitOpen at once;          │ │ │ │
/// │ │ │ │ each attempt's outcome counted                         │ │ │ │
/// │ │ │ │ ┌ #[timeout("2s")] ──────────────────────────────────┐ │ │ │ │
/// │ │ │ │ │ an attempt over 2 s: dropped, a ServiceTimeout     │ │ │ │ │
/// │ │ │ │ │ async fn read_file(&str) -> Result<String, ..>     │ │ │ │ │
/// │ │ │ │ └────────────────────────────────────────────────────┘ │ │ │ │
/// │ │ │ └────────────────────────────────────────────────────────┘ │ │ │
/// │ │ └────────────────────────────────────────────────────────────┘ │ │
/// │ └────────────────────────────────────────────────────────────────┘ │
/// └────────────────────────────────────────────────────────────────────┘
/// ```
///
/// # Example
///
/// ```
/// use mcpstore_errors::{
///     BreakerRegistry, CircuitBreakerConfig, ErrorKind, McpStoreError, SlidingWindow,
///     circuit_breaker,
/// };
/// use std::sync::LazyLock;
///
/// static BREAKERS: LazyLock<BreakerRegistry> = LazyLock::new(|| {
///     BreakerRegistry::new(
///         CircuitBreakerConfig::new().window(SlidingWindow::Count(4)).minimum_calls(4).failure_rate(0.5),
///     )
/// });
///
/// #[circuit_breaker(service = "fs", registry = &BREAKERS)]
/// fn read(ok: bool) -> Result<&'static str, McpStoreError> {
///     if ok { Ok("data") } else { Err(McpStoreError::connection("refused")) }
/// }
///
/// for _ in 0..4 {
///     assert_eq!(read(false).unwrap_err().kind(), ErrorKind::Connection);
/// }
/// // Open now: the call fails at once, without running the body.
/// assert_eq!(read(true).unwrap_err().kind(), ErrorKind::CircuitOpen);
/// ```
#[doc(inline)]
pub use mcpstore_errors_macros::circuit_breaker;

/// Races an `async fn` returning `Result<T, E>` against a timer: when the timer wins, the
/// call's future is dropped (cancelled) and it fails with a
/// [`ServiceTimeout`](ErrorKind::ServiceTimeout) error: converted with
/// `E: From<McpStoreError>` (`McpStoreError` itself, `Box<dyn Error + Send + Sync>`,
/// `anyhow::Error`, an enum of yours), or, for `std::io::Error`, an `ErrorKind::TimedOut`
/// error carrying it. Another error type is a compile error at the return type.
///
/// # Grammar
///
/// ```text
/// #[timeout("2s")]                                   a duration, as for #[retry]
/// #[timeout(after = "2s", sleeper = my_sleeper())]   the timer's `Sleeper` (default: the real one)
/// ```
///
/// Only an `async fn` can be cancelled midway; on a blocking function, bound the retries with
/// `#[retry(deadline = ..)]` instead. Inside `#[retry]`, each attempt has its own timeout;
/// `#[retry(attempt_timeout = "2s")]` does the same without a separate attribute. Above a
/// `#[circuit_breaker]`, either would cancel the breaker's call, which counts nothing, so a
/// hung service would never open it: that is a compile error unless a `#[timeout]` under the
/// breaker bounds each call first (shorter, when both are literals; a `#[timeout]` above a
/// `#[retry]` is a bound on the whole retried call, of any length).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use mcpstore_errors::{ErrorKind, McpStoreError, VirtualSleeper, timeout};
///
/// // A virtual timer fires as soon as the call has to wait.
/// #[timeout(after = "2s", sleeper = Arc::new(VirtualSleeper::new()))]
/// async fn hangs() -> Result<(), McpStoreError> {
///     std::future::pending::<()>().await;
///     Ok(())
/// }
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let error = runtime.block_on(hangs()).unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
/// ```
#[doc(inline)]
pub use mcpstore_errors_macros::timeout;

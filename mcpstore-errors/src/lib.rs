//! Typed errors, retry with backoff, fallback chains and error collection for MCPStore, applied
//! with one attribute.
//!
//! ```
//! use std::time::Duration;
//! use mcpstore_errors::{Jitter, McpStoreError, RetryConfig, RetryManager};
//!
//! let manager = RetryManager::new(RetryConfig::new().base_delay(Duration::ZERO).jitter(Jitter::None));
//! let mut calls = 0;
//! let started = manager.execute(|| {
//!     calls += 1;
//!     if calls < 3 { Err(McpStoreError::service_start_failed("fs", "port busy")) } else { Ok("running") }
//! });
//! assert_eq!(started.unwrap(), "running");
//! ```
#![deny(missing_docs)]

mod backoff;
mod classify;
mod collector;
mod error;
mod fallback;
mod kind;
mod random;
mod retry;
mod sleep;

#[doc(hidden)]
pub mod __private;

pub use backoff::{Backoff, Jitter, RetryConfig, RetryStrategy};
pub use classify::Classify;
pub use collector::{
    Clock, DEFAULT_ALERT_THRESHOLD, DEFAULT_ALERT_WINDOW, DEFAULT_MAX_ERRORS, DEFAULT_TREND_LENGTH,
    ErrorCollector, ErrorCollectorBuilder, ErrorRecord, ErrorSummary, ManualClock, RateAlert,
    SystemClock, global_collector,
};
pub use error::{BoxError, McpStoreError};
pub use fallback::{
    CacheClock, FallbackChain, FallbackStrategy, ManualCacheClock, MonotonicClock, ResponseCache,
    Served, ServedBy,
};
pub use kind::{ErrorKind, KindSet};
pub use random::{RandomSource, SeededRandom, ThreadRandom};
pub use retry::{
    AcceptAny, AnyError, ErrorFilter, NoHook, ResultFilter, RetryHook, RetryManager, RetryState,
    Retryable,
};
pub use sleep::{RealSleeper, SleepFuture, Sleeper, VirtualSleeper};

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
///                                                  seconds, or any `Duration` expression
///     backoff = 2.0,                               multiplier of the exponential strategy
///     max_delay = "30s",                           cap of every delay
///     jitter = false,                              true (±25 %), false, 0.1 (±10 %), full, equal,
///                                                  decorrelated, or a `Jitter` expression
///     strategy = fibonacci,                        fixed | linear | exponential | fibonacci
///     on = [ServiceStart, ServiceTimeout],         only these `ErrorKind`s and their sub-kinds
///     when = retryable,                            `Classify::is_retryable`, or any `Fn(&E) -> bool`
///     retry_if_result = |ok: &bool| !*ok,          retry `Ok` values too (the last one is returned)
///     config = policies::health(),                 a `RetryConfig` to start from (evaluated once)
///     on_retry = log_attempt,                      `Fn(u32, &E, Duration)`: failed attempt, error, delay
///     no_clone = [pool],                           by-value arguments the body only borrows
/// )]
/// ```
///
/// `on` and `when = retryable` need `E: Classify` and honour its `retry_after`, never beyond
/// `max_delay`; `on` and `when` together retry an error only when both accept it. The error is
/// shown in `tracing` events through its `Display` (a type without one shows its name).
///
/// The body runs in its own closure (or `async` block) per attempt, so `?` and `return` end
/// the attempt, not the loop. By-value arguments are cloned for each attempt (the last one
/// takes the original); a non-`Clone` one is a compile error at that argument unless listed
/// in `no_clone`. References pass through. Works on free functions, `async fn` (the future is
/// `Send` whenever the body's is), methods with any receiver, generic functions, trait impls and
/// methods under `#[async_trait]`. Sync functions sleep on the thread, async ones through the
/// policy's [`Sleeper`]. The policy is a `static`: a call whose first attempt
/// succeeds allocates nothing, takes no lock and draws no random number. A `config` expression
/// and non-literal values are evaluated once, on first use, and may not use the function's
/// generic parameters or `Self`.
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
///     static POLICY: RetryConfig = RetryConfig::attribute_default()
///         .max_attempts(3).base_delay(Duration::new(0, 1_000_000));
///     let mut state = RetryState::new(&POLICY, "my_crate::start");
///     loop {
///         // by-value arguments: `let arg = slot.next(last_attempt);`
///         let outcome = (|| -> Result<&'static str, McpStoreError> { /* body */ })();
///         let delay = match outcome {
///             Ok(value) => break Ok(value),
///             Err(error) => {
///                 if !is_of_kind(&error, KindSet::of(&[ServiceStart, ServiceTimeout])) {
///                     state.on_not_retryable(&error);
///                     break Err(error);
///                 }
///                 match state.on_error(&error, error.retry_after()) {
///                     Some(delay) => delay,
///                     None => break Err(error),
///                 }
///             }
///         };
///         POLICY.sleep(delay); // `POLICY.sleep_async(delay).await` in an async fn
///     }
/// }
/// ```
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
///
/// Other attributes between them keep their place relative to the function.
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
///     default,                                 `T::default()`
///     default = Vec::new(),                    this expression, evaluated only when needed
///     with = Self::list_tools_from_backup,     an alternative taking the same arguments
///     recover = Self::on_failure,              the same arguments plus `&error`
///     no_clone = [pool],                       by-value arguments not to clone for the strategies
/// )]
/// ```
///
/// Each strategy may be given once. `with` and `recover` return `Result<T, _>` and are awaited
/// in an `async fn`; a wrong signature is a compile error at the path. The cache is one
/// `static` per function, keyed by the `Ok` type and every argument except `self` (each must be
/// `Hash`, a compile error at the argument otherwise), and needs `T: Clone + Send + Sync +
/// 'static`. Strategies after `default` never run. When `with` or `recover` is present,
/// by-value arguments are cloned for the original call so they can be passed on. Each fallback
/// is reported as a `tracing` event.
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
/// # Expands to (roughly)
///
/// ```text
/// fn tools(service: &str) -> Result<Vec<String>, McpStoreError> {
///     static CACHE: FnCache = FnCache::new(Duration::new(600, 0), 1024);
///     let key = FnCache::key::<Vec<String>, _>(&(key_part(&service),));
///     match (|| -> Result<Vec<String>, McpStoreError> { /* body */ })() {
///         Ok(value) => { CACHE.store(key, &value); Ok(value) }
///         Err(error) => 'chain: {
///             if let Some(value) = CACHE.lookup(key) { break 'chain Ok(value); }
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
/// The context always holds the function's path under `"function"`; the `context` object is
/// merged in and built only when there is an error. Errors that implement `std::error::Error`
/// are recorded with their source chain (and code and details when a [`McpStoreError`] is in
/// it); errors that are only `Display` are recorded by message.
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

//! The error collector: a bounded history of errors, exact per-type statistics and trends, a
//! rate alert, summaries and JSON exports.
//!
//! Collecting is built to be cheap enough to call on every error: each thread records into
//! its own shard (a ring of records plus per-type counters and trends), a `McpStoreError`
//! collected again and again is held once per shard (so threads collecting one error value
//! share no reference count), contexts are shared, and nothing is formatted until a summary
//! or an export asks. Outside a burst, the alert reads one atomic count per type. Reads lock
//! every shard, copy pointers, and format after releasing the locks.

mod alert;
mod clean;
mod clock;
mod context;
mod export;
mod file;
mod history;
mod limits;
mod pretty;
mod record;
mod redact;
mod ring;
mod shard;
mod shard_lock;
mod summary;

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use self::alert::{AlertState, Callbacks};
use self::clock::{Stamp, TimeSource};
use self::shard::{Collected, Incoming, Shard, ShardData};
use self::shard_lock::ShardGuard;
use crate::{Classify, McpStoreError};

pub use self::alert::RateAlert;
pub(crate) use self::alert::panic_message;
pub use self::context::Context;
pub use self::file::ExportOptions;
pub use self::limits::{
    DEFAULT_MAX_CONTEXT_BYTES, DEFAULT_MAX_CONTEXT_DEPTH, MAX_CONTEXT_DEPTH, MAX_MESSAGE_BYTES,
};
pub use self::record::ErrorRecord;
#[cfg(feature = "rmcp")]
pub(crate) use self::record::short_type_name;
pub use self::redact::{REDACTED, RedactTarget, Redactor, is_secret_key};
pub use self::summary::ErrorSummary;
use crate::clock::Clock;

/// The history size of [`global_collector`] and of [`ErrorCollector::builder`].
pub const DEFAULT_MAX_ERRORS: usize = 1000;
/// The default alert threshold: more than this many errors of one type within the window.
pub const DEFAULT_ALERT_THRESHOLD: usize = 10;
/// The default alert window: five minutes.
pub const DEFAULT_ALERT_WINDOW: Duration = Duration::from_secs(300);
/// The default number of timestamps kept per type in its trend.
pub const DEFAULT_TREND_LENGTH: usize = 100;

/// Collects errors: keeps the newest `max_errors`, counts every error by type, tracks each
/// type's recent timestamps, and raises a [`RateAlert`] when one type comes too fast.
///
/// - **History**: exactly the newest `max_errors` errors. On one thread, newest is collect
///   order. Across threads, newest is by timestamp (the collector's clock), and errors of
///   different threads with equal timestamps are ordered by when each thread first collected
///   into this collector, older first, and keep that order after their thread ends. Each
///   thread keeps its own ring of up to `max_errors`, merged when read; the ring of a thread
///   that ends is merged into the collector, so memory is bounded by `max_errors` per live
///   thread that collected. Each thread also keeps up to 64 recently collected
///   `McpStoreError` values alive, to hold each once for all its records, until they give
///   way to others or [`clear`](Self::clear) or [`reset`](Self::reset) runs.
/// - **Statistics**: cumulative counts per type since the collector was made (or
///   [`reset`](Self::reset)), exact under any number of threads; eviction does not lower them.
/// - **Trends**: the newest `trend_length` timestamps of each type.
/// - **Alert**: more than `alert_threshold` errors of one type within `alert_window` (10 in
///   5 minutes by default) raises one alert for the burst, to the [`on_alert`](Self::on_alert)
///   callbacks and as a `tracing` warning. The alert re-arms once an error of that type finds
///   the count back at or below the threshold.
///
/// The type of an error is the class name of a [`McpStoreError`]'s kind
/// (`"ServiceNotFoundError"`), or the Rust type name without module paths for any other
/// error (`"Error"` for `std::io::Error`). Two types with the same short name share one
/// entry, as they would in Python. An error that wraps a `McpStoreError` (found through
/// [`source()`](std::error::Error::source)) keeps its own type name and message, and takes
/// the code and details of the wrapped error.
///
/// Cloning gives another handle to the same collector.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{ErrorCollector, McpStoreError};
/// use serde_json::json;
///
/// let collector = ErrorCollector::new(2);
/// for name in ["a", "b", "c"] {
///     collector.collect(&McpStoreError::service_not_found(name), json!({"op": "start"}));
/// }
/// let kept: Vec<String> = collector.records().iter().map(|r| r.message().to_owned()).collect();
/// assert_eq!(kept, ["Service 'b' not found", "Service 'c' not found"]);
/// assert_eq!(collector.statistics()["ServiceNotFoundError"], 3);
/// assert_eq!(collector.summary(Duration::from_secs(3600)).total_errors, 2);
/// ```
#[derive(Clone)]
pub struct ErrorCollector {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    max_errors: usize,
    alert_threshold: usize,
    alert_window: Duration,
    trend_length: usize,
    clock: TimeSource,
    context_limits: limits::ContextLimits,
    redactor: Redactor,
}

impl Config {
    /// The trend must hold one more than the threshold for the alert to see a burst.
    #[inline]
    fn trend_capacity(&self) -> usize {
        if self.alerts_off() {
            return self.trend_length;
        }
        self.trend_length
            .max(self.alert_threshold.saturating_add(1))
    }

    /// A threshold of `usize::MAX` cannot be exceeded, and a zero window holds no error.
    #[inline]
    fn alerts_off(&self) -> bool {
        self.alert_threshold == usize::MAX || self.alert_window.is_zero()
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    config: Config,
    /// Every live shard; the first is the retired shard, which holds what threads that
    /// ended left behind.
    shards: Mutex<Vec<Arc<Shard>>>,
    alert_states: Mutex<HashMap<&'static str, Arc<AlertState>>>,
    callbacks: Callbacks,
    /// Contexts replaced by a marker for exceeding the limits.
    oversized_contexts: AtomicU64,
    /// Errors whose details were replaced by a marker for exceeding the limits.
    oversized_details: AtomicU64,
    /// The origin of the next shard registered, from 0 (the retired shard's is
    /// [`RETIRED_ORIGIN`]).
    next_origin: AtomicU32,
}

/// The retired shard's origin, after every other: what it records directly is collected
/// during a thread's teardown, after that thread's own entries (merged ones keep theirs).
const RETIRED_ORIGIN: u32 = u32::MAX;

impl Drop for Inner {
    /// A thread keeps its shard of a collector until it ends or next registers a shard of
    /// another one: emptied here, what the shards held (errors, contexts) goes with the
    /// collector.
    fn drop(&mut self) {
        let shards = std::mem::take(self.shards.get_mut().unwrap_or_else(|e| e.into_inner()));
        for shard in shards {
            // Dropped after the guard: dropping errors may run arbitrary code.
            let held = std::mem::take(&mut *shard.lock());
            drop(held);
        }
    }
}

impl Inner {
    #[inline]
    fn now(&self) -> Stamp {
        self.config.clock.now()
    }

    fn registry(&self) -> MutexGuard<'_, Vec<Arc<Shard>>> {
        self.shards.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register_shard(&self) -> Arc<Shard> {
        // Saturating below the retired shard's: past 2^32 registrations, equal times among
        // the newest shards' entries fall back to their position.
        let origin = self
            .next_origin
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                next.checked_add(1).filter(|&after| after < RETIRED_ORIGIN)
            })
            .unwrap_or(RETIRED_ORIGIN - 1);
        let shard = Arc::new(Shard::new(origin));
        self.registry().push(Arc::clone(&shard));
        shard
    }

    fn retired_shard(&self) -> Arc<Shard> {
        match self.registry().first() {
            Some(retired) => Arc::clone(retired),
            None => self.register_shard(),
        }
    }

    /// Merges the shard of a thread that ended into the retired shard.
    fn retire(&self, shard: &Arc<Shard>) {
        let mut registry = self.registry();
        let Some(position) = registry.iter().position(|s| Arc::ptr_eq(s, shard)) else {
            return;
        };
        if position == 0 {
            return;
        }
        registry.remove(position);
        let left = std::mem::take(&mut *shard.lock());
        let evicted = registry[0].lock().absorb(self, left);
        drop(registry);
        // Dropping errors may run arbitrary code: not under the collector's locks.
        drop(evicted);
    }

    fn alert_state(&self, name: &'static str) -> Arc<AlertState> {
        let mut states = self.alert_states.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(states.entry(name).or_default())
    }

    /// Locks every shard, in registry order.
    fn with_shards<R>(&self, read: impl FnOnce(&[ShardGuard<'_, ShardData>]) -> R) -> R {
        self.with_shards_mut(|guards| read(guards))
    }

    /// Locks every shard, in registry order, for a change.
    fn with_shards_mut<R>(&self, change: impl FnOnce(&mut [ShardGuard<'_, ShardData>]) -> R) -> R {
        let registry = self.registry();
        let mut guards: Vec<ShardGuard<'_, ShardData>> =
            registry.iter().map(|shard| shard.lock()).collect();
        change(&mut guards)
    }

    /// Room for a copy of every shard's history, taken before the locks are: see
    /// [`history::touched`]. A shard that grows meanwhile makes it grow under the locks.
    fn copy_buffer(&self) -> Vec<history::Copied> {
        let held = self.with_each_shard(|shard| shard.records.len());
        history::touched(held.into_iter().sum())
    }

    /// Applies `change` to every shard, in registry order, returning what it gives back (to
    /// be dropped after the locks are released: dropping errors may run arbitrary code).
    fn with_each_shard<T>(&self, mut change: impl FnMut(&mut ShardData) -> T) -> Vec<T> {
        let registry = self.registry();
        registry
            .iter()
            .map(|shard| change(&mut shard.lock()))
            .collect()
    }

    /// Counts `name` within the window over every shard (making their published counts
    /// exact) and moves the alert state; returns the alert to deliver when this error starts
    /// a burst.
    #[cold]
    fn check_rate(&self, name: &'static str, state: &AlertState, now: Stamp) -> Option<RateAlert> {
        let _gate = state.gate();
        let count = self.with_shards_mut(|shards| {
            shards
                .iter_mut()
                .map(|shard| shard.recent(name, now, &self.config))
                .sum()
        });
        state
            .update(count, self.config.alert_threshold)
            .then(|| RateAlert {
                error_type: name.to_owned(),
                count,
                threshold: self.config.alert_threshold,
                window: self.config.alert_window,
                at: now.time(),
            })
    }
}

impl ErrorCollector {
    /// A collector keeping the newest `max_errors` errors, with the default alert (more than
    /// 10 of one type in 5 minutes) and trend length (100).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(500);
    /// assert_eq!(collector.max_errors(), 500);
    /// ```
    pub fn new(max_errors: usize) -> Self {
        Self::builder().max_errors(max_errors).build()
    }

    /// A builder for the history size, the alert threshold and window, the trend length and
    /// the clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::ErrorCollector;
    ///
    /// let collector = ErrorCollector::builder()
    ///     .max_errors(10_000)
    ///     .alert_threshold(50)
    ///     .alert_window(Duration::from_secs(60))
    ///     .trend_length(200)
    ///     .build();
    /// assert_eq!(collector.max_errors(), 10_000);
    /// ```
    pub fn builder() -> ErrorCollectorBuilder {
        ErrorCollectorBuilder::default()
    }

    /// Records `error` with `context`: any JSON (a null context exports as `{}`), given as a
    /// [`serde_json::Value`], or shared as an `Arc<Value>` or a `&'static Value` (see
    /// [`Context`]). The history keeps a shared context by pointer; it is copied only when
    /// redaction must change it (the copy is masked, the caller's value never is), and
    /// replaced by a marker when over the limits. A shared context found clean is remembered
    /// (per thread, the last 8), so it is not walked again on each collect.
    ///
    /// A [`McpStoreError`] is kept by reference count; another error is formatted once, and
    /// the first `McpStoreError` among its causes supplies the code and details. Also emits a
    /// `tracing` debug event, and may raise a [`RateAlert`] (callbacks run on this thread,
    /// after every internal lock is released).
    ///
    /// A `Display` that returns `Err` or panics gives the message `<Type could not be
    /// displayed>`; a `source()` that panics ends the search for a `McpStoreError`. Either
    /// way the error is recorded, with a `tracing` warning, and the panic is caught; the
    /// process's panic hook still runs first (the default one prints the panic to stderr).
    ///
    /// ```
    /// use mcpstore_errors::{ErrorCollector, McpStoreError};
    ///
    /// let collector = ErrorCollector::new(10);
    /// let io = std::io::Error::other("disk full");
    /// collector.collect(&io, serde_json::json!({"file": "a.json"}));
    /// let wrapped = std::io::Error::other(McpStoreError::service_timeout("fs", std::time::Duration::from_secs(5)));
    /// collector.collect(&wrapped, serde_json::Value::Null);
    ///
    /// let records = collector.records();
    /// assert_eq!(records[0].error_type(), "Error");
    /// assert_eq!(records[0].code(), None);
    /// assert_eq!(records[1].code(), Some("SERVICE_TIMEOUT"));
    /// ```
    #[inline]
    pub fn collect<E: StdError + 'static>(&self, error: &E, context: impl Into<Context>) {
        self.collect_in(error, context.into(), None);
    }

    /// `collect`, with the name of the function `#[collect_errors]` collected the error in.
    #[inline]
    pub(crate) fn collect_in<E: StdError + 'static>(
        &self,
        error: &E,
        context: Context,
        function: Option<&'static str>,
    ) {
        self.collect_described(error, context, function, record::describe);
    }

    /// Records `error` as `describe` describes it, but a `McpStoreError`, which goes to the
    /// shard by reference: the shard holds it once for every entry of the same error, instead
    /// of a clone per entry.
    #[inline]
    fn collect_described<E: StdError + 'static>(
        &self,
        error: &E,
        context: Context,
        function: Option<&'static str>,
        describe: impl FnOnce(&E) -> (record::TypeKey, record::Payload),
    ) {
        if let Some(store) = (error as &dyn std::any::Any).downcast_ref::<McpStoreError>() {
            return self.record_store(store, context, function);
        }
        let (key, payload) = describe(error);
        self.record_other(key, payload, context, function);
    }

    /// [`collect`](Self::collect) for an error type that implements [`Classify`]: one whose
    /// [`store_error`](Classify::store_error) names the [`McpStoreError`] it wraps is recorded
    /// with that error's kind, code and details even when its `source()` does not lead there
    /// (a thiserror `#[error(transparent)]` variant); a kind its
    /// [`error_kind`](Classify::error_kind) gives is the record's, with that kind's code.
    /// `#[collect_errors]` collects such types this way.
    ///
    /// ```
    /// use mcpstore_errors::{Classify, ErrorCollector, McpStoreError};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// enum ClientError {
    ///     #[error(transparent)]
    ///     Store(#[from] McpStoreError),
    /// }
    ///
    /// impl Classify for ClientError {
    ///     fn store_error(&self) -> Option<&McpStoreError> {
    ///         let ClientError::Store(error) = self;
    ///         Some(error)
    ///     }
    /// }
    ///
    /// let collector = ErrorCollector::new(10);
    /// let error = ClientError::from(McpStoreError::service_not_found("fs"));
    /// collector.collect_classified(&error, serde_json::Value::Null);
    /// let record = &collector.records()[0];
    /// assert_eq!(record.error_type(), "ClientError");
    /// assert_eq!(record.code(), Some("SERVICE_NOT_FOUND"));
    /// ```
    pub fn collect_classified<E: StdError + Classify + 'static>(
        &self,
        error: &E,
        context: impl Into<Context>,
    ) {
        self.collect_classified_in(error, context.into(), None);
    }

    /// `collect_classified`, with the name of the function `#[collect_errors]` collected the
    /// error in.
    pub(crate) fn collect_classified_in<E: StdError + Classify + 'static>(
        &self,
        error: &E,
        context: Context,
        function: Option<&'static str>,
    ) {
        self.collect_described(error, context, function, record::describe_classified);
    }

    /// Records an error seen through `dyn Error`, such as the content of a
    /// `Box<dyn Error + Send + Sync>`: a [`McpStoreError`] is recorded as by
    /// [`collect`](Self::collect); another error keeps its message and takes the code and
    /// details of the first `McpStoreError` among its causes, and is filed under the type
    /// `dyn Error` (its concrete type is unknown behind `dyn`; `io::Error` is recognised).
    /// A `Display` or `source()` that panics is caught as by `collect`.
    ///
    /// ```
    /// use mcpstore_errors::{ErrorCollector, McpStoreError};
    ///
    /// let collector = ErrorCollector::new(10);
    /// let boxed: Box<dyn std::error::Error + Send + Sync> = McpStoreError::service_not_found("fs").into();
    /// collector.collect_dyn(&*boxed, serde_json::Value::Null);
    /// assert_eq!(collector.records()[0].error_type(), "ServiceNotFoundError");
    /// assert_eq!(collector.records()[0].code(), Some("SERVICE_NOT_FOUND"));
    /// ```
    pub fn collect_dyn(&self, error: &(dyn StdError + 'static), context: impl Into<Context>) {
        self.collect_dyn_in(error, context.into(), None);
    }

    /// `collect_dyn`, with the name of the function `#[collect_errors]` collected the error
    /// in.
    pub(crate) fn collect_dyn_in(
        &self,
        error: &(dyn StdError + 'static),
        context: Context,
        function: Option<&'static str>,
    ) {
        if let Some(store) = error.downcast_ref::<McpStoreError>() {
            return self.record_store(store, context, function);
        }
        let (key, payload) = record::describe_dyn(error);
        self.record_other(key, payload, context, function);
    }

    /// Records an [`anyhow::Error`] under the type `"anyhow::Error"`, with its message (its
    /// `Display`: the outermost context) and the kind, code and details of the first
    /// [`McpStoreError`] it wraps, as the error or as a context. Needs the `anyhow` feature.
    /// A `Display` or `source()` that panics is caught as by [`collect`](Self::collect).
    ///
    /// ```
    /// use anyhow::Context as _;
    /// use mcpstore_errors::{ErrorCollector, McpStoreError};
    ///
    /// let collector = ErrorCollector::new(10);
    /// let error = Err::<(), _>(McpStoreError::service_timeout("fs", std::time::Duration::from_secs(5)))
    ///     .context("listing tools")
    ///     .unwrap_err();
    /// collector.collect_anyhow(&error, serde_json::Value::Null);
    /// let record = &collector.records()[0];
    /// assert_eq!(record.error_type(), "anyhow::Error");
    /// assert_eq!(record.message(), "listing tools");
    /// assert_eq!(record.code(), Some("SERVICE_TIMEOUT"));
    /// ```
    #[cfg(feature = "anyhow")]
    pub fn collect_anyhow(&self, error: &anyhow::Error, context: impl Into<Context>) {
        self.collect_anyhow_in(error, context.into(), None);
    }

    /// `collect_anyhow`, with the name of the function `#[collect_errors]` collected the
    /// error in.
    #[cfg(feature = "anyhow")]
    pub(crate) fn collect_anyhow_in(
        &self,
        error: &anyhow::Error,
        context: Context,
        function: Option<&'static str>,
    ) {
        let (key, payload) = record::describe_anyhow(error);
        self.record_other(key, payload, context, function);
    }

    /// Records a value that is only [`Display`] (a `String`, a `&str`, a type without an
    /// `Error` impl): its message is the formatted value, its type the short Rust type name
    /// (`"String"`), with no code or details. A `Display` that fails or panics is handled
    /// as by [`collect`](Self::collect).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect_display(&String::from("quota exceeded"), serde_json::Value::Null);
    /// let record = &collector.records()[0];
    /// assert_eq!(record.error_type(), "String");
    /// assert_eq!(record.message(), "quota exceeded");
    /// ```
    pub fn collect_display<T: Display + ?Sized + 'static>(
        &self,
        error: &T,
        context: impl Into<Context>,
    ) {
        self.collect_display_in(error, context.into(), None);
    }

    /// `collect_display`, with the name of the function `#[collect_errors]` collected the
    /// value in.
    pub(crate) fn collect_display_in<T: Display + ?Sized + 'static>(
        &self,
        error: &T,
        context: Context,
        function: Option<&'static str>,
    ) {
        let (key, payload) = record::describe_display(error);
        self.record_other(key, payload, context, function);
    }

    /// [`record`](Self::record) for a `McpStoreError`, passed by reference: an `Incoming`
    /// passed by value went through memory, with a stalled wide load per collect.
    ///
    /// Not `#[inline]`: compiled once, here, rather than into every crate that collects (one
    /// call costs a nanosecond; a copy costs each such crate its compile time).
    fn record_store(
        &self,
        error: &McpStoreError,
        context: Context,
        function: Option<&'static str>,
    ) {
        let key = record::TypeKey::Kind(error.kind());
        self.record(key, Incoming::Store(error), context, function);
    }

    /// [`record`](Self::record) for any other error, described as `payload`.
    fn record_other(
        &self,
        key: record::TypeKey,
        payload: record::Payload,
        context: Context,
        function: Option<&'static str>,
    ) {
        self.record(key, Incoming::Other(payload), context, function);
    }

    /// Bounds and redacts the context and the error, then stores them: nothing over the
    /// limits or left unredacted reaches the history or the `tracing` event. The collect is
    /// built once, here, and changed in place from then on.
    #[inline(always)]
    fn record(
        &self,
        key: record::TypeKey,
        error: Incoming<'_>,
        context: Context,
        function: Option<&'static str>,
    ) {
        // First, unlocked: a user's clock that panics leaves nothing counted or recorded.
        let now = self.inner.now();
        let mut collected = Collected {
            error,
            context,
            function,
        };
        let redactor = &self.inner.config.redactor;
        // A shared context found clean before is neither walked nor copied again.
        let remembered =
            redactor.context_alone() && clean::is_clean(&self.inner, &collected.context);
        let details = if remembered {
            redact::apply(
                redactor,
                &self.inner.config.context_limits,
                key,
                &mut collected.error,
                &mut collected.context,
                true,
            )
        } else {
            let shared = collected.context.shared_key();
            // A handle on the marker, if any: the marker may itself be over a small limit.
            let replaced = self.bound(&mut collected.context, true);
            let marker = replaced.then(|| collected.context.clone());
            let details = redact::apply(
                redactor,
                &self.inner.config.context_limits,
                key,
                &mut collected.error,
                &mut collected.context,
                false,
            );
            // What the hook wrote is bounded too; the marker, if left as it was, is kept.
            let kept_marker =
                marker.is_some_and(|marker| marker.value() == collected.context.value());
            if redactor.may_grow() && !kept_marker {
                // Counted once a collect, as details are.
                let _ = self.bound(&mut collected.context, !replaced);
            }
            // Still the caller's own pointer: within the limits, nothing masked.
            if let Some(shared) = shared.filter(|shared| shared.matches(&collected.context)) {
                if redactor.context_alone() {
                    clean::remember(&self.inner, shared);
                }
            }
            details
        };
        self.count_oversized_details(details);
        // Evaluated only when the event is enabled: a held error's message is checked once,
        // on first sight, which may be below.
        tracing::debug!(
            target: "mcpstore_errors::collector",
            error = &*redact::message_seen(redactor, &collected.error),
            "error collected"
        );
        let kind = collected.error.kind();
        // Dropped where it lies at the end of this function (unlocked), with `collected`,
        // which the shard left empty.
        let mut left = shard::Leftover::default();
        if let Err(shard::Refused) =
            shard::record_local(&self.inner, key, &mut collected, now, &mut left)
        {
            // A `McpStoreError` the shard does not hold yet: its details are checked here,
            // unlocked, and it is recorded as checked (so never refused again).
            let details = redact::first_sight(
                redactor,
                &self.inner.config.context_limits,
                &mut collected.error,
            );
            self.count_oversized_details(details);
            let _recorded = shard::record_local(&self.inner, key, &mut collected, now, &mut left);
        }
        // The name the shard filed it under: `key.name()` would look it up under a global lock.
        crate::metrics::error_collected(|| (left.error_type.unwrap_or_else(|| key.name()), kind));
        if let Some((name, state)) = left.rate_check.take() {
            if let Some(alert) = self.inner.check_rate(name, &state, now) {
                self.inner.callbacks.deliver(&alert, self);
            }
        }
    }

    /// Replaces `context` by a marker when it exceeds the limits (counted if `count`);
    /// whether it did.
    #[inline]
    fn bound(&self, context: &mut Context, count: bool) -> bool {
        let limits = &self.inner.config.context_limits;
        if let Err(oversize) = limits.check(context.value()) {
            let taken = std::mem::take(context);
            *context = self.oversized(taken, oversize, count);
            return true;
        }
        false
    }

    #[cold]
    fn oversized(&self, context: Context, oversize: limits::Oversize, count: bool) -> Context {
        if count {
            self.inner
                .oversized_contexts
                .fetch_add(1, Ordering::Relaxed);
        }
        let marker = self.inner.config.context_limits.marker(oversize);
        tracing::warn!(
            target: "mcpstore_errors::collector",
            marker = %marker,
            "a context over the collector's limits was replaced by a marker"
        );
        context.drop_flat();
        Context::from(marker)
    }

    #[inline]
    fn count_oversized_details(&self, details: redact::DetailsBound) {
        if details == redact::DetailsBound::Replaced {
            self.inner.oversized_details.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many errors had details over the context limits, replaced by a marker in the
    /// record (the error's message and kind are kept), since the collector was made or
    /// [`reset`](Self::reset).
    ///
    /// ```
    /// use mcpstore_errors::McpStoreError;
    ///
    /// let collector = mcpstore_errors::ErrorCollector::builder().max_context_bytes(16).build();
    /// let error = McpStoreError::connection("refused")
    ///     .with_detail("response", "far more than sixteen bytes");
    /// collector.collect(&error, serde_json::Value::Null);
    /// assert_eq!(collector.oversized_details(), 1);
    /// assert_eq!(collector.records()[0].details().unwrap()["_truncated"], true);
    /// ```
    pub fn oversized_details(&self) -> u64 {
        self.inner.oversized_details.load(Ordering::Relaxed)
    }

    /// How many contexts exceeded the size or depth limit and were replaced by a marker
    /// (`{"_truncated": true, "reason": .., ..}`) since the collector was made or
    /// [`reset`](Self::reset).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::builder().max_context_bytes(16).build();
    /// collector.collect(&std::fmt::Error, serde_json::json!({"payload": "far more than sixteen bytes"}));
    /// assert_eq!(collector.oversized_contexts(), 1);
    /// assert_eq!(collector.records()[0].context()["_truncated"], true);
    /// ```
    pub fn oversized_contexts(&self) -> u64 {
        self.inner.oversized_contexts.load(Ordering::Relaxed)
    }

    /// Registers a callback for rate alerts. Callbacks run on the thread whose collect raised
    /// the alert, outside the collector's locks; one that panics is reported as a `tracing`
    /// error and the collector carries on.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static ALERTS: AtomicUsize = AtomicUsize::new(0);
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.on_alert(|_alert| {
    ///     ALERTS.fetch_add(1, Ordering::Relaxed);
    /// });
    /// collector.on_alert(|_alert| panic!("a faulty callback")); // reported, not propagated
    /// for _ in 0..11 {
    ///     collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// }
    /// assert_eq!(ALERTS.load(Ordering::Relaxed), 1);
    /// ```
    ///
    /// A callback that needs the collector takes it as an argument with
    /// [`on_alert_with`](Self::on_alert_with), or holds a [`WeakCollector`]: a clone of the
    /// collector captured by its own callback keeps it alive forever.
    pub fn on_alert<F>(&self, callback: F)
    where
        F: Fn(&RateAlert) + Send + Sync + 'static,
    {
        self.inner
            .callbacks
            .add(Arc::new(move |alert: &RateAlert, _: &ErrorCollector| {
                callback(alert)
            }));
    }

    /// Registers a callback for rate alerts that also gets the collector that raised the
    /// alert, without owning it. Otherwise as [`on_alert`](Self::on_alert).
    ///
    /// ```
    /// use mcpstore_errors::ErrorCollector;
    ///
    /// let collector = ErrorCollector::new(100);
    /// collector.on_alert_with(|alert, collector| {
    ///     collector.collect_display(&format!("alert for {}", alert.error_type), serde_json::Value::Null);
    /// });
    /// let weak = collector.downgrade();
    /// for _ in 0..11 {
    ///     collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// }
    /// assert_eq!(collector.statistics()["String"], 1);
    /// drop(collector);
    /// assert!(weak.upgrade().is_none(), "the callback did not keep it alive");
    /// ```
    pub fn on_alert_with<F>(&self, callback: F)
    where
        F: Fn(&RateAlert, &ErrorCollector) + Send + Sync + 'static,
    {
        self.inner.callbacks.add(Arc::new(callback));
    }

    /// A handle that does not keep the collector alive; see [`WeakCollector`].
    pub fn downgrade(&self) -> WeakCollector {
        WeakCollector {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Counts of the errors in the history collected within `window` before now: total, by
    /// type, by code, and by hour of day (UTC).
    ///
    /// ```
    /// use std::time::Duration;
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// assert_eq!(collector.summary(Duration::from_secs(24 * 3600)).total_errors, 1);
    /// ```
    pub fn summary(&self, window: Duration) -> ErrorSummary {
        let now = self.inner.now();
        self.inner.with_shards(|shards| {
            let max_errors = self.inner.config.max_errors;
            let held: usize = shards.iter().map(|shard| shard.records.len()).sum();
            if held <= max_errors {
                // The common case: every entry held is in the history; no list to build.
                let entries = shards.iter().flat_map(|shard| shard.records.iter());
                return summary::summarize(entries, now, window);
            }
            let entries = history::newest_unordered(shards, max_errors);
            summary::summarize(entries.into_iter().map(|(_, entry)| entry), now, window)
        })
    }

    /// The history, oldest first: at most `max_errors` records.
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// assert_eq!(collector.records()[0].message(), "an error occurred when formatting an argument");
    /// ```
    pub fn records(&self) -> Vec<ErrorRecord> {
        // Copied under the locks, chosen and ordered after releasing them.
        let buffer = self.inner.copy_buffer();
        let copies = self
            .inner
            .with_shards(|shards| history::copy_all(shards, buffer));
        history::newest_of_copies(copies, self.inner.config.max_errors)
    }

    /// How many errors the history holds.
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(1);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// assert_eq!(collector.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.with_shards(|shards| {
            let held: usize = shards.iter().map(|shard| shard.records.len()).sum();
            held.min(self.inner.config.max_errors)
        })
    }

    /// Whether the history is empty.
    ///
    /// ```
    /// assert!(mcpstore_errors::ErrorCollector::new(10).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many errors the history keeps.
    ///
    /// ```
    /// assert_eq!(mcpstore_errors::ErrorCollector::new(7).max_errors(), 7);
    /// ```
    pub fn max_errors(&self) -> usize {
        self.inner.config.max_errors
    }

    /// Every error collected so far, counted by type; cumulative, not limited to the history.
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(1);
    /// for _ in 0..3 {
    ///     collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// }
    /// assert_eq!(collector.statistics()["Error"], 3);
    /// ```
    pub fn statistics(&self) -> BTreeMap<String, u64> {
        self.inner.with_shards(statistics)
    }

    /// The newest `trend_length` collect times of `error_type`, oldest first (empty for a
    /// type never seen).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// assert_eq!(collector.trend("Error").len(), 1);
    /// assert!(collector.trend("ServiceNotFoundError").is_empty());
    /// ```
    pub fn trend(&self, error_type: &str) -> Vec<SystemTime> {
        let mut times: Vec<Stamp> = self.inner.with_shards(|shards| {
            shards
                .iter()
                .flat_map(|shard| shard.types.iter())
                .filter(|slot| slot.name == error_type)
                .flat_map(|slot| slot.trend.iter().copied())
                .collect()
        });
        times.sort_unstable();
        let skip = times.len().saturating_sub(self.inner.config.trend_length);
        times.into_iter().skip(skip).map(Stamp::time).collect()
    }

    /// Empties the history and the trends, and re-arms every alert. Statistics are kept: they
    /// count every error since the collector was made; see [`reset`](Self::reset).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// collector.clear();
    /// assert!(collector.is_empty());
    /// assert_eq!(collector.statistics()["Error"], 1);
    /// ```
    pub fn clear(&self) {
        // Re-armed under every shard's lock: no collect runs between emptying and re-arming.
        let taken = self.inner.with_shards_mut(|shards| {
            let taken: Vec<_> = shards
                .iter_mut()
                .map(|shard| shard.take_history())
                .collect();
            self.rearm_alerts();
            taken
        });
        drop(taken);
    }

    /// Empties the history, the trends, the statistics and the count of
    /// [oversized contexts](Self::oversized_contexts) and [details](Self::oversized_details), and re-arms every alert.
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect(&std::fmt::Error, serde_json::Value::Null);
    /// collector.reset();
    /// assert!(collector.statistics().is_empty());
    /// ```
    pub fn reset(&self) {
        let taken = self.inner.with_shards_mut(|shards| {
            let taken: Vec<_> = shards.iter_mut().map(|shard| shard.take_all()).collect();
            self.inner.oversized_contexts.store(0, Ordering::Relaxed);
            self.inner.oversized_details.store(0, Ordering::Relaxed);
            self.rearm_alerts();
            taken
        });
        drop(taken);
    }

    fn rearm_alerts(&self) {
        let states = self
            .inner
            .alert_states
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for state in states.values() {
            state.rearm();
        }
    }

    /// Writes the history as the seed's JSON document to `path`: `export_time`,
    /// `total_errors`, `errors` (see [`ErrorRecord`] for each entry), and `statistics`
    /// (cumulative counts by type); pretty-printed, non-ASCII text kept as is.
    ///
    /// The document goes to a temporary file in the same folder, flushed to disk, then
    /// renamed over `path`: a reader never sees half a file, and a failed export leaves an
    /// earlier file untouched. The temporary name is short (`.mcpstore-<pid>-<n>.tmp`), so any
    /// legal file name can be written. A `path` that is a symbolic link is followed (through
    /// a chain, relative targets against the link's folder): the link's target is written,
    /// the temporary file made beside it, and the link stays; a dangling link creates the
    /// file it names, and a loop of links is an `Err`. On Unix the file replaced keeps its
    /// permission bits, and a new file is readable by its owner alone (`0o600`; see
    /// [`export_with`](Self::export_with)). An unwritable path is an `Err` naming the path (kind
    /// [`Configuration`](crate::ErrorKind::Configuration) for a missing folder or a refused
    /// permission), with the I/O error as its source.
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// collector.collect(&mcpstore_errors::McpStoreError::service_not_found("fs"), serde_json::Value::Null);
    /// let path = std::env::temp_dir().join(format!("collector-doc-{}.json", std::process::id()));
    /// collector.export(&path)?;
    /// let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    /// assert_eq!(document["errors"][0]["error_code"], "SERVICE_NOT_FOUND");
    /// assert_eq!(document["statistics"]["ServiceNotFoundError"], 1);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export(&self, path: impl AsRef<Path>) -> Result<(), McpStoreError> {
        self.export_with(path, &ExportOptions::default())
    }

    /// [`export`](Self::export) with options: on Unix, the permission bits of a new file
    /// (a replaced file keeps its own; a new one is `0o600` by default).
    ///
    /// ```
    /// use mcpstore_errors::{ErrorCollector, ExportOptions};
    ///
    /// let collector = ErrorCollector::new(10);
    /// let path = std::env::temp_dir().join(format!("collector-doc-mode-{}.json", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let options = ExportOptions::new();
    /// # #[cfg(unix)]
    /// let options = options.new_file_mode(0o644);
    /// collector.export_with(&path, &options)?;
    /// # #[cfg(unix)]
    /// # {
    /// use std::os::unix::fs::PermissionsExt;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o644);
    /// # }
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_with(
        &self,
        path: impl AsRef<Path>,
        options: &ExportOptions,
    ) -> Result<(), McpStoreError> {
        let snapshot = self.snapshot();
        export::write_atomically(path.as_ref(), &snapshot.document(), options)
    }

    /// The history and the statistics as of now, copied under the locks (pointers only:
    /// contexts and `McpStoreError`s are shared), so that formatting them holds no lock.
    fn snapshot(&self) -> export::Snapshot {
        let now = self.inner.now();
        let buffer = self.inner.copy_buffer();
        let (copies, statistics) = self
            .inner
            .with_shards(|shards| (history::copy_all(shards, buffer), statistics(shards)));
        // Choosing and ordering the newest, like formatting, holds no lock.
        export::Snapshot {
            now: now.time(),
            records: history::newest_of_copies(copies, self.inner.config.max_errors),
            statistics,
        }
    }

    /// Exports into `dir` under the name `errors_YYYYmmdd_HHMMSS.json` (the collector's clock,
    /// UTC) and returns the path written. See [`export`](Self::export).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::new(10);
    /// let dir = std::env::temp_dir().join(format!("collector-doc-dir-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = collector.export_default(&dir)?;
    /// assert!(path.file_name().unwrap().to_str().unwrap().starts_with("errors_"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_default(&self, dir: impl AsRef<Path>) -> Result<PathBuf, McpStoreError> {
        let path = dir
            .as_ref()
            .join(export::default_file_name(self.inner.now().time())?);
        self.export(&path)?;
        Ok(path)
    }
}

/// A handle to an [`ErrorCollector`] that does not keep it alive, for callbacks and other
/// code the collector itself owns (an owning clone there would be a reference cycle);
/// from [`ErrorCollector::downgrade`].
///
/// ```
/// let collector = mcpstore_errors::ErrorCollector::new(10);
/// let weak = collector.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(collector);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone, Default)]
pub struct WeakCollector {
    inner: Weak<Inner>,
}

impl WeakCollector {
    /// The collector, if it still exists.
    pub fn upgrade(&self) -> Option<ErrorCollector> {
        self.inner.upgrade().map(|inner| ErrorCollector { inner })
    }
}

impl std::fmt::Debug for WeakCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakCollector")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}

fn statistics(shards: &[ShardGuard<'_, ShardData>]) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for slot in shards.iter().flat_map(|shard| shard.types.iter()) {
        if slot.count > 0 {
            *counts.entry(slot.name.to_owned()).or_default() += slot.count;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::mpsc;
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    #[test]
    fn on_the_system_clock_one_threads_records_keep_collect_order() {
        // Times derived from the counter between readings of the system clock, across many
        // re-anchorings: the records read back in the order collected, their times never
        // going back, within a moment of the system clock.
        let count = 20_000;
        let collector = ErrorCollector::new(count);
        let errors: Vec<McpStoreError> = (0..count)
            .map(|i| McpStoreError::connection(format!("{i}")))
            .collect();
        let before = SystemTime::now();
        for (i, error) in errors.iter().enumerate() {
            collector.collect(error, Context::null());
            if i % 4_000 == 0 {
                // Lets the anchor age past its period, five times.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let after = SystemTime::now();
        let records = collector.records();
        assert_eq!(records.len(), count);
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record.message(), i.to_string());
        }
        assert!(
            records
                .windows(2)
                .all(|w| w[0].timestamp() <= w[1].timestamp())
        );
        let slack = Duration::from_millis(2);
        assert!(records[0].timestamp() + slack >= before);
        assert!(records[count - 1].timestamp() <= after + slack);
    }

    /// A writer whose first write waits until another thread has collected.
    struct WaitsForACollect {
        serializing: mpsc::Sender<()>,
        collected: mpsc::Receiver<()>,
        waited: Option<bool>,
    }

    impl Write for WaitsForACollect {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.waited.is_none() {
                let _ = self.serializing.send(());
                let collected = self.collected.recv_timeout(Duration::from_secs(10)).is_ok();
                self.waited = Some(collected);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_collect_on_another_thread_is_not_blocked_while_the_export_serializes() {
        let collector = ErrorCollector::new(20_000);
        let (serializing_tx, serializing_rx) = mpsc::channel();
        let (collected_tx, collected_rx) = mpsc::channel();
        let (registered_tx, registered_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            let other = &collector;
            scope.spawn(move || {
                // This thread's shard exists and holds records: the export locks it too.
                other.collect(&std::fmt::Error, json!({"thread": "other"}));
                registered_tx.send(()).unwrap();
                if serializing_rx.recv().is_ok() {
                    other.collect(&std::fmt::Error, json!({"thread": "other"}));
                    let _ = collected_tx.send(());
                }
            });
            registered_rx.recv().unwrap();
            let context = Arc::new(json!({"operation": "list_tools", "server": "fs"}));
            for _ in 0..10_000 {
                collector.collect(&McpStoreError::connection("refused"), &context);
            }
            let mut writer = WaitsForACollect {
                serializing: serializing_tx,
                collected: collected_rx,
                waited: None,
            };
            let snapshot = collector.snapshot();
            serde_json::to_writer_pretty(&mut writer, &snapshot.document()).unwrap();
            assert_eq!(
                writer.waited,
                Some(true),
                "the other thread collected while the export was being written"
            );
            assert_eq!(
                snapshot.records.len(),
                10_001,
                "the snapshot is as of its start"
            );
        });
        assert_eq!(collector.len(), 10_002);
    }
}

impl std::fmt::Debug for ErrorCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorCollector")
            .field("max_errors", &self.inner.config.max_errors)
            .field("alert_threshold", &self.inner.config.alert_threshold)
            .field("alert_window", &self.inner.config.alert_window)
            .field("trend_length", &self.inner.config.trend_length)
            .finish_non_exhaustive()
    }
}

/// Configures an [`ErrorCollector`]; from [`ErrorCollector::builder`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use mcpstore_errors::{Clock, ErrorCollector, ManualClock};
///
/// let clock = std::sync::Arc::new(ManualClock::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// let collector = ErrorCollector::builder()
///     .alert_threshold(3)
///     .alert_window(Duration::from_secs(10))
///     .clock(clock.clone())
///     .build();
/// collector.collect(&std::fmt::Error, serde_json::Value::Null);
/// assert_eq!(collector.records()[0].timestamp(), clock.system_time());
/// ```
#[derive(Debug, Clone)]
pub struct ErrorCollectorBuilder {
    config: Config,
}

impl Default for ErrorCollectorBuilder {
    fn default() -> Self {
        ErrorCollectorBuilder {
            config: Config {
                max_errors: DEFAULT_MAX_ERRORS,
                alert_threshold: DEFAULT_ALERT_THRESHOLD,
                alert_window: DEFAULT_ALERT_WINDOW,
                trend_length: DEFAULT_TREND_LENGTH,
                clock: TimeSource::System,
                context_limits: limits::ContextLimits::default(),
                redactor: Redactor::default(),
            },
        }
    }
}

impl ErrorCollectorBuilder {
    /// How many errors the history keeps (default 1000).
    pub fn max_errors(mut self, max_errors: usize) -> Self {
        self.config.max_errors = max_errors;
        self
    }

    /// The alert fires when more than this many errors of one type fall within the window
    /// (default 10). `usize::MAX` turns the alert off. Each thread keeps the newest
    /// `threshold + 1` collect times of each type (8 bytes each) to count exactly.
    pub fn alert_threshold(mut self, threshold: usize) -> Self {
        self.config.alert_threshold = threshold;
        self
    }

    /// The alert's window (default 5 minutes). A zero window holds no error, so it turns
    /// the alert off, as a threshold of `usize::MAX` does.
    ///
    /// When the clock steps back, errors collected at later times count as within the
    /// window until the clock passes them again: a burst stays one burst.
    pub fn alert_window(mut self, window: Duration) -> Self {
        self.config.alert_window = window;
        self
    }

    /// How many timestamps each type's trend keeps (default 100).
    pub fn trend_length(mut self, length: usize) -> Self {
        self.config.trend_length = length;
        self
    }

    /// The clock timestamps and windows are read from (default: the system clock).
    ///
    /// The system clock is read by each thread at most once a millisecond; in between, the
    /// time comes from the CPU's counter. So a step of the system clock is followed within a
    /// millisecond, and one thread's times never go back (a step back of under a millisecond,
    /// the most the counter's error can cause, is absorbed: the time stands still until the
    /// clock catches up; a larger step back is the clock being set, and is followed).
    /// Building the first collector on the system clock calibrates the counter, once per
    /// process (typically under a millisecond; never over 200 ms). Times are kept to the
    /// nanosecond from 1677 to 2262; a time outside is taken as the nearest end.
    ///
    /// A collect reads the clock before it counts, records or logs anything (only the
    /// error's own formatting comes first, with its warning if that fails), and holds no
    /// lock while reading it. A clock that panics is not caught: the panic reaches the caller,
    /// nothing of that collect is counted or recorded, and the collector carries on as before.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = TimeSource::Custom(Arc::new(clock));
        self
    }

    /// The largest context kept, in bytes of compact JSON (default
    /// [`DEFAULT_MAX_CONTEXT_BYTES`], 64 KiB). A larger one is replaced by a marker
    /// `{"_truncated": true, "reason": "context too large", "bytes": .., "max_bytes": ..}`,
    /// counted by [`oversized_contexts`](ErrorCollector::oversized_contexts) and reported as a
    /// `tracing` warning. The same bound holds for a `McpStoreError`'s details: larger ones
    /// are kept as `{"_truncated": true, "reason": "details too large", ..}` (with a warning).
    /// A marker is kept even if over a very small bound; a
    /// [`Redactor::custom`] hook's changes to it are bounded again (counted once a collect).
    pub fn max_context_bytes(mut self, bytes: usize) -> Self {
        self.config.context_limits.max_bytes = bytes;
        self
    }

    /// The deepest context kept, in levels of nested arrays and objects (default
    /// [`DEFAULT_MAX_CONTEXT_DEPTH`], 32; at most [`MAX_CONTEXT_DEPTH`], 100, so that an
    /// export can be read back). A deeper one is replaced by a marker
    /// `{"_truncated": true, "reason": "context nested too deep", "max_depth": ..}`, counted
    /// and reported like an oversized one. Details deeper than this are replaced the same way
    /// (`"details nested too deep"`).
    ///
    /// ```
    /// let collector = mcpstore_errors::ErrorCollector::builder().max_context_depth(1).build();
    /// collector.collect(&std::fmt::Error, serde_json::json!({"flat": 1}));
    /// collector.collect(&std::fmt::Error, serde_json::json!({"nested": {"a": 1}}));
    /// assert_eq!(collector.oversized_contexts(), 1);
    /// ```
    pub fn max_context_depth(mut self, depth: usize) -> Self {
        self.config.context_limits.max_depth = depth.min(MAX_CONTEXT_DEPTH);
        self
    }

    /// How each error is redacted before it is stored, so the history, exports and the
    /// collector's `tracing` events only see the result (default
    /// [`Redactor::secret_keys`]: values under secret-looking keys become `"[REDACTED]"`).
    ///
    /// ```
    /// use mcpstore_errors::{ErrorCollector, Redactor};
    /// let collector = ErrorCollector::builder().redact(Redactor::off()).build();
    /// collector.collect(&std::fmt::Error, serde_json::json!({"token": "t"}));
    /// assert_eq!(collector.records()[0].context()["token"], "t");
    /// ```
    pub fn redact(mut self, redactor: Redactor) -> Self {
        self.config.redactor = redactor;
        self
    }

    /// The collector.
    pub fn build(self) -> ErrorCollector {
        self.config.clock.warm_up();
        let retired = Arc::new(Shard::new(RETIRED_ORIGIN));
        ErrorCollector {
            inner: Arc::new(Inner {
                config: self.config,
                shards: Mutex::new(vec![retired]),
                alert_states: Mutex::new(HashMap::new()),
                callbacks: Callbacks::default(),
                oversized_contexts: AtomicU64::new(0),
                oversized_details: AtomicU64::new(0),
                next_origin: AtomicU32::new(0),
            }),
        }
    }

    /// Builds the collector and makes it the one [`global_collector`] returns. An `Err` if
    /// the global collector already exists (it is made on first use).
    ///
    /// ```
    /// use mcpstore_errors::{ErrorCollector, global_collector};
    ///
    /// let installed = ErrorCollector::builder().max_errors(5000).install_global()?;
    /// assert_eq!(global_collector().max_errors(), 5000);
    /// assert!(ErrorCollector::builder().install_global().is_err());
    /// # let _ = installed;
    /// # Ok::<(), mcpstore_errors::McpStoreError>(())
    /// ```
    pub fn install_global(self) -> Result<&'static ErrorCollector, McpStoreError> {
        let mut installed = false;
        let global = GLOBAL.get_or_init(|| {
            installed = true;
            self.build()
        });
        if installed {
            Ok(global)
        } else {
            Err(McpStoreError::configuration(
                "The global error collector is already in use; configure it before its first use",
            ))
        }
    }
}

static GLOBAL: OnceLock<ErrorCollector> = OnceLock::new();

/// The process-wide collector that `#[collect_errors]` reports to by default: made on first
/// use with a history of [`DEFAULT_MAX_ERRORS`], unless
/// [`install_global`](ErrorCollectorBuilder::install_global) configured it first.
///
/// ```
/// let collector = mcpstore_errors::global_collector();
/// collector.collect(&mcpstore_errors::McpStoreError::connection("refused"), serde_json::Value::Null);
/// assert!(collector.statistics()["ConnectionError"] >= 1);
/// ```
pub fn global_collector() -> &'static ErrorCollector {
    GLOBAL.get_or_init(|| ErrorCollector::new(DEFAULT_MAX_ERRORS))
}

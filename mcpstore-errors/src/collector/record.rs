//! One collected error, as kept in the history and written by the export.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashSet;
use std::error::Error as StdError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::{Map, Value};

use super::clock::Stamp;
use super::context::{Context, ContextView, with_function};
use crate::error::unix_seconds;
use crate::{ErrorKind, McpStoreError};

/// A collected error: when, what type, what it said, and the caller's context.
///
/// Records are cheap to keep: a [`McpStoreError`] is held by reference count and its message
/// and details are read only when asked for. Other errors are kept as their message, plus the
/// `McpStoreError` found among their causes, if any.
///
/// Serializes as one entry of the export's `errors` list: `timestamp` (float seconds since the
/// Unix epoch), `datetime` (ISO 8601, UTC), `error_type`, `error_message`, `error_code`
/// (null when there is none), `details` (`{}` when there are none) and `context` (`{}` for a
/// null context).
///
/// ```
/// use mcpstore_errors::{ErrorCollector, McpStoreError};
/// use serde_json::json;
///
/// let collector = ErrorCollector::new(10);
/// collector.collect(&McpStoreError::service_not_found("fs"), json!({"op": "start"}));
/// let record = &collector.records()[0];
/// assert_eq!(record.error_type(), "ServiceNotFoundError");
/// assert_eq!(record.message(), "Service 'fs' not found");
/// assert_eq!(record.code(), Some("SERVICE_NOT_FOUND"));
/// assert_eq!(record.details().unwrap()["service_name"], "fs");
/// assert_eq!(record.context()["op"], "start");
/// ```
#[derive(Debug)]
pub struct ErrorRecord {
    pub(super) timestamp: Stamp,
    pub(super) error_type: &'static str,
    pub(super) payload: Payload,
    /// Shared: copying a record copies a pointer, not the JSON.
    pub(super) context: Context,
    /// The function `#[collect_errors]` annotates, kept apart so that a context shared
    /// across calls is not rebuilt per call; [`ErrorRecord::context`] shows it.
    pub(super) function: Option<&'static str>,
    /// The context with `"function"` added, built when first asked for.
    pub(super) view: OnceLock<Value>,
}

impl Clone for ErrorRecord {
    fn clone(&self) -> Self {
        ErrorRecord {
            timestamp: self.timestamp,
            error_type: self.error_type,
            payload: self.payload.clone(),
            context: self.context.clone(),
            function: self.function,
            // Rebuilt if asked for: a copy stays a matter of pointers.
            view: OnceLock::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Payload {
    Store(McpStoreError),
    Other {
        message: String,
        cause: Option<McpStoreError>,
        /// The error's kind: the one its `Classify::error_kind` gives when collected as
        /// classified, else its cause's.
        kind: Option<ErrorKind>,
    },
    /// An error whose message or details redaction changed. The original error is not kept:
    /// it holds what was removed.
    Redacted(Box<Redacted>),
}

#[derive(Debug, Clone)]
pub(super) struct Redacted {
    message: String,
    kind: Option<ErrorKind>,
    details: Option<Map<String, Value>>,
}

impl Payload {
    /// A payload that holds nothing: what a collect leaves behind once its own is taken.
    pub(super) const EMPTY: Payload = Payload::Other {
        message: String::new(),
        cause: None,
        kind: None,
    };

    /// The payload of an error that is no `McpStoreError`, of the kind its `cause` has.
    pub(super) fn of_cause(message: String, cause: Option<McpStoreError>) -> Self {
        let kind = cause.as_ref().map(McpStoreError::kind);
        Payload::other(message, cause, kind)
    }

    pub(super) fn other(
        message: String,
        cause: Option<McpStoreError>,
        kind: Option<ErrorKind>,
    ) -> Self {
        Payload::Other {
            message,
            cause,
            kind,
        }
    }

    pub(super) fn redacted(
        message: String,
        kind: Option<ErrorKind>,
        details: Option<Map<String, Value>>,
    ) -> Self {
        Payload::Redacted(Box::new(Redacted {
            message: super::limits::bounded_message(message),
            kind,
            details,
        }))
    }

    /// The error's message (its `Display`).
    pub(super) fn message(&self) -> &str {
        match self {
            Payload::Store(error) => error.message(),
            Payload::Other { message, .. } => message,
            Payload::Redacted(redacted) => &redacted.message,
        }
    }

    /// The `McpStoreError` the error is or wraps, unless redaction dropped it.
    pub(super) fn error(&self) -> Option<&McpStoreError> {
        match self {
            Payload::Store(error) => Some(error),
            Payload::Other { cause, .. } => cause.as_ref(),
            Payload::Redacted(_) => None,
        }
    }

    pub(super) fn kind(&self) -> Option<ErrorKind> {
        match self {
            Payload::Store(error) => Some(error.kind()),
            Payload::Other { kind, .. } => *kind,
            Payload::Redacted(redacted) => redacted.kind,
        }
    }

    pub(super) fn details(&self) -> Option<&Map<String, Value>> {
        match self {
            Payload::Redacted(redacted) => redacted.details.as_ref(),
            other => other.error().map(McpStoreError::details),
        }
    }

    /// Drops details a hook wrote without recursion (they may nest arbitrarily deep); the
    /// details of a `McpStoreError` are the caller's, dropped as the caller would.
    pub(super) fn drop_flat(self) {
        if let Payload::Redacted(redacted) = self {
            if let Some(details) = redacted.details {
                super::limits::drop_flat(Value::Object(details));
            }
        }
    }
}

/// How a collected error is filed: by kind for a `McpStoreError` (its class name), by Rust
/// type otherwise (its short type name).
#[derive(Clone, Copy)]
pub(super) enum TypeKey {
    Kind(ErrorKind),
    Type(TypeId, TypeName),
}

/// How a type is named in statistics.
#[derive(Clone, Copy)]
pub(super) enum TypeName {
    /// The Rust type name, without module paths.
    Rust(fn() -> &'static str),
    /// This name, as is.
    #[cfg_attr(not(feature = "anyhow"), allow(dead_code))]
    Exact(&'static str),
}

impl TypeKey {
    fn of<T: ?Sized + 'static>() -> Self {
        TypeKey::Type(TypeId::of::<T>(), TypeName::Rust(std::any::type_name::<T>))
    }
}

impl TypeKey {
    /// The name statistics, trends and alerts are kept under.
    pub(super) fn name(self) -> &'static str {
        match self {
            TypeKey::Kind(kind) => kind_name(kind),
            TypeKey::Type(id, name) => recent_name(id, name),
        }
    }
}

impl ErrorRecord {
    /// When the error was collected (the collector's clock).
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp.time()
    }

    /// The error's type: the class name of a [`McpStoreError`]'s kind (e.g.
    /// `"ServiceNotFoundError"`), otherwise the Rust type name without module paths (e.g.
    /// `"Error"` for `std::io::Error`, `"Wrapper<Error>"` for `app::Wrapper<std::io::Error>`),
    /// unless that name is a kind's class name: rmcp's `ServiceError` is
    /// `"rmcp::service::ServiceError"`, so its counts and alerts stay apart from the kind's.
    pub fn error_type(&self) -> &'static str {
        self.error_type
    }

    /// The error's message (its `Display`).
    pub fn message(&self) -> &str {
        self.payload.message()
    }

    /// The error's kind: the kind of the `McpStoreError` it is or wraps; for an error
    /// collected by `#[collect_errors]` or
    /// [`collect_classified`](crate::ErrorCollector::collect_classified), the one its
    /// [`Classify::error_kind`](crate::Classify::error_kind) gives, when it gives one.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.payload.kind()
    }

    /// The machine code of the error's [`kind`](Self::kind); `None` when it has none.
    pub fn code(&self) -> Option<&'static str> {
        self.kind().map(ErrorKind::code)
    }

    /// The details of the `McpStoreError` the error is or wraps, after redaction; `None`
    /// otherwise.
    pub fn details(&self) -> Option<&Map<String, Value>> {
        self.payload.details()
    }

    /// The context given to [`collect`](crate::ErrorCollector::collect), with the
    /// collecting function's name under `"function"` when `#[collect_errors]` collected it
    /// (see [`function`](Self::function)).
    pub fn context(&self) -> &Value {
        match self.function {
            None => self.context.value(),
            Some(function) => self
                .view
                .get_or_init(|| with_function(self.context.value().clone(), function)),
        }
    }

    /// The function `#[collect_errors]` collected the error in, if it did.
    pub fn function(&self) -> Option<&'static str> {
        self.function
    }

    /// The `McpStoreError` the collected error is, or the first one among its causes; `None`
    /// when there is none, or when redaction changed its message or details or found a
    /// secret among its causes' (the original would still carry what was removed:
    /// [`kind`](Self::kind), [`code`](Self::code) and [`details`](Self::details) give the
    /// redacted view).
    pub fn error(&self) -> Option<&McpStoreError> {
        self.payload.error()
    }
}

impl Serialize for ErrorRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let empty = Map::new();
        let context = ContextView {
            context: self.context.value(),
            function: self.function,
        };
        let mut state = serializer.serialize_struct("ErrorRecord", 7)?;
        let timestamp = self.timestamp.time();
        state.serialize_field("timestamp", &unix_seconds(timestamp))?;
        state.serialize_field("datetime", &iso_datetime(timestamp))?;
        state.serialize_field("error_type", self.error_type)?;
        state.serialize_field("error_message", self.message())?;
        state.serialize_field("error_code", &self.code())?;
        state.serialize_field("details", self.details().unwrap_or(&empty))?;
        state.serialize_field("context", &context)?;
        state.end()
    }
}

/// The record's filing key and payload. A `McpStoreError` is kept by reference count; any
/// other error is formatted, and its chain of causes searched for a `McpStoreError`.
///
/// The `describe` functions run the user's `Display`, `source()` and `Classify` methods,
/// catching their panics: the collector calls them before it takes any lock, so a panic leaves
/// nothing half done.
#[inline]
pub(super) fn describe<E: StdError + 'static>(error: &E) -> (TypeKey, Payload) {
    describe_naming(error, |_| (None, None))
}

/// [`describe`] for an error that says what it is through [`Classify`](crate::Classify): the
/// [`McpStoreError`] its [`store_error`](crate::Classify::store_error) names, where its
/// `source()` does not lead to it (a thiserror `#[error(transparent)]` wrapper), else its
/// causes'; and the kind its [`error_kind`](crate::Classify::error_kind) gives, else that
/// error's.
pub(super) fn describe_classified<E: StdError + crate::Classify + 'static>(
    error: &E,
) -> (TypeKey, Payload) {
    describe_naming(error, |error| {
        (error.store_error().cloned(), error.error_kind())
    })
}

/// The record of `error`, whose `McpStoreError` and kind are the ones `named` gives, else
/// those of its causes.
#[inline]
fn describe_naming<E: StdError + 'static>(
    error: &E,
    named: impl FnOnce(&E) -> (Option<McpStoreError>, Option<ErrorKind>),
) -> (TypeKey, Payload) {
    if let Some(store) = (error as &dyn Any).downcast_ref::<McpStoreError>() {
        return (TypeKey::Kind(store.kind()), Payload::Store(store.clone()));
    }
    let message = display_or_placeholder(error, std::any::type_name::<E>);
    let (cause, kind) = guarded_walk(
        || {
            let (named, kind) = named(error);
            let cause = named.or_else(|| store_cause(first_cause(error)));
            let kind = kind.or_else(|| cause.as_ref().map(McpStoreError::kind));
            (cause, kind)
        },
        std::any::type_name::<E>,
    );
    (TypeKey::of::<E>(), Payload::other(message, cause, kind))
}

/// The record of an error seen through `dyn Error` (a `Box<dyn Error + Send + Sync>`, say): a
/// `McpStoreError` or an `io::Error` is filed as when collected by type; any other type is
/// unknown behind `dyn`, and filed as `dyn Error`.
pub(super) fn describe_dyn(error: &(dyn StdError + 'static)) -> (TypeKey, Payload) {
    if let Some(store) = error.downcast_ref::<McpStoreError>() {
        return (TypeKey::Kind(store.kind()), Payload::Store(store.clone()));
    }
    let key = match error.is::<std::io::Error>() {
        true => TypeKey::of::<std::io::Error>(),
        false => TypeKey::of::<dyn StdError>(),
    };
    let message = display_or_placeholder(error, std::any::type_name::<dyn StdError>);
    let cause = guarded_walk(
        || store_cause(first_cause(error)),
        std::any::type_name::<dyn StdError>,
    );
    (key, Payload::of_cause(message, cause))
}

/// The record of an `anyhow::Error`: filed as `anyhow::Error` (its short Rust name, `Error`,
/// would merge it with `io::Error`), with the first `McpStoreError` it wraps, as an error or
/// as a context.
#[cfg(feature = "anyhow")]
pub(super) fn describe_anyhow(error: &anyhow::Error) -> (TypeKey, Payload) {
    let key = TypeKey::Type(
        TypeId::of::<anyhow::Error>(),
        TypeName::Exact("anyhow::Error"),
    );
    let chain: &(dyn StdError + 'static) = error.as_ref();
    let cause = match error.downcast_ref::<McpStoreError>() {
        Some(store) => Some(store.clone()),
        None => guarded_walk(|| store_cause(Some(chain)), || "anyhow::Error"),
    };
    let message = display_or_placeholder(error, || "anyhow::Error");
    (key, Payload::of_cause(message, cause))
}

/// The record of a value that is only `Display`: formatted, filed under its type name.
pub(super) fn describe_display<T: std::fmt::Display + ?Sized + 'static>(
    value: &T,
) -> (TypeKey, Payload) {
    let message = display_or_placeholder(value, std::any::type_name::<T>);
    (TypeKey::of::<T>(), Payload::of_cause(message, None))
}

/// The value's `Display`, or a placeholder naming its type when that `Display` returns `Err`
/// (where `to_string` would panic) or panics. Partial output is dropped: it may end mid-way.
fn display_or_placeholder<T: std::fmt::Display + ?Sized>(
    value: &T,
    type_name: fn() -> &'static str,
) -> String {
    use std::fmt::Write as _;
    let mut writer = super::limits::BoundedWriter::default();
    let failure = match catch_unwind(AssertUnwindSafe(|| write!(writer, "{value}"))) {
        Ok(Ok(())) => return writer.finish(),
        Ok(Err(_)) => "an error's Display returned Err; a placeholder message is recorded",
        // The panic's own text is left out: it may hold what redaction would remove.
        Err(_) => "an error's Display panicked; a placeholder message is recorded",
    };
    tracing::warn!(
        target: "mcpstore_errors::collector",
        error_type = type_name(),
        "{failure}"
    );
    format!("<{} could not be displayed>", short_type_name(type_name()))
}

/// Runs `walk` over a source chain, which calls the user's `source()`: a panic ends the
/// search with no cause found (no code or details), and a warning without the panic's text.
fn guarded_walk<T: Default>(walk: impl FnOnce() -> T, type_name: fn() -> &'static str) -> T {
    catch_unwind(AssertUnwindSafe(walk)).unwrap_or_else(|_| {
        tracing::warn!(
            target: "mcpstore_errors::collector",
            error_type = type_name(),
            "an error's source() or Classify method panicked; it is recorded without the causes' kind, code and details"
        );
        T::default()
    })
}

fn first_cause<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    match error.downcast_ref::<std::io::Error>() {
        // `io::Error::source` skips the error it carries; start from that error itself.
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => error.source(),
    }
}

// A cap on the walk, in case a hand-written `source()` loops.
pub(super) const MAX_CAUSES: usize = 64;

fn store_cause(mut next: Option<&(dyn StdError + 'static)>) -> Option<McpStoreError> {
    for _ in 0..MAX_CAUSES {
        let error = next?;
        if let Some(store) = error.downcast_ref::<McpStoreError>() {
            return Some(store.clone());
        }
        next = match error.downcast_ref::<std::io::Error>() {
            // `io::Error::source` skips the error it carries; look at that error itself.
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => error.source(),
        };
    }
    None
}

/// `a::b::Outer<c::Inner, &d::E>` → `Outer<Inner, &E>`: every path loses its module prefix,
/// like Python's `type(error).__name__`.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment_start = 0;
    let mut in_ident = false;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            short.truncate(segment_start);
            in_ident = false;
            continue;
        }
        let ident = c.is_alphanumeric() || c == '_';
        if ident && !in_ident {
            segment_start = short.len();
        }
        in_ident = ident;
        short.push(c);
    }
    short
}

/// ISO 8601 in UTC with microseconds, the shape Python's `isoformat()` gives an aware time.
pub(super) fn iso_datetime(time: SystemTime) -> Option<String> {
    const PRINTER: jiff::fmt::temporal::DateTimePrinter =
        jiff::fmt::temporal::DateTimePrinter::new().precision(Some(6));
    let timestamp = jiff::Timestamp::try_from(time).ok()?;
    let mut text = String::with_capacity(32);
    PRINTER
        .print_timestamp_with_offset(&timestamp, jiff::tz::Offset::UTC, &mut text)
        .ok()?;
    Some(text)
}

// Type names are interned so records and statistics compare them by address. The set only
// grows by the distinct error type names of the program.
fn names() -> &'static Mutex<HashSet<&'static str>> {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    NAMES.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A kind's interned name, without the lock: the metrics and redaction hooks ask on every
/// collect, from every thread.
/// A Rust type's name in statistics: without module paths, but with them when the short name
/// is a kind's class name (rmcp's `ServiceError`, a user's `ConnectionError`), which would
/// merge the type's counts and alerts with that kind's.
fn statistics_name(full_name: &str) -> String {
    let short = short_type_name(full_name);
    match ErrorKind::ALL.iter().any(|kind| kind.name() == short) {
        true => full_name.to_owned(),
        false => short,
    }
}

fn kind_name(kind: ErrorKind) -> &'static str {
    static KIND_NAMES: OnceLock<[&'static str; ErrorKind::ALL.len()]> = OnceLock::new();
    KIND_NAMES.get_or_init(|| {
        let mut names = [""; ErrorKind::ALL.len()];
        for kind in ErrorKind::ALL {
            names[kind as usize] = intern_static(kind.name());
        }
        names
    })[kind as usize]
}

/// How many type names a thread remembers.
const RECENT_NAMES: usize = 8;

/// A type's name, an exact name told apart by its text's address and length.
type RecentName = (TypeId, Option<(*const u8, usize)>, &'static str);

thread_local! {
    /// The names this thread gave last, and where the next new one goes.
    static RECENT: RefCell<([Option<RecentName>; RECENT_NAMES], usize)> =
        const { RefCell::new(([None; RECENT_NAMES], 0)) };
}

/// A type's interned name, remembered per thread: a custom redaction hook is given the name
/// on every collect, which would otherwise format it and take the names lock each time.
fn recent_name(id: TypeId, name: TypeName) -> &'static str {
    let exact = match name {
        TypeName::Rust(_) => None,
        TypeName::Exact(exact) => Some((exact.as_ptr(), exact.len())),
    };
    let interned = || match name {
        TypeName::Rust(full_name) => intern(&statistics_name(full_name())),
        TypeName::Exact(exact) => intern_static(exact),
    };
    RECENT
        .try_with(|recent| {
            let Ok(mut recent) = recent.try_borrow_mut() else {
                return interned();
            };
            let (names, next) = &mut *recent;
            let known = names
                .iter()
                .flatten()
                .find(|(known_id, known_exact, _)| *known_id == id && *known_exact == exact);
            if let Some(&(_, _, known)) = known {
                return known;
            }
            let named = interned();
            names[*next] = Some((id, exact, named));
            *next = (*next + 1) % RECENT_NAMES;
            named
        })
        // This thread's storage is gone (its destructors run): name it the long way.
        .unwrap_or_else(|_| interned())
}

fn intern_static(name: &'static str) -> &'static str {
    let mut names = names().lock().unwrap_or_else(|e| e.into_inner());
    match names.get(name) {
        Some(interned) => interned,
        None => {
            names.insert(name);
            name
        }
    }
}

fn intern(name: &str) -> &'static str {
    let mut names = names().lock().unwrap_or_else(|e| e.into_inner());
    match names.get(name) {
        Some(interned) => interned,
        None => {
            let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
            names.insert(leaked);
            leaked
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_named_without_the_names_lock_and_as_an_exact_name_of_the_same_text_is() {
        for kind in ErrorKind::ALL {
            TypeKey::Kind(kind).name();
        }
        // Another thread holds the lock; naming a kind does not wait for it.
        let held = names().lock().unwrap_or_else(|e| e.into_inner());
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let named: Vec<&'static str> = ErrorKind::ALL
                .iter()
                .map(|&kind| TypeKey::Kind(kind).name())
                .collect();
            let _ = sender.send(named);
        });
        let named = receiver.recv_timeout(std::time::Duration::from_secs(5));
        drop(held);
        let named = named.expect("a kind's name came back while the lock was held");
        for (kind, name) in ErrorKind::ALL.iter().zip(named) {
            assert_eq!(name, kind.name());
            let exact = TypeKey::Type(TypeId::of::<()>(), TypeName::Exact(kind.name())).name();
            assert!(std::ptr::eq(name, exact), "one address per name: {name}");
        }
    }

    struct First;
    struct Second;

    #[test]
    fn a_type_named_before_on_a_thread_is_named_again_without_the_names_lock() {
        let (to_test, from_namer) = std::sync::mpsc::channel();
        let (to_namer, from_test) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let _ = to_test.send(TypeKey::of::<First>().name());
            if from_test.recv().is_ok() {
                let _ = to_test.send(TypeKey::of::<First>().name());
            }
        });
        let wait = std::time::Duration::from_secs(5);
        let first = from_namer.recv_timeout(wait).expect("named once");
        assert_eq!(first, "First");
        let held = names().lock().unwrap_or_else(|e| e.into_inner());
        to_namer.send(()).expect("the namer waits");
        let again = from_namer.recv_timeout(wait);
        drop(held);
        let again = again.expect("the name came back while the lock was held");
        assert!(std::ptr::eq(first, again), "the same interned name");
    }

    #[test]
    fn remembered_names_stay_right_past_what_a_thread_remembers() {
        assert!(ErrorKind::ALL.len() > RECENT_NAMES);
        for _ in 0..3 {
            assert_eq!(TypeKey::of::<First>().name(), "First");
            assert_eq!(TypeKey::of::<Second>().name(), "Second");
            // Exact names under one type id are told apart by their text.
            for kind in ErrorKind::ALL {
                let exact = TypeName::Exact(kind.name());
                assert_eq!(TypeKey::Type(TypeId::of::<()>(), exact).name(), kind.name());
            }
        }
    }

    #[test]
    fn a_type_named_as_a_kinds_class_keeps_its_path() {
        assert_eq!(
            statistics_name("rmcp::service::ServiceError"),
            "rmcp::service::ServiceError"
        );
        assert_eq!(
            statistics_name("app::ConnectionError"),
            "app::ConnectionError"
        );
        assert_eq!(statistics_name("app::ClientError"), "ClientError");
    }

    #[test]
    fn short_names_drop_every_module_path() {
        assert_eq!(short_type_name("std::io::error::Error"), "Error");
        assert_eq!(
            short_type_name("app::Wrapper<std::io::error::Error, &alloc::string::String>"),
            "Wrapper<Error, &String>"
        );
        assert_eq!(short_type_name("&str"), "&str");
        assert_eq!(
            short_type_name("dyn core::error::Error + core::marker::Send"),
            "dyn Error + Send"
        );
        assert_eq!(short_type_name("(u8, a::B)"), "(u8, B)");
    }
}

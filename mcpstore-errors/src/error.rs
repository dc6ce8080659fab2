//! The one error type, [`McpStoreError`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::{Map, Value};

use crate::ErrorKind;

/// A boxed error that can cross threads, accepted as a [`McpStoreError`]'s source.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// An MCPStore error: a [`ErrorKind`], the seed's message, a machine code, structured details,
/// the time it was made, and optionally the error that caused it.
///
/// `Display` is the message alone; the cause is reachable through
/// [`source()`](std::error::Error::source). Cloning is cheap (a reference count), so caches,
/// fallbacks and the [error collector](crate::ErrorCollector) keep errors without copying them.
///
/// ```
/// use mcpstore_errors::{ErrorKind, McpStoreError};
///
/// let err = McpStoreError::service_start_failed("fs", "port busy");
/// assert_eq!(err.to_string(), "Failed to start service 'fs': port busy");
/// assert_eq!(err.kind(), ErrorKind::ServiceStart);
/// assert_eq!(err.code(), "SERVICE_START_FAILED");
/// assert_eq!(err.details()["reason"], "port busy");
/// assert!(err.is_retryable());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct McpStoreError(Arc<Repr>);

#[derive(Debug, Clone)]
struct Repr {
    kind: ErrorKind,
    message: String,
    details: Map<String, Value>,
    timestamp: SystemTime,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Repr {
    // Through the `Arc`, so the source downcasts to the type that was attached.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

impl McpStoreError {
    /// An error of `kind` with `message` and no details.
    ///
    /// Use it for the kinds without a dedicated constructor (`McpStore`, `Service`, `Tool`).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        McpStoreError(Arc::new(Repr {
            kind,
            message: message.into(),
            details: Map::new(),
            timestamp: SystemTime::now(),
            retry_after: None,
            source: None,
        }))
    }

    /// `Service '{name}' not found`, details `service_name`.
    pub fn service_not_found(name: impl Into<String>) -> Self {
        let name = name.into();
        Self::new(
            ErrorKind::ServiceNotFound,
            format!("Service '{name}' not found"),
        )
        .with_detail("service_name", name)
    }

    /// `Failed to start service '{name}': {reason}`, details `service_name`, `reason`.
    pub fn service_start_failed(name: impl Into<String>, reason: impl Into<String>) -> Self {
        let (name, reason) = (name.into(), reason.into());
        Self::new(
            ErrorKind::ServiceStart,
            format!("Failed to start service '{name}': {reason}"),
        )
        .with_detail("service_name", name)
        .with_detail("reason", reason)
    }

    /// `Failed to stop service '{name}': {reason}`, details `service_name`, `reason`.
    pub fn service_stop_failed(name: impl Into<String>, reason: impl Into<String>) -> Self {
        let (name, reason) = (name.into(), reason.into());
        Self::new(
            ErrorKind::ServiceStop,
            format!("Failed to stop service '{name}': {reason}"),
        )
        .with_detail("service_name", name)
        .with_detail("reason", reason)
    }

    /// `Service '{name}' timed out after {timeout:?}`, details `service_name` and `timeout`
    /// (seconds, as a float).
    pub fn service_timeout(name: impl Into<String>, timeout: Duration) -> Self {
        let name = name.into();
        Self::new(
            ErrorKind::ServiceTimeout,
            format!("Service '{name}' timed out after {timeout:?}"),
        )
        .with_detail("service_name", name)
        .with_detail("timeout", timeout.as_secs_f64())
    }

    /// `Tool '{tool}' not found`, followed by ` in service '{service}'` when given; details
    /// `tool_name` and `service_name` (null when absent).
    pub fn tool_not_found(tool: impl Into<String>, service: Option<&str>) -> Self {
        let tool = tool.into();
        let message = match service {
            Some(service) => format!("Tool '{tool}' not found in service '{service}'"),
            None => format!("Tool '{tool}' not found"),
        };
        Self::new(ErrorKind::ToolNotFound, message)
            .with_detail("tool_name", tool)
            .with_detail("service_name", service)
    }

    /// `Tool '{tool}' execution failed: {reason}`, details `tool_name`, `reason` and `output`
    /// (null when absent).
    pub fn tool_execution_failed(
        tool: impl Into<String>,
        reason: impl Into<String>,
        output: Option<&str>,
    ) -> Self {
        let (tool, reason) = (tool.into(), reason.into());
        Self::new(
            ErrorKind::ToolExecution,
            format!("Tool '{tool}' execution failed: {reason}"),
        )
        .with_detail("tool_name", tool)
        .with_detail("reason", reason)
        .with_detail("output", output)
    }

    /// A [`ErrorKind::Configuration`] error with `message`.
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, message)
    }

    /// A [`ErrorKind::Connection`] error with `message`.
    pub fn connection(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connection, message)
    }

    /// `Circuit breaker for service '{service}' is {state}; retry after {ms}ms` (rounded up): a
    /// [`CircuitBreaker`](crate::CircuitBreaker) refused the call without making it. Details
    /// `service_name`, `state` (e.g. `"open"`) and `retry_after_ms` (rounded up); its
    /// [`retry_after`](Self::retry_after) is `remaining`, the time the breaker stays open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::{CircuitState, ErrorKind, McpStoreError};
    ///
    /// let err = McpStoreError::circuit_open("fs", CircuitState::Open, Duration::from_millis(1500));
    /// assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    /// assert_eq!(err.details()["retry_after_ms"], 1500);
    /// assert!(err.to_string().ends_with("retry after 1500ms"));
    /// assert_eq!(err.retry_after(), Some(Duration::from_millis(1500)));
    /// assert!(!err.is_retryable());
    /// ```
    pub fn circuit_open(
        service: impl Into<String>,
        state: crate::CircuitState,
        remaining: Duration,
    ) -> Self {
        let service = service.into();
        let millis = remaining.as_nanos().div_ceil(1_000_000);
        Self::new(
            ErrorKind::CircuitOpen,
            format!("Circuit breaker for service '{service}' is {state}; retry after {millis}ms"),
        )
        .with_detail("service_name", service)
        .with_detail("state", state.as_str())
        .with_detail("retry_after_ms", u64::try_from(millis).unwrap_or(u64::MAX))
        .with_retry_after(remaining)
    }

    /// Attaches the error that caused this one, returned by
    /// [`source()`](std::error::Error::source).
    ///
    /// ```
    /// use std::error::Error;
    /// use mcpstore_errors::McpStoreError;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let err = McpStoreError::connection("cannot reach 'fs'").with_source(io);
    /// assert_eq!(err.source().unwrap().to_string(), "refused");
    /// ```
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.repr_mut().source = Some(Arc::from(source.into()));
        self
    }

    /// Adds (or replaces) a detail.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.repr_mut().details.insert(key.into(), value.into());
        self
    }

    /// Records a delay the server asked for (such as HTTP `Retry-After`). Retry loops that know
    /// the error's class wait at least this long, never beyond their `max_delay`.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.repr_mut().retry_after = Some(delay);
        self
    }

    // Builders run before the error is shared, so this copies nothing in practice.
    fn repr_mut(&mut self) -> &mut Repr {
        Arc::make_mut(&mut self.0)
    }

    /// Whether both are handles to one error (not merely equal ones).
    pub(crate) fn is_same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The address of the error all handles share, for the collector to recognise it.
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.0).cast::<()>() as usize
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The machine-readable code, e.g. `"SERVICE_NOT_FOUND"`.
    pub fn code(&self) -> &'static str {
        self.0.kind.code()
    }

    /// The human-readable message (the same text as `Display`).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Structured details, e.g. `service_name`, `reason`, `tool_name`, `output`.
    pub fn details(&self) -> &Map<String, Value> {
        &self.0.details
    }

    /// When the error was made.
    pub fn timestamp(&self) -> SystemTime {
        self.0.timestamp
    }

    /// Whether retrying may help; see [`ErrorKind::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        self.0.kind.is_retryable()
    }

    /// The delay the server asked for, if any; see [`with_retry_after`](Self::with_retry_after).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// What a person can do about this error.
    pub fn help(&self) -> &'static str {
        self.0.kind.help()
    }
}

/// Serializes as `{"type", "code", "message", "details", "timestamp"}`, the timestamp in float
/// seconds since the Unix epoch (as the seed's `time.time()`).
impl Serialize for McpStoreError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("McpStoreError", 5)?;
        state.serialize_field("type", self.kind().name())?;
        state.serialize_field("code", self.code())?;
        state.serialize_field("message", self.message())?;
        state.serialize_field("details", self.details())?;
        state.serialize_field("timestamp", &unix_seconds(self.timestamp()))?;
        state.end()
    }
}

pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// Connection-level failures become [`ErrorKind::Connection`]; a missing file, a refused
/// permission or invalid input become [`ErrorKind::Configuration`]; anything else
/// [`ErrorKind::McpStore`]. The `io::Error` is kept as the source. An `io::Error` made from a
/// `McpStoreError` (a breaker's refusal or a timed-out attempt of a function returning
/// `io::Error`) gives that error back.
impl From<std::io::Error> for McpStoreError {
    fn from(error: std::io::Error) -> Self {
        let error = match error.downcast::<McpStoreError>() {
            Ok(carried) => return carried,
            Err(error) => error,
        };
        let kind = io_error_kind(error.kind());
        let message = match kind {
            ErrorKind::Connection => format!("Connection failed: {error}"),
            ErrorKind::Configuration => format!("Invalid configuration: {error}"),
            _ => format!("I/O error: {error}"),
        };
        Self::new(kind, message).with_source(error)
    }
}

pub(crate) fn io_error_kind(kind: std::io::ErrorKind) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match kind {
        Io::ConnectionRefused
        | Io::ConnectionReset
        | Io::ConnectionAborted
        | Io::NotConnected
        | Io::AddrInUse
        | Io::AddrNotAvailable
        | Io::BrokenPipe
        | Io::TimedOut
        | Io::UnexpectedEof
        | Io::HostUnreachable
        | Io::NetworkUnreachable
        | Io::NetworkDown => ErrorKind::Connection,
        Io::NotFound | Io::PermissionDenied | Io::InvalidInput => ErrorKind::Configuration,
        _ => ErrorKind::McpStore,
    }
}

/// A JSON error that comes from I/O or a truncated stream becomes [`ErrorKind::Connection`];
/// a syntax or data error becomes [`ErrorKind::Configuration`]. The source is kept.
impl From<serde_json::Error> for McpStoreError {
    fn from(error: serde_json::Error) -> Self {
        if error.is_io() || error.is_eof() {
            Self::connection(format!("Connection failed: {error}")).with_source(error)
        } else {
            Self::configuration(format!("Invalid JSON: {error}")).with_source(error)
        }
    }
}

impl From<std::num::ParseIntError> for McpStoreError {
    fn from(error: std::num::ParseIntError) -> Self {
        Self::configuration(format!("Invalid number: {error}")).with_source(error)
    }
}

impl From<std::num::ParseFloatError> for McpStoreError {
    fn from(error: std::num::ParseFloatError) -> Self {
        Self::configuration(format!("Invalid number: {error}")).with_source(error)
    }
}

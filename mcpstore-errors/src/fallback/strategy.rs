//! What a fallback strategy is, and how a call reports which one served it.

use std::fmt;

use crate::BoxError;

/// A custom fallback strategy: given the arguments of the failed call and its error, produce a
/// value, or fail so the next strategy is tried. Add one with
/// [`FallbackChain::strategy`](crate::FallbackChain::strategy).
///
/// `A` is the arguments' type (may be unsized, e.g. `str`), `T` the value, `E` the primary's
/// error.
///
/// ```
/// use mcpstore_errors::{BoxError, FallbackChain, FallbackStrategy, McpStoreError, ServedBy};
///
/// /// Serves an empty tool list for a service that does not exist, fails otherwise.
/// struct EmptyIfUnknown;
///
/// impl FallbackStrategy<str, Vec<String>, McpStoreError> for EmptyIfUnknown {
///     fn name(&self) -> &'static str {
///         "empty-if-unknown"
///     }
///
///     fn recover(&self, _service: &str, error: &McpStoreError) -> Result<Vec<String>, BoxError> {
///         match error.kind() {
///             mcpstore_errors::ErrorKind::ServiceNotFound => Ok(Vec::new()),
///             _ => Err("not a missing service".into()),
///         }
///     }
/// }
///
/// let chain = FallbackChain::new().strategy(EmptyIfUnknown);
/// let served = chain
///     .execute_outcome("fs", |name| Err(McpStoreError::service_not_found(name)))
///     .unwrap();
/// assert_eq!(served.served_by, ServedBy::Custom("empty-if-unknown"));
///
/// let failed = chain.execute("fs", |_| Err(McpStoreError::connection("refused")));
/// assert_eq!(failed.unwrap_err().to_string(), "refused"); // the original error, untouched
/// ```
pub trait FallbackStrategy<A: ?Sized, T, E> {
    /// The name in `tracing` events and in [`ServedBy::Custom`]; the type's name by default.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

    /// A value for the call with `args` that failed with `error`, or why there is none.
    fn recover(&self, args: &A, error: &E) -> Result<T, BoxError>;
}

/// Which part of a [`FallbackChain`](crate::FallbackChain) produced a call's value.
///
/// ```
/// use mcpstore_errors::ServedBy;
/// assert!(!ServedBy::Primary.is_fallback());
/// assert!(ServedBy::Cache.is_fallback());
/// assert_eq!(ServedBy::Alternative("backup").name(), "backup");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServedBy {
    /// The primary operation succeeded.
    Primary,
    /// A cached earlier success of the same operation with the same arguments.
    Cache,
    /// The chain's default value.
    Default,
    /// An alternative operation, named by its type (a function's path) or as given.
    Alternative(&'static str),
    /// A custom [`FallbackStrategy`] or recovery closure, by its name.
    Custom(&'static str),
}

impl ServedBy {
    /// Whether a fallback strategy, not the primary, served.
    pub fn is_fallback(&self) -> bool {
        !matches!(self, ServedBy::Primary)
    }

    /// `"primary"`, `"cache"`, `"default"`, or the alternative's or custom strategy's name.
    pub fn name(&self) -> &'static str {
        match self {
            ServedBy::Primary => "primary",
            ServedBy::Cache => "cache",
            ServedBy::Default => "default",
            ServedBy::Alternative(name) | ServedBy::Custom(name) => name,
        }
    }
}

impl fmt::Display for ServedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServedBy::Alternative(name) => write!(f, "alternative {name}"),
            ServedBy::Custom(name) => write!(f, "custom strategy {name}"),
            other => f.write_str(other.name()),
        }
    }
}

/// A value and the part of the chain that produced it; returned by
/// [`FallbackChain::execute_outcome`](crate::FallbackChain::execute_outcome).
///
/// ```
/// use mcpstore_errors::{FallbackChain, ServedBy};
///
/// let chain = FallbackChain::new().default_value(0);
/// let served = chain.execute_outcome(&(), |_| Err::<i32, _>("down")).unwrap();
/// assert_eq!(served.served_by, ServedBy::Default);
/// assert_eq!(served.into_value(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served<T> {
    /// The value returned.
    pub value: T,
    /// Who produced it.
    pub served_by: ServedBy,
}

impl<T> Served<T> {
    /// The value, dropping who served it.
    pub fn into_value(self) -> T {
        self.value
    }

    /// Whether a fallback strategy, not the primary, served.
    pub fn is_fallback(&self) -> bool {
        self.served_by.is_fallback()
    }
}

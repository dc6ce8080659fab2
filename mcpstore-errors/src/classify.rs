//! The trait that lets any error type take part in kind-based retry decisions.

use std::sync::Arc;
use std::time::Duration;

use crate::{Elapsed, ErrorKind, McpStoreError};

/// How a retry policy sees an error: its [`ErrorKind`], whether it is worth retrying, and a
/// delay the server asked for.
///
/// Implement it for your own error type to use it with `#[retry(on = [...])]`,
/// `#[retry(when = retryable)]` and [`RetryManager`](crate::RetryManager), which needs it to
/// honour a server-suggested delay whatever its filter. Every method has a default, so
/// `impl Classify for MyError {}` is enough for an error without a kind. `Box` and `Arc` of
/// a classified type are classified; so are boxed type-erased errors and `Box<dyn Classify>`.
/// For a box of your own trait object, implement it for the box
/// (`impl Classify for Box<dyn MyFailure>`), which the orphan rule allows.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{Classify, ErrorKind};
///
/// #[derive(Debug)]
/// enum ApiError {
///     RateLimited { retry_after: Duration },
///     BadRequest,
/// }
///
/// impl Classify for ApiError {
///     fn error_kind(&self) -> Option<ErrorKind> {
///         Some(match self {
///             ApiError::RateLimited { .. } => ErrorKind::Connection,
///             ApiError::BadRequest => ErrorKind::Configuration,
///         })
///     }
///
///     fn retry_after(&self) -> Option<Duration> {
///         match self {
///             ApiError::RateLimited { retry_after } => Some(*retry_after),
///             ApiError::BadRequest => None,
///         }
///     }
/// }
///
/// assert!(ApiError::RateLimited { retry_after: Duration::from_secs(2) }.is_retryable());
/// assert!(!ApiError::BadRequest.is_retryable());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say its kind: it does not implement `mcpstore_errors::Classify`",
    label = "an error type of unknown kind",
    note = "implement `Classify` for an error type of your own (an empty impl gives no kind); wrap a foreign one in an enum of yours; for `anyhow::Error`, turn on this crate's feature `anyhow`"
)]
pub trait Classify {
    /// The error's kind in the MCPStore hierarchy, or `None` when it has none. Defaults to
    /// the kind of its [`store_error`](Self::store_error). `#[collect_errors]` records it as
    /// the error's kind and code.
    fn error_kind(&self) -> Option<ErrorKind> {
        self.store_error().map(McpStoreError::kind)
    }

    /// Whether retrying may help. Defaults to the kind's [`ErrorKind::is_retryable`].
    fn is_retryable(&self) -> bool {
        self.error_kind().is_some_and(ErrorKind::is_retryable)
    }

    /// A delay the server asked for (e.g. `Retry-After`). A retry loop waits at least this long
    /// before the next attempt, but never longer than its `max_delay`. Defaults to its
    /// [`store_error`](Self::store_error)'s.
    fn retry_after(&self) -> Option<Duration> {
        self.store_error().and_then(McpStoreError::retry_after)
    }

    /// The [`McpStoreError`] this error is or wraps, if any. Give it for a wrapper whose
    /// `source()` does not lead to it: a thiserror `#[error(transparent)]` variant forwards
    /// `source()` past the error it wraps. `#[collect_errors]` and
    /// [`ErrorCollector::collect_classified`](crate::ErrorCollector::collect_classified) then
    /// record its kind, code and details, and the kind and delay above default to its.
    ///
    /// ```
    /// use mcpstore_errors::{Classify, ErrorKind, McpStoreError};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// enum ClientError {
    ///     #[error(transparent)]
    ///     Store(#[from] McpStoreError),
    ///     #[error("bad response")]
    ///     BadResponse,
    /// }
    ///
    /// impl Classify for ClientError {
    ///     fn store_error(&self) -> Option<&McpStoreError> {
    ///         match self {
    ///             ClientError::Store(error) => Some(error),
    ///             ClientError::BadResponse => None,
    ///         }
    ///     }
    /// }
    ///
    /// let error = ClientError::from(McpStoreError::connection("refused"));
    /// assert_eq!(error.error_kind(), Some(ErrorKind::Connection));
    /// assert!(error.is_retryable());
    /// ```
    fn store_error(&self) -> Option<&McpStoreError> {
        None
    }

    /// The error an async attempt cut off by its policy's
    /// [`attempt_timeout`](crate::RetryConfig::attempt_timeout) fails with, or `None` (the
    /// default) when this type has none to give: [`RetryManager`](crate::RetryManager) then
    /// lets the attempt run on past its timeout, and says so in a `warn` event. Given for
    /// [`McpStoreError`] (a `ServiceTimeout`), `io::Error` (`TimedOut`, caused by one),
    /// type-erased errors (`Box<dyn Error + Send + Sync>` and its kin, holding a
    /// `ServiceTimeout`), and `Box` or `Arc` of any type that gives one. (`#[retry]` also cuts
    /// off an attempt of any error type that implements `From<McpStoreError>`.)
    ///
    /// ```
    /// use mcpstore_errors::{Classify, Elapsed, McpStoreError};
    ///
    /// #[derive(Debug)]
    /// enum ApiError {
    ///     Store(McpStoreError),
    /// }
    ///
    /// impl Classify for ApiError {
    ///     fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
    ///         Some(ApiError::Store(elapsed.into_error(operation)))
    ///     }
    /// }
    /// ```
    fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self>
    where
        Self: Sized,
    {
        let _ = (elapsed, operation);
        None
    }
}

impl Classify for McpStoreError {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(self.kind())
    }

    fn store_error(&self) -> Option<&McpStoreError> {
        Some(self)
    }

    fn is_retryable(&self) -> bool {
        McpStoreError::is_retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        McpStoreError::retry_after(self)
    }

    fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
        Some(elapsed.into_error(operation))
    }
}

/// Classified as [`McpStoreError`]'s `From<std::io::Error>` would classify it, unless it
/// carries an [`McpStoreError`] (as one cut off by its attempt timeout carries the
/// `ServiceTimeout`): then as that error, kind and suggested delay.
impl Classify for std::io::Error {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(match carried(self) {
            Some(inner) => inner.kind(),
            None => crate::error::io_error_kind(self.kind()),
        })
    }

    fn retry_after(&self) -> Option<Duration> {
        carried(self).and_then(McpStoreError::retry_after)
    }

    fn store_error(&self) -> Option<&McpStoreError> {
        carried(self)
    }

    fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
        Some(io_timed_out(elapsed, operation))
    }
}

/// The `io::Error` an attempt of `operation` that ran out of time fails with: `TimedOut`,
/// carrying the `ServiceTimeout`.
#[cold]
pub(crate) fn io_timed_out(elapsed: Elapsed, operation: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed.into_error(operation))
}

/// The [`McpStoreError`] an `io::Error` was made from, if it was.
fn carried(error: &std::io::Error) -> Option<&McpStoreError> {
    error.get_ref()?.downcast_ref::<McpStoreError>()
}

/// The classifying methods of a pointer, read through to what it points at.
macro_rules! forward_to_pointee {
    () => {
        fn error_kind(&self) -> Option<ErrorKind> {
            (**self).error_kind()
        }
        fn is_retryable(&self) -> bool {
            (**self).is_retryable()
        }
        fn retry_after(&self) -> Option<Duration> {
            (**self).retry_after()
        }
        fn store_error(&self) -> Option<&McpStoreError> {
            (**self).store_error()
        }
    };
}

/// A reference classifies as what it points at; it has no owned error to give for a timeout.
impl<T: Classify + ?Sized> Classify for &T {
    forward_to_pointee!();
}

// Owning pointers to a sized error forward everything, the timeout error included (built by
// the pointee, then wrapped). The unsized pointees in common use (type-erased errors, this
// trait's objects, messages) get impls of their own below: a `?Sized` forward could not
// build a timeout error.
macro_rules! forward_classify {
    ($($pointer:ident),*) => {$(
        impl<T: Classify> Classify for $pointer<T> {
            forward_to_pointee!();
            fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
                T::timed_out(elapsed, operation).map($pointer::new)
            }
        }
    )*};
}

forward_classify!(Box, Arc);

/// Messages carry no kind.
impl Classify for String {}

/// Messages carry no kind.
impl Classify for str {}

// The crate's own trait object, boxed or shared. For a box of your own trait object,
// `impl Classify for Box<dyn YourTrait>` (the orphan rule allows it).
macro_rules! forward_classify_object {
    ($($object:ty),*) => {$(
        impl Classify for $object {
            forward_to_pointee!();
        }
    )*};
}

forward_classify_object!(
    Box<dyn Classify>,
    Box<dyn Classify + Send>,
    Box<dyn Classify + Send + Sync>,
    Arc<dyn Classify>,
    Arc<dyn Classify + Send + Sync>
);

/// Messages carry no kind.
impl Classify for Box<str> {}

/// Messages carry no kind.
impl Classify for Arc<str> {}

/// A type-erased error is classified by the first [`McpStoreError`] or `io::Error` in its
/// source chain, itself included; cut off by a timeout, it holds a `ServiceTimeout`
/// [`McpStoreError`].
macro_rules! classify_dyn_error {
    ($($error:ty),*) => {$(
        impl Classify for $error {
            fn error_kind(&self) -> Option<ErrorKind> {
                chain_classification(self, |found| found.error_kind())
            }
            fn is_retryable(&self) -> bool {
                chain_classification(self, |found| Some(found.is_retryable())).unwrap_or(false)
            }
            fn retry_after(&self) -> Option<Duration> {
                chain_classification(self, |found| found.retry_after())
            }
            fn store_error(&self) -> Option<&McpStoreError> {
                chain_store_error(self)
            }
        }

        impl Classify for Box<$error> {
            forward_to_pointee!();
            fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
                Some(Box::new(elapsed.into_error(operation)))
            }
        }

        impl Classify for Arc<$error> {
            forward_to_pointee!();
            fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
                Some(Arc::new(elapsed.into_error(operation)))
            }
        }
    )*};
}

classify_dyn_error!(
    dyn std::error::Error + 'static,
    dyn std::error::Error + Send + 'static,
    dyn std::error::Error + Send + Sync + 'static
);

/// Classified as a type-erased error (feature `anyhow`): by the first [`McpStoreError`] or
/// `io::Error` in its chain, context included; cut off by a timeout, it holds a
/// `ServiceTimeout` [`McpStoreError`].
#[cfg(feature = "anyhow")]
impl Classify for anyhow::Error {
    fn error_kind(&self) -> Option<ErrorKind> {
        chain_classification(self.as_ref(), |found| found.error_kind())
    }
    fn is_retryable(&self) -> bool {
        chain_classification(self.as_ref(), |found| Some(found.is_retryable())).unwrap_or(false)
    }
    fn retry_after(&self) -> Option<Duration> {
        chain_classification(self.as_ref(), |found| found.retry_after())
    }
    fn store_error(&self) -> Option<&McpStoreError> {
        chain_store_error(self.as_ref())
    }
    fn timed_out(elapsed: Elapsed, operation: &str) -> Option<Self> {
        Some(elapsed.into_error(operation).into())
    }
}

fn chain_classification<R>(
    error: &(dyn std::error::Error + 'static),
    read: impl Fn(&dyn Classify) -> Option<R>,
) -> Option<R> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<McpStoreError>() {
            return read(found);
        }
        if let Some(found) = error.downcast_ref::<std::io::Error>() {
            return read(found);
        }
        next = error.source();
    }
    None
}

/// The first [`McpStoreError`] in `error`'s chain, itself included, looking into an
/// `io::Error`'s carried error.
fn chain_store_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a McpStoreError> {
    let mut next = Some(error);
    // Bounded, in case a hand-written `source()` loops.
    for _ in 0..64 {
        let error = next?;
        if let Some(found) = error.downcast_ref::<McpStoreError>() {
            return Some(found);
        }
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

//! The seed's exception hierarchy as an enum.

use serde::Serialize;

/// The kind of a [`McpStoreError`](crate::McpStoreError): one variant per class of the MCPStore
/// exception hierarchy.
///
/// Kinds form a tree, walked by [`ErrorKind::is_a`]:
///
/// ```text
/// McpStore
/// ├── Service ── ServiceNotFound, ServiceStart, ServiceStop, ServiceTimeout
/// ├── Tool ───── ToolNotFound, ToolExecution
/// ├── Configuration
/// ├── Connection
/// └── CircuitOpen
/// ```
///
/// New kinds may be added: match with a wildcard arm.
///
/// ```
/// use mcpstore_errors::ErrorKind;
///
/// assert!(ErrorKind::ServiceNotFound.is_a(ErrorKind::Service));
/// assert!(ErrorKind::ServiceNotFound.is_a(ErrorKind::McpStore));
/// assert!(!ErrorKind::ServiceNotFound.is_a(ErrorKind::Tool));
/// assert_eq!(ErrorKind::ServiceNotFound.name(), "ServiceNotFoundError");
/// assert_eq!(ErrorKind::ServiceNotFound.code(), "SERVICE_NOT_FOUND");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Any MCPStore error (`MCPStoreError`), the root of the hierarchy.
    McpStore,
    /// A service-related error (`ServiceError`).
    Service,
    /// The named service does not exist (`ServiceNotFoundError`).
    ServiceNotFound,
    /// A service failed to start (`ServiceStartError`).
    ServiceStart,
    /// A service failed to stop (`ServiceStopError`).
    ServiceStop,
    /// A service did not answer in time (`ServiceTimeoutError`).
    ServiceTimeout,
    /// A tool-related error (`ToolError`).
    Tool,
    /// The named tool does not exist (`ToolNotFoundError`).
    ToolNotFound,
    /// A tool ran and failed (`ToolExecutionError`).
    ToolExecution,
    /// The configuration is invalid (`ConfigurationError`).
    Configuration,
    /// A connection could not be made or was lost (`ConnectionError`).
    Connection,
    /// A circuit breaker refused the call without making it (`CircuitOpenError`); its
    /// retry-after is the time the breaker stays open.
    CircuitOpen,
}

impl ErrorKind {
    /// Every kind, parents before children.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::McpStore,
        ErrorKind::Service,
        ErrorKind::ServiceNotFound,
        ErrorKind::ServiceStart,
        ErrorKind::ServiceStop,
        ErrorKind::ServiceTimeout,
        ErrorKind::Tool,
        ErrorKind::ToolNotFound,
        ErrorKind::ToolExecution,
        ErrorKind::Configuration,
        ErrorKind::Connection,
        ErrorKind::CircuitOpen,
    ];

    /// The kind this one specialises; `None` for [`ErrorKind::McpStore`].
    pub const fn parent(self) -> Option<ErrorKind> {
        use ErrorKind::*;
        match self {
            McpStore => None,
            Service | Tool | Configuration | Connection | CircuitOpen => Some(McpStore),
            ServiceNotFound | ServiceStart | ServiceStop | ServiceTimeout => Some(Service),
            ToolNotFound | ToolExecution => Some(Tool),
        }
    }

    /// Whether `self` is `ancestor` or one of its descendants, like Python's `isinstance`.
    pub const fn is_a(self, ancestor: ErrorKind) -> bool {
        let mut current = Some(self);
        while let Some(kind) = current {
            if kind as u8 == ancestor as u8 {
                return true;
            }
            current = kind.parent();
        }
        false
    }

    /// The seed's class name, e.g. `"ServiceNotFoundError"`.
    pub const fn name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            McpStore => "MCPStoreError",
            Service => "ServiceError",
            ServiceNotFound => "ServiceNotFoundError",
            ServiceStart => "ServiceStartError",
            ServiceStop => "ServiceStopError",
            ServiceTimeout => "ServiceTimeoutError",
            Tool => "ToolError",
            ToolNotFound => "ToolNotFoundError",
            ToolExecution => "ToolExecutionError",
            Configuration => "ConfigurationError",
            Connection => "ConnectionError",
            CircuitOpen => "CircuitOpenError",
        }
    }

    /// The machine-readable code, e.g. `"SERVICE_NOT_FOUND"`.
    pub const fn code(self) -> &'static str {
        use ErrorKind::*;
        match self {
            McpStore => "MCPSTORE_ERROR",
            Service => "SERVICE_ERROR",
            ServiceNotFound => "SERVICE_NOT_FOUND",
            ServiceStart => "SERVICE_START_FAILED",
            ServiceStop => "SERVICE_STOP_FAILED",
            ServiceTimeout => "SERVICE_TIMEOUT",
            Tool => "TOOL_ERROR",
            ToolNotFound => "TOOL_NOT_FOUND",
            ToolExecution => "TOOL_EXECUTION_FAILED",
            Configuration => "CONFIGURATION_ERROR",
            Connection => "CONNECTION_ERROR",
            CircuitOpen => "CIRCUIT_OPEN",
        }
    }

    /// Whether an error of this kind is worth retrying when nothing else is known.
    ///
    /// Starting, stopping, timeouts and connections are transient. Missing services and tools,
    /// bad configuration and failed tool runs are not: a tool call may have side effects, so
    /// retrying it is the caller's explicit choice.
    pub const fn is_retryable(self) -> bool {
        use ErrorKind::*;
        matches!(
            self,
            ServiceStart | ServiceStop | ServiceTimeout | Connection
        )
    }

    /// What a person can do about an error of this kind.
    pub const fn help(self) -> &'static str {
        use ErrorKind::*;
        match self {
            McpStore => "See the error message and its source for the cause.",
            Service => "Check the service's status and logs, then try the operation again.",
            ServiceNotFound => {
                "Check the service name for typos, or register the service in the MCPStore configuration before using it."
            }
            ServiceStart => {
                "Check the service's command, arguments and environment, and that its port or resources are free; see the reason and the service's logs."
            }
            ServiceStop => {
                "The service may still be running: check its process, then stop it again or kill it."
            }
            ServiceTimeout => {
                "The service is slow or stuck: check its health and load, or raise the timeout."
            }
            Tool => "Check the tool's name, arguments and the service that provides it.",
            ToolNotFound => {
                "List the service's tools to find the right name, or check that the service providing it is started."
            }
            ToolExecution => {
                "The tool ran and failed: read the reason and its output, fix the arguments, then call it again if it is safe to repeat."
            }
            Configuration => {
                "Fix the configuration value named in the message (file, key or argument), then reload."
            }
            Connection => {
                "Check that the service is running and reachable (address, port, network); the call can be retried."
            }
            CircuitOpen => {
                "The service failed repeatedly and calls to it are paused: use a fallback now, or call again after the retry-after delay."
            }
        }
    }

    /// The kind whose [`name`](Self::name) (class name) or variant name is `name`.
    ///
    /// ```
    /// use mcpstore_errors::ErrorKind;
    /// assert_eq!(ErrorKind::from_name("ServiceStartError"), Some(ErrorKind::ServiceStart));
    /// assert_eq!(ErrorKind::from_name("ServiceStart"), Some(ErrorKind::ServiceStart));
    /// assert_eq!(ErrorKind::from_name("Nope"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name || kind.variant_name() == name)
    }

    /// The kind whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The Rust variant name, e.g. `"ServiceNotFound"`.
    pub const fn variant_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            McpStore => "McpStore",
            Service => "Service",
            ServiceNotFound => "ServiceNotFound",
            ServiceStart => "ServiceStart",
            ServiceStop => "ServiceStop",
            ServiceTimeout => "ServiceTimeout",
            Tool => "Tool",
            ToolNotFound => "ToolNotFound",
            ToolExecution => "ToolExecution",
            Configuration => "Configuration",
            Connection => "Connection",
            CircuitOpen => "CircuitOpen",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`ErrorKind`]s that matches a kind when it [`is_a`](ErrorKind::is_a) member.
///
/// `Copy` and `const`-constructible, so a policy can hold one in a `static`.
///
/// ```
/// use mcpstore_errors::{ErrorKind, KindSet};
///
/// const RETRY_ON: KindSet = KindSet::of(&[ErrorKind::Service, ErrorKind::Connection]);
/// assert!(RETRY_ON.matches(ErrorKind::ServiceTimeout));
/// assert!(!RETRY_ON.matches(ErrorKind::ToolExecution));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KindSet(u16);

impl KindSet {
    /// The empty set, which matches nothing.
    pub const EMPTY: KindSet = KindSet(0);

    /// The set of `kinds`.
    pub const fn of(kinds: &[ErrorKind]) -> KindSet {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << kinds[i] as u16;
            i += 1;
        }
        KindSet(bits)
    }

    /// Whether `kind` is a member.
    pub const fn contains(self, kind: ErrorKind) -> bool {
        self.0 & (1 << kind as u16) != 0
    }

    /// Whether `kind` or one of its ancestors is a member.
    pub const fn matches(self, kind: ErrorKind) -> bool {
        let mut current = Some(kind);
        while let Some(kind) = current {
            if self.contains(kind) {
                return true;
            }
            current = kind.parent();
        }
        false
    }
}

impl FromIterator<ErrorKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = ErrorKind>>(kinds: I) -> Self {
        KindSet(
            kinds
                .into_iter()
                .fold(0, |bits, kind| bits | 1 << kind as u16),
        )
    }
}

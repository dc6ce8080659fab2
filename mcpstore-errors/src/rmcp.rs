//! The errors of the official Rust MCP SDK, [`rmcp`], as [`McpStoreError`]s
//! (feature `rmcp`).
//!
//! `?` turns an [`rmcp::ServiceError`] or an
//! [`rmcp::service::ClientInitializeError`] into a [`McpStoreError`] of the right
//! [`ErrorKind`], and both implement [`Classify`], so `#[retry(when = retryable)]` or
//! `#[retry(on = [Connection])]` works on a function that returns rmcp's error unchanged.
//! [`McpStoreError::from_rmcp`] adds the service, tool and method names;
//! [`check_tool_result`] turns a tool result flagged `is_error` into an error.
//!
//! | rmcp error | kind | retryable |
//! |---|---|---|
//! | `TransportClosed`, `TransportSend` | `Connection` | yes, with a new session |
//! | `TransportSend` or initialize's `TransportError` for want of authorization (HTTP 401 or a 403 for want of scope, or OAuth not done) | `Configuration` | no |
//! | `Timeout { timeout }` | `ServiceTimeout` | yes |
//! | initialize: `ConnectionClosed`, `TransportError` | `ServiceStart` | yes |
//! | spawning a missing server binary (`io::Error` `NotFound`) | `Configuration` | no |
//! | `-32602` whose message says "tool not found", "unknown tool" or "tool `<name>` not found" | `ToolNotFound` | no |
//! | other `-32602` (invalid arguments), `-32603`, on `tools/call` or no method known | `ToolExecution` | no |
//! | `-32602` on another method (e.g. `initialize`: unsupported protocol version) | `Configuration` | no |
//! | `-32603` on another method | `Service` | no |
//! | `-32601` on `tools/call` | `ToolNotFound` | no |
//! | `-32601` on another method | `Configuration` | no |
//! | `-32700`, `-32600`, `-32020..=-32022` | `Configuration` | no |
//! | `Cancelled`, `UnexpectedResponse`, any other | `McpStore` | no |
//! | a `CallToolResult` with `is_error` ([`check_tool_result`]) | `ToolExecution`; `ToolNotFound` when its text says the tool called is unknown | no |
//! | HTTP 429, 502, 503, 504 ([`McpStoreError::from_rmcp_http`], [`http_status_error`]) | `Connection`, with `Retry-After` | yes |
//!
//! A closed transport does not come back: retrying on the same `RunningService` fails
//! again at once. Retry a function that connects (spawns the child, or opens the HTTP
//! session) when it has none, and drops the session when it sees `Connection`.
//!
//! ```
//! use mcpstore_errors::rmcp::McpCall;
//! use mcpstore_errors::{Classify, ErrorKind, McpStoreError};
//! use rmcp::ServiceError;
//! use rmcp::model::ErrorData;
//!
//! let unknown = ServiceError::McpError(ErrorData::invalid_params("tool not found", None));
//! assert_eq!(unknown.error_kind(), Some(ErrorKind::ToolNotFound));
//! let err = McpStoreError::from_rmcp(unknown, McpCall::tool("files", "raed_file"));
//! assert_eq!(err.to_string(), "Tool 'raed_file' not found in service 'files'");
//! assert_eq!(err.details()["jsonrpc_code"], -32602);
//!
//! let closed: McpStoreError = ServiceError::TransportClosed.into();
//! assert_eq!(closed.kind(), ErrorKind::Connection);
//! assert!(closed.is_retryable());
//! ```

use std::time::{Duration, SystemTime};

use ::rmcp::ServiceError;
use ::rmcp::model::{CallToolResult, ErrorCode, ErrorData};
use ::rmcp::service::ClientInitializeError;
use ::rmcp::transport::streamable_http_client::{HttpStatusError, StreamableHttpError};
use serde_json::Value;

use crate::{Classify, ErrorKind, McpStoreError};

/// The method name of a tool call, which decides what `-32601` means.
pub const TOOLS_CALL: &str = "tools/call";

/// Longest JSON-RPC message, tool output or `data` (serialized) copied into an error's
/// message and details; longer ones are cut (the full value stays in `source()`).
pub const MAX_DETAIL_BYTES: usize = 4096;

/// Longest `Retry-After` value [`parse_retry_after`] reads; rmcp keeps at most 128 bytes.
const MAX_RETRY_AFTER_BYTES: usize = 128;

/// What was being done when an rmcp error happened: the service, the tool and the JSON-RPC
/// method, all optional. The method matters: `-32601` (method not found) means an unknown
/// tool on `tools/call` and a misconfigured client elsewhere.
///
/// ```
/// use mcpstore_errors::rmcp::McpCall;
///
/// let call = McpCall::tool("files", "read_file");
/// assert_eq!(call.method, Some("tools/call"));
/// let list = McpCall::service("files").method("tools/list");
/// assert_eq!(list.tool, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct McpCall<'a> {
    /// The service (server) name, as the caller knows it.
    pub service: Option<&'a str>,
    /// The tool name, for `tools/call`.
    pub tool: Option<&'a str>,
    /// The JSON-RPC method, e.g. `"tools/call"`, `"tools/list"`, `"initialize"`.
    pub method: Option<&'a str>,
}

impl<'a> McpCall<'a> {
    /// A call to `service` with no tool or method known.
    pub const fn service(service: &'a str) -> Self {
        McpCall {
            service: Some(service),
            tool: None,
            method: None,
        }
    }

    /// A `tools/call` of `tool` on `service`.
    pub const fn tool(service: &'a str, tool: &'a str) -> Self {
        McpCall {
            service: Some(service),
            tool: Some(tool),
            method: Some(TOOLS_CALL),
        }
    }

    /// The same call with the JSON-RPC `method` set.
    pub const fn method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }
}

/// The kind of a JSON-RPC error `code` with `message`, answered to `method` (`None` when
/// unknown). See the [module table](self).
pub fn jsonrpc_error_kind(code: i32, message: &str, method: Option<&str>) -> ErrorKind {
    match ErrorCode(code) {
        ErrorCode::INVALID_PARAMS if says_tool_not_found(message) => ErrorKind::ToolNotFound,
        // No tool ran on another method: `initialize`, `tools/list`, `resources/read`...
        ErrorCode::INVALID_PARAMS | ErrorCode::INTERNAL_ERROR
            if method.is_none_or(|method| method == TOOLS_CALL) =>
        {
            ErrorKind::ToolExecution
        }
        ErrorCode::INVALID_PARAMS => ErrorKind::Configuration,
        ErrorCode::INTERNAL_ERROR => ErrorKind::Service,
        ErrorCode::METHOD_NOT_FOUND if method == Some(TOOLS_CALL) => ErrorKind::ToolNotFound,
        ErrorCode::METHOD_NOT_FOUND | ErrorCode::PARSE_ERROR | ErrorCode::INVALID_REQUEST => {
            ErrorKind::Configuration
        }
        ErrorCode(-32022..=-32020) => ErrorKind::Configuration,
        _ => ErrorKind::McpStore,
    }
}

// rmcp's tool router answers an unknown tool with -32602 "tool not found"; the MCP
// specification's example says "Unknown tool: <name>", the TypeScript SDK "Tool <name> not
// found" (behind "MCP error -32602: " as it sends it).
fn says_tool_not_found(message: &str) -> bool {
    let bytes = message.as_bytes();
    if contains_ignore_case(bytes, b"tool not found") {
        return true;
    }
    // Not "unknown tool argument `path`": an argument is what is unknown there.
    let names_a_tool = |at: usize| {
        let rest = &bytes[at + b"unknown tool".len()..];
        let word = rest.strip_prefix(b" ").unwrap_or(rest);
        let next_word = &word[..word
            .iter()
            .position(|b| !b.is_ascii_alphabetic())
            .unwrap_or(word.len())];
        !matches!(
            next_word.to_ascii_lowercase().as_slice(),
            b"argument"
                | b"arguments"
                | b"parameter"
                | b"parameters"
                | b"input"
                | b"option"
                | b"field"
        )
    };
    if positions_ignore_case(bytes, b"unknown tool").any(names_a_tool) {
        return true;
    }
    positions_ignore_case(bytes, b"tool ").any(|at| {
        let word_start = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        let rest = &bytes[at + b"tool ".len()..];
        let name = rest
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len());
        word_start
            && name > 0
            && rest[name..]
                .get(..b" not found".len())
                .is_some_and(|tail| tail.eq_ignore_ascii_case(b" not found"))
    })
}

/// Whether `text` says that `tool` itself is unknown: `Unknown tool: x`, `Tool x not found`,
/// `tool not found: x`, `no such tool 'x'`, with `x` a whole word (maybe quoted), not a tool's
/// output that speaks of another (`external tool not found: ffmpeg, cannot convert`).
fn names_unknown_tool(text: &str, tool: &str) -> bool {
    if tool.is_empty() {
        return false;
    }
    let is_name_byte = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-');
    let quotes: &[char] = &[' ', '\'', '"', '`', ':'];
    let bytes = text.as_bytes();
    text.match_indices(tool).any(|(at, _)| {
        let end = at + tool.len();
        let whole = (at == 0 || !is_name_byte(bytes[at - 1]))
            && bytes.get(end).is_none_or(|&byte| !is_name_byte(byte));
        if !whole {
            return false;
        }
        let before = text[..at].trim_end_matches(quotes).as_bytes();
        let after = text[end..].trim_start_matches(['\'', '"', '`']).as_bytes();
        let ends_with = |phrase: &[u8]| {
            before.len() >= phrase.len()
                && before[before.len() - phrase.len()..].eq_ignore_ascii_case(phrase)
        };
        let named_then_not_found = ends_with(b"tool")
            && after.len() >= b" not found".len()
            && after[..b" not found".len()].eq_ignore_ascii_case(b" not found");
        ends_with(b"unknown tool")
            || ends_with(b"tool not found")
            || ends_with(b"no such tool")
            || named_then_not_found
    })
}

fn positions_ignore_case<'a>(
    haystack: &'a [u8],
    needle: &'a [u8],
) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, window)| window.eq_ignore_ascii_case(needle))
        .map(|(at, _)| at)
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    positions_ignore_case(haystack, needle).next().is_some()
}

/// Refused for want of credentials (a 401, OAuth not done) or of scope (a 403): asking again
/// with the same ones is refused again.
fn wants_authorization(error: &ServiceError) -> bool {
    error.is_authorization_required() || error.auth_challenge().is_some()
}

fn initialize_wants_authorization(error: &ClientInitializeError) -> bool {
    error.is_authorization_required() || error.auth_challenge().is_some()
}

fn service_error_kind(error: &ServiceError, method: Option<&str>) -> ErrorKind {
    match error {
        ServiceError::McpError(data) => jsonrpc_error_kind(data.code.0, &data.message, method),
        ServiceError::TransportSend(_) if wants_authorization(error) => ErrorKind::Configuration,
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => ErrorKind::Connection,
        ServiceError::Timeout { .. } => ErrorKind::ServiceTimeout,
        _ => ErrorKind::McpStore,
    }
}

fn initialize_error_kind(error: &ClientInitializeError) -> ErrorKind {
    use ClientInitializeError as Init;
    match error {
        Init::TransportError { .. } if initialize_wants_authorization(error) => {
            ErrorKind::Configuration
        }
        Init::ConnectionClosed(_) | Init::TransportError { .. } => ErrorKind::ServiceStart,
        Init::JsonRpcError(data) => {
            jsonrpc_error_kind(data.code.0, &data.message, Some("initialize"))
        }
        Init::NoCompatibleProtocolVersion { .. } | Init::NoPreferredProtocolVersion => {
            ErrorKind::Configuration
        }
        // Both attempts failed; the legacy one is what a retry would run into again.
        Init::LegacyFallbackFailed { fallback, .. } => initialize_error_kind(fallback),
        _ => ErrorKind::McpStore,
    }
}

/// Classified as [`McpStoreError::from_rmcp`] classifies it with no method known.
impl Classify for ServiceError {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(service_error_kind(self, None))
    }
}

/// Classified as [`McpStoreError::from_rmcp_initialize`] classifies it.
impl Classify for ClientInitializeError {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(initialize_error_kind(self))
    }
}

/// With no names known; use [`McpStoreError::from_rmcp`] to add them.
impl From<ServiceError> for McpStoreError {
    fn from(error: ServiceError) -> Self {
        McpStoreError::from_rmcp(error, McpCall::default())
    }
}

/// With no service name known; use [`McpStoreError::from_rmcp_initialize`] to add it.
impl From<ClientInitializeError> for McpStoreError {
    fn from(error: ClientInitializeError) -> Self {
        McpStoreError::from_rmcp_initialize(error, None)
    }
}

impl McpStoreError {
    /// An rmcp request error as a [`McpStoreError`] naming the service, tool and method of
    /// `call`. The kind follows the [module table](crate::rmcp); a JSON-RPC error keeps its
    /// code, message and data in the details `jsonrpc_code`, `jsonrpc_message` and
    /// `jsonrpc_data`; `source()` is `error` itself.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::rmcp::McpCall;
    /// use mcpstore_errors::{ErrorKind, McpStoreError};
    ///
    /// let timeout = rmcp::ServiceError::Timeout { timeout: Duration::from_secs(5) };
    /// let err = McpStoreError::from_rmcp(timeout, McpCall::tool("search", "query"));
    /// assert_eq!(err.kind(), ErrorKind::ServiceTimeout);
    /// assert_eq!(err.details()["timeout"], 5.0);
    /// assert!(err.is_retryable());
    /// ```
    pub fn from_rmcp(error: ServiceError, call: McpCall<'_>) -> McpStoreError {
        let service = label(call.service);
        let built = match &error {
            ServiceError::McpError(data) => from_error_data(data, call),
            ServiceError::TransportClosed => McpStoreError::connection(format!(
                "Connection to {service} closed: start a new session"
            )),
            ServiceError::TransportSend(send) if wants_authorization(&error) => McpStoreError::new(
                ErrorKind::Configuration,
                format!(
                    "{service} asks for authorization: {}",
                    truncated(&send.to_string())
                ),
            )
            .with_detail("transport", transport_label(&send.transport_name)),
            ServiceError::TransportSend(send) => McpStoreError::connection(format!(
                "Connection to {service} failed: {}",
                truncated(&send.to_string())
            ))
            .with_detail("transport", transport_label(&send.transport_name)),
            ServiceError::Timeout { timeout } => match call.service {
                Some(name) => McpStoreError::service_timeout(name, *timeout),
                None => McpStoreError::new(
                    ErrorKind::ServiceTimeout,
                    format!("{service} timed out after {timeout:?}"),
                )
                .with_detail("timeout", timeout.as_secs_f64()),
            },
            other => McpStoreError::new(
                ErrorKind::McpStore,
                format!("MCP call to {service} failed: {other}"),
            ),
        };
        debug_assert_eq!(built.kind(), service_error_kind(&error, call.method));
        with_call(built, call).with_source(error)
    }

    /// An rmcp client initialisation error (the handshake after the transport started) as a
    /// [`McpStoreError`] naming `service`. A closed connection or a transport failure is
    /// [`ErrorKind::ServiceStart`] (retryable: start the server again); see the
    /// [module table](crate::rmcp). `source()` is `error` itself.
    pub fn from_rmcp_initialize(
        error: ClientInitializeError,
        service: Option<&str>,
    ) -> McpStoreError {
        let kind = initialize_error_kind(&error);
        let name = label(service);
        let text = error.to_string();
        let reason = truncated(&text);
        let built = match (&error, kind) {
            (ClientInitializeError::JsonRpcError(data), _) => from_error_data(
                data,
                McpCall {
                    service,
                    tool: None,
                    method: Some("initialize"),
                },
            ),
            (_, ErrorKind::ServiceStart) => match service {
                Some(service) => McpStoreError::service_start_failed(service, reason.as_ref()),
                None => McpStoreError::new(
                    ErrorKind::ServiceStart,
                    format!("Failed to start {name}: {reason}"),
                )
                .with_detail("reason", reason.as_ref()),
            },
            _ if initialize_wants_authorization(&error) => {
                McpStoreError::new(kind, format!("{name} asks for authorization: {reason}"))
            }
            (_, kind) => McpStoreError::new(
                kind,
                format!("Initialising the MCP session with {name} failed: {reason}"),
            ),
        };
        let call = McpCall {
            service,
            tool: None,
            method: Some("initialize"),
        };
        with_call(built, call).with_source(error)
    }
}

impl McpStoreError {
    /// [`from_rmcp`](Self::from_rmcp) for a streamable HTTP client whose HTTP client fails
    /// with `E` (`reqwest::Error` for rmcp's reqwest backend): an HTTP status rmcp reports
    /// (a 429 or a 5xx, with the server's `Retry-After`) is classified as
    /// [`http_status_error`] classifies it, so a retry waits as long as the server asked; the
    /// call's names are details, and `source()` is `error`. Any other error is converted as
    /// `from_rmcp` converts it. ([`Classify`] on a `ServiceError` cannot see the status: its
    /// type depends on `E`.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::rmcp::McpCall;
    /// use mcpstore_errors::{ErrorKind, McpStoreError};
    /// use rmcp::ServiceError;
    /// use rmcp::transport::DynamicTransportError;
    /// use rmcp::transport::streamable_http_client::{HttpStatusError, StreamableHttpError};
    ///
    /// # type ClientError = std::io::Error; // e.g. reqwest::Error
    /// let busy = StreamableHttpError::<ClientError>::HttpStatus(HttpStatusError::new(503, Some("7".into())));
    /// let error = ServiceError::TransportSend(DynamicTransportError::from_parts(
    ///     "streamable-http",
    ///     std::any::TypeId::of::<()>(),
    ///     Box::new(busy),
    /// ));
    /// let err = McpStoreError::from_rmcp_http::<ClientError>(error, McpCall::tool("search", "query"));
    /// assert_eq!(err.kind(), ErrorKind::Connection);
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    /// assert_eq!(err.details()["http_status"], 503);
    /// assert_eq!(err.details()["service_name"], "search");
    /// ```
    pub fn from_rmcp_http<E>(error: ServiceError, call: McpCall<'_>) -> McpStoreError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        match http_status_of::<E>(&error) {
            Some(status) => {
                let built = http_status_error(status.status, status.retry_after.as_deref());
                with_call(built, call).with_source(error)
            }
            None => McpStoreError::from_rmcp(error, call),
        }
    }
}

/// The HTTP status rmcp's streamable HTTP client reported, with its `Retry-After`, for an
/// HTTP client that fails with `E`; `None` for any other error.
pub fn http_status_of<E>(error: &ServiceError) -> Option<&HttpStatusError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let ServiceError::TransportSend(send) = error else {
        return None;
    };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(send.error.as_ref());
    // A cap on the walk, in case a transport's `source()` loops.
    for _ in 0..16 {
        let current = next?;
        if let Some(StreamableHttpError::<E>::HttpStatus(status)) = current.downcast_ref() {
            return Some(status);
        }
        next = current.source();
    }
    None
}

fn from_error_data(data: &ErrorData, call: McpCall<'_>) -> McpStoreError {
    let message = truncated(&data.message);
    let built = match (
        jsonrpc_error_kind(data.code.0, &data.message, call.method),
        call.tool,
    ) {
        (ErrorKind::ToolNotFound, Some(tool)) => McpStoreError::tool_not_found(tool, call.service),
        (ErrorKind::ToolExecution, Some(tool)) => {
            McpStoreError::tool_execution_failed(tool, message.clone(), None)
        }
        // No placeholder name in the message: the tool is unknown (`?` gives no names).
        (kind @ ErrorKind::ToolNotFound, None) => McpStoreError::new(
            kind,
            format!("A tool was not found in {}: {message}", label(call.service)),
        )
        .with_detail("tool_name", Value::Null),
        (kind @ ErrorKind::ToolExecution, None) => McpStoreError::new(
            kind,
            format!("A tool of {} failed: {message}", label(call.service)),
        )
        .with_detail("tool_name", Value::Null),
        (kind, _) => McpStoreError::new(
            kind,
            format!(
                "MCP error {} from {}: {message}",
                data.code.0,
                label(call.service)
            ),
        ),
    };
    built
        .with_detail("jsonrpc_code", data.code.0)
        .with_detail("jsonrpc_message", message)
        .with_detail("jsonrpc_data", bounded_value(data.data.as_ref()))
}

/// A transport's name as rmcp gives it (a type's full path for a worker transport:
/// `rmcp::transport::worker::WorkerTransport<..>`), without module paths.
fn transport_label(name: &str) -> String {
    crate::collector::short_type_name(name)
}

/// `service 'name'`, or `the MCP service` when the name is unknown.
fn label(service: Option<&str>) -> String {
    match service {
        Some(name) => format!("service '{name}'"),
        None => "the MCP service".to_owned(),
    }
}

/// Names what is known; a name the constructor filled with a placeholder becomes null.
fn with_call(mut error: McpStoreError, call: McpCall<'_>) -> McpStoreError {
    error = error.with_detail("service_name", call.service);
    if call.tool.is_some() || error.details().contains_key("tool_name") {
        error = error.with_detail("tool_name", call.tool);
    }
    if let Some(method) = call.method {
        error = error.with_detail("method", method);
    }
    error
}

/// A tool result as an error when rmcp flags it `is_error`: the server ran the tool and it
/// failed, or (rmcp 3.11) the arguments did not deserialize. Without this check such a
/// result is an `Ok` that retries and the collector never see.
///
/// The error is [`ErrorKind::ToolExecution`] with the text content as `output` (cut at
/// [`MAX_DETAIL_BYTES`]), or [`ErrorKind::ToolNotFound`] when its first line says the tool
/// called is unknown (`"Unknown tool: x"`, `"Tool x not found"`, as servers built on the
/// TypeScript and Python SDKs answer); a result without `is_error` is returned unchanged.
///
/// ```
/// use mcpstore_errors::ErrorKind;
/// use mcpstore_errors::rmcp::check_tool_result;
/// use rmcp::model::{CallToolResult, ContentBlock};
///
/// let failed = CallToolResult::error(vec![ContentBlock::text("disk full")]);
/// let err = check_tool_result(failed, "files", "write_file").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ToolExecution);
/// assert_eq!(err.details()["output"], "disk full");
///
/// let ok = CallToolResult::success(vec![ContentBlock::text("written")]);
/// assert!(check_tool_result(ok, "files", "write_file").is_ok());
/// ```
pub fn check_tool_result(
    result: CallToolResult,
    service: &str,
    tool: &str,
) -> Result<CallToolResult, McpStoreError> {
    if result.is_error != Some(true) {
        return Ok(result);
    }
    let mut output = String::new();
    for text in result.content.iter().filter_map(|block| block.as_text()) {
        if output.len() >= MAX_DETAIL_BYTES {
            break;
        }
        if !output.is_empty() {
            output.push('\n');
        }
        output.push_str(truncated(&text.text).as_ref());
    }
    let output = truncated(&output);
    let reason = match output.lines().next() {
        Some(line) if !line.is_empty() => line.to_owned(),
        _ => "the tool reported an error".to_owned(),
    };
    // Servers built on the TypeScript and Python SDKs answer an unknown tool with such a
    // result ("Unknown tool: x", "Tool x not found"), not a JSON-RPC error.
    let error = match names_unknown_tool(&reason, tool) {
        true => McpStoreError::tool_not_found(tool, Some(service))
            .with_detail("output", output.as_ref()),
        false => McpStoreError::tool_execution_failed(tool, reason, Some(&output)),
    };
    Err(error
        .with_detail("service_name", service)
        .with_detail("method", TOOLS_CALL))
}

/// An HTTP failure of the streamable HTTP transport as a [`McpStoreError`].
///
/// rmcp 3.11 reports an HTTP 429 or 5xx as `HttpStatusError { status, retry_after }`, inside
/// the transport error of [`ServiceError::TransportSend`], whose type depends on the HTTP
/// client, so it is not reachable from a `ServiceError` alone: a client that sees one calls
/// this with its fields.
///
/// 429, 502, 503 and 504 are [`ErrorKind::Connection`] (retryable), with `Retry-After`
/// (seconds or an HTTP date, see [`parse_retry_after`]) as the
/// [`retry_after`](McpStoreError::retry_after); 408 is [`ErrorKind::ServiceTimeout`]; 401,
/// 403 and other 4xx are [`ErrorKind::Configuration`]; other statuses are
/// [`ErrorKind::Service`]. The status is the detail `http_status`.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::ErrorKind;
/// use mcpstore_errors::rmcp::http_status_error;
///
/// let busy = http_status_error(503, Some("7"));
/// assert_eq!(busy.kind(), ErrorKind::Connection);
/// assert_eq!(busy.retry_after(), Some(Duration::from_secs(7)));
/// assert_eq!(http_status_error(401, None).kind(), ErrorKind::Configuration);
/// ```
pub fn http_status_error(status: u16, retry_after: Option<&str>) -> McpStoreError {
    let kind = match status {
        429 | 502 | 503 | 504 => ErrorKind::Connection,
        408 => ErrorKind::ServiceTimeout,
        400..=499 => ErrorKind::Configuration,
        _ => ErrorKind::Service,
    };
    let error = McpStoreError::new(kind, format!("MCP server answered HTTP {status}"))
        .with_detail("http_status", status);
    let delay = retry_after.and_then(|value| parse_retry_after(value, SystemTime::now()));
    match delay {
        Some(delay) if kind == ErrorKind::Connection => error.with_retry_after(delay),
        _ => error,
    }
}

/// The delay a `Retry-After` header value asks for, read at `now`: a number of seconds
/// (`"120"`) or an HTTP date (`"Wed, 21 Oct 2026 07:28:00 GMT"`, parsed by `jiff`'s RFC 2822
/// parser, which accepts RFC 9110's format, or one of the two obsolete forms RFC 9110 also
/// accepts); a date in the past is zero. `None` for anything
/// else, and for values longer than 128 bytes.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use mcpstore_errors::rmcp::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
/// assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_RETRY_AFTER_BYTES {
        return None;
    }
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        // Too many digits for a u64 means "very long"; the retry loop caps it anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = match jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value) {
        Ok(at) => at,
        Err(_) => obsolete_http_date(value, now)?,
    };
    let at = SystemTime::try_from(at).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The two obsolete HTTP date forms RFC 9110 (section 5.6.7) asks recipients to accept:
/// RFC 850's (`Sunday, 06-Nov-94 08:49:37 GMT`), whose two-digit year is the latest one not
/// more than 50 years after `now`, and asctime's (`Sun Nov  6 08:49:37 1994`).
fn obsolete_http_date(value: &str, now: SystemTime) -> Option<jiff::Timestamp> {
    use jiff::fmt::strtime::BrokenDownTime;
    let utc = |time: BrokenDownTime| {
        let at = time.to_datetime().ok()?;
        jiff::tz::Offset::UTC.to_timestamp(at).ok()
    };
    if let Ok(mut time) = BrokenDownTime::parse("%A, %d-%b-%y %H:%M:%S GMT", value) {
        let now = jiff::Timestamp::try_from(now).ok()?;
        let now_year = i64::from(jiff::tz::Offset::UTC.to_datetime(now).year());
        let two_digits = i64::from(time.year()?) % 100;
        let mut year = now_year - now_year % 100 + two_digits;
        if year > now_year + 50 {
            year -= 100;
        } else if year <= now_year - 50 {
            year += 100;
        }
        time.set_year(Some(i16::try_from(year).ok()?)).ok()?;
        return utc(time);
    }
    utc(BrokenDownTime::parse("%a %b %e %H:%M:%S %Y", value).ok()?)
}

/// `text` cut at a character boundary at most [`MAX_DETAIL_BYTES`] long.
fn truncated(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_DETAIL_BYTES {
        return text.into();
    }
    let mut end = MAX_DETAIL_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// JSON-RPC `data` as a detail; a value whose JSON is longer than [`MAX_DETAIL_BYTES`] is
/// replaced by a note of its size.
fn bounded_value(data: Option<&Value>) -> Value {
    let Some(data) = data else {
        return Value::Null;
    };
    // Count without building the JSON, stopping past the limit.
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, data) {
        Ok(()) => data.clone(),
        Err(_) => Value::String(format!("<more than {MAX_DETAIL_BYTES} bytes omitted>")),
    }
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        match self.0 <= MAX_DETAIL_BYTES {
            true => Ok(buf.len()),
            false => Err(std::io::Error::other("too long")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;

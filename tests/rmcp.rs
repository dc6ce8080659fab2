//! The attributes on functions that speak rmcp (feature `rmcp`): rmcp's errors returned
//! unchanged are classified for `#[retry]`, converted by `?`, and a tool result flagged
//! `is_error` becomes an error the retry loop and the collector see.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcpstore_errors::rmcp::{McpCall, check_tool_result};
use mcpstore_errors::{Classify, ErrorCollector, ErrorKind, McpStoreError, collect_errors, retry};
use rmcp::ServiceError;
use rmcp::model::{CallToolResult, ContentBlock, ErrorData};

/// Fails with `errors[n]` on call `n`, then succeeds.
fn script(calls: &AtomicU32, errors: &[fn() -> ServiceError]) -> Result<u32, ServiceError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) as usize;
    match errors.get(call) {
        Some(error) => Err(error()),
        None => Ok(call as u32 + 1),
    }
}

#[retry(max_attempts = 4, delay = "1ms", jitter = false, when = retryable)]
fn retried_when_retryable(
    calls: &AtomicU32,
    errors: &[fn() -> ServiceError],
) -> Result<u32, ServiceError> {
    script(calls, errors)
}

#[test]
fn when_retryable_retries_rmcp_transport_errors_and_timeouts_unchanged() {
    let calls = AtomicU32::new(0);
    let errors: [fn() -> ServiceError; 2] = [
        || ServiceError::TransportClosed,
        || ServiceError::Timeout {
            timeout: Duration::from_secs(1),
        },
    ];
    assert_eq!(retried_when_retryable(&calls, &errors).unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn when_retryable_returns_a_tool_error_at_once() {
    let calls = AtomicU32::new(0);
    let errors: [fn() -> ServiceError; 1] =
        [|| ServiceError::McpError(ErrorData::invalid_params("tool not found", None))];
    let error = retried_when_retryable(&calls, &errors).unwrap_err();
    assert!(matches!(error, ServiceError::McpError(_)));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry(max_attempts = 3, delay = "1ms", jitter = false, on = [Connection])]
fn retried_on_connection(
    calls: &AtomicU32,
    errors: &[fn() -> ServiceError],
) -> Result<u32, ServiceError> {
    script(calls, errors)
}

#[test]
fn on_kinds_sees_the_kind_of_an_rmcp_error() {
    let calls = AtomicU32::new(0);
    let closed: [fn() -> ServiceError; 2] = [
        || ServiceError::TransportClosed,
        || ServiceError::TransportClosed,
    ];
    assert_eq!(retried_on_connection(&calls, &closed).unwrap(), 3);

    let calls = AtomicU32::new(0);
    let timeout: [fn() -> ServiceError; 1] = [|| ServiceError::Timeout {
        timeout: Duration::from_secs(1),
    }];
    assert!(retried_on_connection(&calls, &timeout).is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a timeout is not a Connection"
    );
}

static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

/// A tool call as a client writes it: `?` converts rmcp's error, `check_tool_result` turns an
/// `is_error` result into an error, and both are retried and collected.
#[collect_errors(collector = &COLLECTOR, context = {"operation": "call"})]
#[retry(max_attempts = 3, delay = "1ms", jitter = false, on = [Connection, ToolExecution])]
fn call_tool(
    calls: &AtomicU32,
    outcomes: &[fn() -> Result<CallToolResult, ServiceError>],
) -> Result<String, McpStoreError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) as usize;
    let response = outcomes[call.min(outcomes.len() - 1)]();
    let result = response.map_err(|e| McpStoreError::from_rmcp(e, McpCall::tool("fs", "read")))?;
    let result = check_tool_result(result, "fs", "read")?;
    Ok(result.content[0].as_text().unwrap().text.clone())
}

#[test]
fn an_is_error_result_is_retried_and_what_escapes_is_collected_by_kind() {
    COLLECTOR.clear();
    let calls = AtomicU32::new(0);
    let flaky: [fn() -> Result<CallToolResult, ServiceError>; 3] = [
        || Err(ServiceError::TransportClosed),
        || Ok(CallToolResult::error(vec![ContentBlock::text("busy")])),
        || Ok(CallToolResult::success(vec![ContentBlock::text("data")])),
    ];
    assert_eq!(call_tool(&calls, &flaky).unwrap(), "data");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(COLLECTOR.is_empty(), "recovered calls are not collected");

    let calls = AtomicU32::new(0);
    let unknown: [fn() -> Result<CallToolResult, ServiceError>; 1] = [|| {
        Err(ServiceError::McpError(ErrorData::invalid_params(
            "tool not found",
            None,
        )))
    }];
    let error = call_tool(&calls, &unknown).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ToolNotFound);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "an unknown tool is not retried"
    );

    let calls = AtomicU32::new(0);
    let failing: [fn() -> Result<CallToolResult, ServiceError>; 1] =
        [|| Ok(CallToolResult::error(vec![ContentBlock::text("disk full")]))];
    let error = call_tool(&calls, &failing).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ToolExecution);
    assert_eq!(error.details()["output"], "disk full");
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let statistics = COLLECTOR.statistics();
    assert_eq!(statistics["ToolNotFoundError"], 1);
    assert_eq!(statistics["ToolExecutionError"], 1);
    assert_eq!(statistics.len(), 2);
}

#[test]
fn question_mark_converts_rmcp_errors() {
    fn initialise() -> Result<(), McpStoreError> {
        Err(rmcp::service::ClientInitializeError::ConnectionClosed(
            "initialize response".into(),
        ))?
    }
    fn request() -> Result<(), McpStoreError> {
        Err(ServiceError::TransportClosed)?
    }
    assert_eq!(initialise().unwrap_err().kind(), ErrorKind::ServiceStart);
    assert_eq!(request().unwrap_err().kind(), ErrorKind::Connection);
}

/// rmcp's streamable HTTP client answered 401: the transport error it sends up, built as rmcp
/// builds it (its `AuthRequired` variant, the challenge as its source).
fn authorization_required() -> rmcp::transport::DynamicTransportError {
    use rmcp::transport::streamable_http_client::{AuthRequiredError, StreamableHttpError};
    let challenge = AuthRequiredError::new(
        r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource""#
            .into(),
    );
    rmcp::transport::DynamicTransportError::from_parts(
        "streamable-http",
        std::any::TypeId::of::<()>(),
        Box::new(StreamableHttpError::<std::io::Error>::AuthRequired(
            challenge,
        )),
    )
}

#[test]
fn a_401_is_not_retried_and_is_a_configuration_error() {
    let calls = AtomicU32::new(0);
    let errors: [fn() -> ServiceError; 1] =
        [|| ServiceError::TransportSend(authorization_required())];
    let error = retried_when_retryable(&calls, &errors).unwrap_err();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "asking again without credentials fails again"
    );
    assert!(error.is_authorization_required());

    let converted = McpStoreError::from_rmcp(error, McpCall::tool("files", "read_file"));
    assert_eq!(converted.kind(), ErrorKind::Configuration);
    assert!(!converted.is_retryable());
    assert!(
        converted.message().contains("asks for authorization"),
        "{}",
        converted.message()
    );
    assert_eq!(converted.details()["transport"], "streamable-http");
    assert_eq!(converted.details()["service_name"], "files");

    // A transport failure of any other cause stays a retryable connection error.
    let io = rmcp::transport::DynamicTransportError::from_parts(
        "streamable-http",
        std::any::TypeId::of::<()>(),
        Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
    );
    assert_eq!(
        ServiceError::TransportSend(io).error_kind(),
        Some(ErrorKind::Connection)
    );
}

#[test]
fn a_401_during_initialisation_is_a_configuration_error() {
    use rmcp::service::ClientInitializeError;
    let error = ClientInitializeError::TransportError {
        error: authorization_required(),
        context: "send initialize request".into(),
    };
    assert_eq!(error.error_kind(), Some(ErrorKind::Configuration));
    let converted = McpStoreError::from_rmcp_initialize(error, Some("files"));
    assert_eq!(converted.kind(), ErrorKind::Configuration);
    assert!(!converted.is_retryable());
    assert!(
        converted.message().contains("asks for authorization"),
        "{}",
        converted.message()
    );
}

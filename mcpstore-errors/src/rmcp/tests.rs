use std::error::Error as _;
use std::io;

use ::rmcp::model::ContentBlock;
use ::rmcp::transport::DynamicTransportError;
use serde_json::json;

use super::*;

fn transport_error() -> DynamicTransportError {
    DynamicTransportError::from_parts(
        "child-process",
        std::any::TypeId::of::<()>(),
        Box::new(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed")),
    )
}

fn mcp(code: i32, message: &'static str) -> ServiceError {
    ServiceError::McpError(ErrorData::new(ErrorCode(code), message, None))
}

/// Converts with `call` and checks that `Classify` agrees when no method is known.
fn convert(error: ServiceError, call: McpCall<'_>) -> McpStoreError {
    let classified = service_error_kind(&error, call.method);
    let converted = McpStoreError::from_rmcp(error, call);
    assert_eq!(converted.kind(), classified);
    converted
}

#[test]
fn transport_closed_and_send_are_retryable_connection_errors() {
    let closed = convert(ServiceError::TransportClosed, McpCall::tool("fs", "read"));
    assert_eq!(closed.kind(), ErrorKind::Connection);
    assert!(closed.is_retryable());
    assert!(closed.message().contains("'fs'"), "{}", closed.message());
    assert_eq!(closed.details()["service_name"], "fs");
    assert_eq!(closed.details()["tool_name"], "read");

    let send = ServiceError::TransportSend(transport_error());
    assert_eq!(send.error_kind(), Some(ErrorKind::Connection));
    assert!(Classify::is_retryable(&send));
    let send = convert(send, McpCall::service("fs"));
    assert_eq!(send.kind(), ErrorKind::Connection);
    assert_eq!(send.details()["transport"], "child-process");
    assert!(send.message().contains("pipe closed"), "{}", send.message());
}

#[test]
fn timeout_is_a_retryable_service_timeout_with_its_duration() {
    let error = ServiceError::Timeout {
        timeout: Duration::from_millis(1500),
    };
    assert!(Classify::is_retryable(&error));
    let converted = convert(error, McpCall::tool("search", "query"));
    assert_eq!(converted.kind(), ErrorKind::ServiceTimeout);
    assert_eq!(converted.details()["timeout"], 1.5);
    assert_eq!(converted.details()["service_name"], "search");
    assert!(converted.is_retryable());
}

#[test]
fn unknown_tool_answered_with_invalid_params_is_tool_not_found() {
    let converted = convert(mcp(-32602, "tool not found"), McpCall::tool("fs", "nope"));
    assert_eq!(converted.kind(), ErrorKind::ToolNotFound);
    assert_eq!(converted.message(), "Tool 'nope' not found in service 'fs'");
    assert_eq!(converted.details()["jsonrpc_code"], -32602);
    assert_eq!(converted.details()["jsonrpc_message"], "tool not found");
    assert!(!converted.is_retryable());
    // Without a method too: the message alone says what happened.
    assert_eq!(
        mcp(-32602, "Tool Not Found: x").error_kind(),
        Some(ErrorKind::ToolNotFound)
    );
}

#[test]
fn other_invalid_params_and_internal_errors_are_tool_execution() {
    let bad = ServiceError::McpError(ErrorData::invalid_params(
        "missing field `text`",
        Some(json!({"field": "text"})),
    ));
    let converted = convert(bad, McpCall::tool("fs", "echo"));
    assert_eq!(converted.kind(), ErrorKind::ToolExecution);
    assert_eq!(converted.details()["reason"], "missing field `text`");
    assert_eq!(
        converted.details()["jsonrpc_data"],
        json!({"field": "text"})
    );
    assert!(!converted.is_retryable());

    let internal = convert(mcp(-32603, "boom"), McpCall::tool("fs", "echo"));
    assert_eq!(internal.kind(), ErrorKind::ToolExecution);
    assert_eq!(internal.details()["jsonrpc_code"], -32603);
}

#[test]
fn method_not_found_depends_on_the_method() {
    let on_call = convert(mcp(-32601, "tools/call"), McpCall::tool("fs", "x"));
    assert_eq!(on_call.kind(), ErrorKind::ToolNotFound);
    let on_list = convert(
        mcp(-32601, "prompts/list"),
        McpCall::service("fs").method("prompts/list"),
    );
    assert_eq!(on_list.kind(), ErrorKind::Configuration);
    assert_eq!(on_list.details()["method"], "prompts/list");
    // Unknown method: not a tool call as far as we know.
    assert_eq!(
        mcp(-32601, "x").error_kind(),
        Some(ErrorKind::Configuration)
    );
}

#[test]
fn protocol_errors_are_configuration_and_unknown_codes_are_mcpstore() {
    for code in [-32700, -32600, -32020, -32021, -32022] {
        let converted = convert(mcp(code, "bad"), McpCall::service("fs"));
        assert_eq!(converted.kind(), ErrorKind::Configuration, "code {code}");
        assert_eq!(converted.details()["jsonrpc_code"], code);
        assert!(!converted.is_retryable());
    }
    for code in [-32002, -32019, -32023, 1, 0] {
        let converted = convert(mcp(code, "odd"), McpCall::service("fs"));
        assert_eq!(converted.kind(), ErrorKind::McpStore, "code {code}");
        assert!(!converted.is_retryable());
    }
}

#[test]
fn cancelled_unexpected_and_other_variants_are_not_retryable() {
    let cases = [
        ServiceError::Cancelled {
            reason: Some("user".into()),
        },
        ServiceError::UnexpectedResponse,
        ServiceError::SubscriptionLagged { capacity: 8 },
        ServiceError::InputRequiredRoundsExceeded { max_rounds: 3 },
    ];
    for error in cases {
        assert!(!Classify::is_retryable(&error), "{error}");
        let converted = convert(error, McpCall::default());
        assert_eq!(converted.kind(), ErrorKind::McpStore);
        assert!(!converted.is_retryable());
    }
}

#[test]
fn the_original_error_is_the_source() {
    let converted: McpStoreError = mcp(-32603, "boom").into();
    let source = converted.source().expect("a source");
    let original = source
        .downcast_ref::<ServiceError>()
        .expect("the rmcp error");
    assert!(matches!(original, ServiceError::McpError(data) if data.message == "boom"));

    let init: McpStoreError = ClientInitializeError::ConnectionClosed("eof".into()).into();
    let source = init.source().expect("a source");
    assert!(source.downcast_ref::<ClientInitializeError>().is_some());
}

#[test]
fn initialisation_failures_of_the_transport_are_retryable_service_start() {
    let cases = [
        ClientInitializeError::ConnectionClosed("initialize response".into()),
        ClientInitializeError::TransportError {
            error: transport_error(),
            context: "send initialize request".into(),
        },
    ];
    for error in cases {
        assert_eq!(error.error_kind(), Some(ErrorKind::ServiceStart));
        let converted = McpStoreError::from_rmcp_initialize(error, Some("fs"));
        assert_eq!(converted.kind(), ErrorKind::ServiceStart);
        assert!(converted.is_retryable());
        assert_eq!(converted.details()["service_name"], "fs");
        assert_eq!(converted.details()["method"], "initialize");
    }
}

#[test]
fn other_initialisation_failures() {
    let version = ClientInitializeError::NoCompatibleProtocolVersion {
        client_supported: vec![],
        server_supported: vec![],
    };
    assert_eq!(version.error_kind(), Some(ErrorKind::Configuration));
    let jsonrpc = ClientInitializeError::JsonRpcError(ErrorData::new(
        ErrorCode::METHOD_NOT_FOUND,
        "initialize",
        None,
    ));
    let converted = McpStoreError::from_rmcp_initialize(jsonrpc, Some("fs"));
    assert_eq!(converted.kind(), ErrorKind::Configuration);
    assert_eq!(converted.details()["jsonrpc_code"], -32601);
    let cancelled: McpStoreError = ClientInitializeError::Cancelled.into();
    assert_eq!(cancelled.kind(), ErrorKind::McpStore);
    let legacy = ClientInitializeError::LegacyFallbackFailed {
        discover: Box::new(ClientInitializeError::Cancelled),
        fallback: Box::new(ClientInitializeError::ConnectionClosed("eof".into())),
    };
    assert_eq!(legacy.error_kind(), Some(ErrorKind::ServiceStart));
}

#[test]
fn a_server_cannot_make_an_error_unbounded() {
    let huge = "x".repeat(1 << 20);
    let data = json!({"blob": "y".repeat(1 << 20)});
    let error = ServiceError::McpError(ErrorData::new(ErrorCode(-32603), huge, Some(data)));
    let converted = McpStoreError::from_rmcp(error, McpCall::tool("fs", "t"));
    assert!(converted.message().len() < 2 * MAX_DETAIL_BYTES);
    let kept = converted.details()["jsonrpc_message"].as_str().unwrap();
    assert!(kept.len() <= MAX_DETAIL_BYTES + 4);
    let note = converted.details()["jsonrpc_data"].as_str().unwrap();
    assert!(note.contains("omitted"), "{note}");
    // Cutting respects character boundaries.
    let wide = "é".repeat(MAX_DETAIL_BYTES);
    assert!(truncated(&wide).len() <= MAX_DETAIL_BYTES + "…".len());
}

#[test]
fn tool_results_flagged_is_error_become_tool_execution_errors() {
    let failed = CallToolResult::error(vec![
        ContentBlock::text("first line\nsecond"),
        ContentBlock::text("more"),
    ]);
    let error = check_tool_result(failed, "fs", "write").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ToolExecution);
    assert_eq!(error.details()["reason"], "first line");
    assert_eq!(error.details()["output"], "first line\nsecond\nmore");
    assert_eq!(error.details()["service_name"], "fs");
    assert_eq!(error.details()["tool_name"], "write");
    assert!(!error.is_retryable());

    let no_text = CallToolResult::error(vec![]);
    let error = check_tool_result(no_text, "fs", "write").unwrap_err();
    assert_eq!(error.details()["reason"], "the tool reported an error");

    let huge = CallToolResult::error(vec![ContentBlock::text("z".repeat(1 << 20)); 4]);
    let error = check_tool_result(huge, "fs", "write").unwrap_err();
    assert!(error.details()["output"].as_str().unwrap().len() <= MAX_DETAIL_BYTES + 4);
}

#[test]
fn tool_results_without_is_error_pass_unchanged() {
    let ok = CallToolResult::success(vec![ContentBlock::text("fine")]);
    assert_eq!(check_tool_result(ok.clone(), "fs", "t").unwrap(), ok);
    let mut absent = ok.clone();
    absent.is_error = None;
    assert_eq!(
        check_tool_result(absent.clone(), "fs", "t").unwrap(),
        absent
    );
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("99999999999999999999999999", now),
        Some(Duration::from_secs(u64::MAX))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO),
        "a date in the past means now"
    );
    for bad in ["", "-5", "1.5", "soon", "Wed, 32 Oct 2015 07:28:05 GMT"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
    assert_eq!(parse_retry_after(&"9".repeat(129), now), None);
}

#[test]
fn http_statuses_map_to_kinds_and_keep_retry_after_when_retryable() {
    for status in [429, 502, 503, 504] {
        let error = http_status_error(status, Some("3"));
        assert_eq!(error.kind(), ErrorKind::Connection, "{status}");
        assert!(error.is_retryable());
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(error.details()["http_status"], status);
    }
    assert_eq!(http_status_error(503, None).retry_after(), None);
    assert_eq!(http_status_error(503, Some("later")).retry_after(), None);
    assert_eq!(
        http_status_error(408, None).kind(),
        ErrorKind::ServiceTimeout
    );
    for status in [400, 401, 403, 404] {
        let error = http_status_error(status, Some("3"));
        assert_eq!(error.kind(), ErrorKind::Configuration, "{status}");
        assert_eq!(error.retry_after(), None, "only a retryable status waits");
    }
    assert_eq!(http_status_error(500, None).kind(), ErrorKind::Service);
    assert!(!http_status_error(500, None).is_retryable());
}

#[test]
fn without_names_nothing_is_invented() {
    let closed: McpStoreError = ServiceError::TransportClosed.into();
    assert_eq!(closed.details()["service_name"], Value::Null);
    assert!(
        closed.message().contains("the MCP service"),
        "{}",
        closed.message()
    );
    let timeout: McpStoreError = ServiceError::Timeout {
        timeout: Duration::from_secs(2),
    }
    .into();
    assert_eq!(timeout.kind(), ErrorKind::ServiceTimeout);
    assert_eq!(timeout.details()["service_name"], Value::Null);
    assert_eq!(timeout.details()["timeout"], 2.0);
    let unknown: McpStoreError = mcp(-32602, "tool not found").into();
    assert_eq!(unknown.kind(), ErrorKind::ToolNotFound);
    assert_eq!(unknown.details()["tool_name"], Value::Null);
    let start: McpStoreError = ClientInitializeError::ConnectionClosed("eof".into()).into();
    assert_eq!(start.kind(), ErrorKind::ServiceStart);
    assert_eq!(start.details()["service_name"], Value::Null);
    assert!(start.details()["reason"].as_str().unwrap().contains("eof"));
}

#[test]
fn invalid_params_and_internal_errors_outside_a_tool_call_are_not_tool_failures() {
    // The MCP lifecycle's answer to an unsupported protocol version: -32602 to `initialize`.
    let version = ClientInitializeError::JsonRpcError(ErrorData::new(
        ErrorCode::INVALID_PARAMS,
        "Unsupported protocol version",
        Some(json!({"supported": ["2024-11-05"]})),
    ));
    assert_eq!(version.error_kind(), Some(ErrorKind::Configuration));
    let converted = McpStoreError::from_rmcp_initialize(version, Some("fs"));
    assert_eq!(converted.kind(), ErrorKind::Configuration);
    assert!(
        !converted.message().contains("Tool"),
        "{}",
        converted.message()
    );
    assert_eq!(converted.details()["jsonrpc_code"], -32602);

    let cursor = convert(
        mcp(-32602, "invalid cursor"),
        McpCall::service("fs").method("tools/list"),
    );
    assert_eq!(cursor.kind(), ErrorKind::Configuration);
    assert!(!cursor.details().contains_key("reason"), "{cursor}");
    let internal = convert(
        mcp(-32603, "database down"),
        McpCall::service("fs").method("resources/read"),
    );
    assert_eq!(internal.kind(), ErrorKind::Service);
    assert!(internal.message().contains("database down"), "{internal}");
    // On a tool call, or with no method known, they stay the tool's failure.
    assert_eq!(
        jsonrpc_error_kind(-32603, "boom", None),
        ErrorKind::ToolExecution
    );
    assert_eq!(
        jsonrpc_error_kind(-32602, "bad", Some(TOOLS_CALL)),
        ErrorKind::ToolExecution
    );
}

#[test]
fn unknown_tool_in_the_words_of_the_spec_and_other_sdks_is_tool_not_found() {
    for message in [
        // The MCP specification's example (server/tools, "Error Handling").
        "Unknown tool: invalid_tool_name",
        // The TypeScript SDK's McpServer, with and without McpError's prefix.
        "Tool raed_file not found",
        "MCP error -32602: Tool raed_file not found",
    ] {
        let converted = convert(mcp(-32602, message), McpCall::tool("fs", "raed_file"));
        assert_eq!(converted.kind(), ErrorKind::ToolNotFound, "{message}");
    }
    // A tool's argument that names something missing is still the tool's failure.
    for message in [
        "tool argument `path`: file not found",
        "missing field `tool`",
        "Tool raed_file: input not found",
        "unknown tool argument `recursive`",
        "Unknown tool parameters: depth",
    ] {
        assert_eq!(
            jsonrpc_error_kind(-32602, message, Some(TOOLS_CALL)),
            ErrorKind::ToolExecution,
            "{message}"
        );
    }
}

#[test]
fn retry_after_reads_the_obsolete_http_date_forms() {
    // Wed, 21 Oct 2015 07:28:00 GMT
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    assert_eq!(
        parse_retry_after("Wednesday, 21-Oct-15 07:28:05 GMT", now),
        Some(Duration::from_secs(5)),
        "RFC 850"
    );
    assert_eq!(
        parse_retry_after("Wed Oct 21 07:28:09 2015", now),
        Some(Duration::from_secs(9)),
        "asctime"
    );
    assert_eq!(
        parse_retry_after("Thu Oct  1 07:28:00 2015", now),
        Some(Duration::ZERO),
        "asctime, a space-padded day in the past"
    );
    // A two-digit year more than 50 years ahead is the latest past one: 2066 is 51 years
    // after 2015, so `66` is 1966 (in the past: now); 2065 is 50, so `65` is 2065.
    assert_eq!(
        parse_retry_after("Friday, 21-Oct-66 07:28:00 GMT", now),
        Some(Duration::ZERO)
    );
    let fifty_years =
        parse_retry_after("Wednesday, 21-Oct-65 07:28:00 GMT", now).expect("a date 50 years ahead");
    assert!(
        fifty_years > Duration::from_secs(49 * 365 * 86_400),
        "{fifty_years:?}"
    );
    // Late in a century, a small two-digit year is in the next one: `10` in 2095 is 2110.
    let late = SystemTime::UNIX_EPOCH + Duration::from_secs(3944678400); // 2095-01-01
    let next_century =
        parse_retry_after("Tuesday, 21-Oct-10 00:00:00 GMT", late).expect("a date 15 years ahead");
    assert!(
        next_century > Duration::from_secs(15 * 365 * 86_400),
        "{next_century:?}"
    );
    for bad in [
        "Wednesday, 32-Oct-15 07:28:05 GMT",
        "Thursday, 21-Oct-15 07:28:05 GMT", // the wrong weekday
        "Wed Oct 21 07:28:09",
        "21-Oct-15",
    ] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}

fn http_failure(error: StreamableHttpError<io::Error>) -> ServiceError {
    ServiceError::TransportSend(DynamicTransportError::from_parts(
        "streamable-http",
        std::any::TypeId::of::<()>(),
        Box::new(error),
    ))
}

#[test]
fn a_403_for_want_of_scope_is_configuration_and_not_retried() {
    use ::rmcp::transport::streamable_http_client::InsufficientScopeError;
    let scope = || {
        http_failure(StreamableHttpError::InsufficientScope(
            InsufficientScopeError::new("Bearer error=\"insufficient_scope\"".to_owned(), None),
        ))
    };
    assert_eq!(scope().error_kind(), Some(ErrorKind::Configuration));
    assert!(!Classify::is_retryable(&scope()));
    let converted = convert(scope(), McpCall::tool("web", "search"));
    assert_eq!(converted.kind(), ErrorKind::Configuration);
    assert!(
        converted.message().contains("asks for authorization"),
        "{}",
        converted.message()
    );
}

#[test]
fn an_http_status_reaches_retry_after_through_from_rmcp_http() {
    let busy = || {
        http_failure(StreamableHttpError::HttpStatus(HttpStatusError::new(
            429,
            Some("120".to_owned()),
        )))
    };
    let converted =
        McpStoreError::from_rmcp_http::<io::Error>(busy(), McpCall::tool("web", "search"));
    assert_eq!(converted.kind(), ErrorKind::Connection);
    assert_eq!(converted.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(converted.details()["http_status"], 429);
    assert_eq!(converted.details()["tool_name"], "search");
    assert!(converted.source().is_some(), "the rmcp error is the source");
    // Another HTTP client's error type: not this status; converted as from_rmcp does.
    let other = McpStoreError::from_rmcp_http::<std::fmt::Error>(busy(), McpCall::service("web"));
    assert_eq!(other.kind(), ErrorKind::Connection);
    assert_eq!(other.retry_after(), None);
    // Not an HTTP status at all.
    let closed = McpStoreError::from_rmcp_http::<io::Error>(
        ServiceError::TransportClosed,
        McpCall::service("web"),
    );
    assert_eq!(closed.kind(), ErrorKind::Connection);
    assert!(http_status_of::<io::Error>(&ServiceError::TransportClosed).is_none());
}

#[test]
fn an_unknown_tool_reported_as_a_tool_result_is_tool_not_found() {
    for text in [
        "Unknown tool: py_unknown",
        "MCP error -32602: Tool py_unknown not found",
    ] {
        let result = CallToolResult::error(vec![ContentBlock::text(text)]);
        let error = check_tool_result(result, "probe", "py_unknown").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ToolNotFound, "{text}");
        assert_eq!(error.details()["output"], text);
        assert_eq!(error.details()["service_name"], "probe");
    }
    // A tool whose own output speaks of another, unknown tool failed itself.
    for (tool, text) in [
        ("which", "tool not found: gcc"),
        ("convert", "external tool not found: ffmpeg, cannot convert"),
        (
            "run",
            "Error: required tool not found on PATH (tried to run `jq`)",
        ),
        ("search", "unknown tool_choice for search"),
    ] {
        let result = CallToolResult::error(vec![ContentBlock::text(text)]);
        let error = check_tool_result(result, "shell", tool).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ToolExecution, "{text}");
    }
    for (tool, text) in [
        ("read", "Tool 'read' not found"),
        ("read", "tool not found: read"),
        ("read-file", "No such tool `read-file`"),
    ] {
        let result = CallToolResult::error(vec![ContentBlock::text(text)]);
        let error = check_tool_result(result, "fs", tool).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ToolNotFound, "{text}");
    }
}

#[test]
fn a_tool_error_with_no_tool_named_has_no_placeholder_in_its_message() {
    let unknown: McpStoreError = mcp(-32602, "tool not found").into();
    assert_eq!(unknown.kind(), ErrorKind::ToolNotFound);
    assert!(
        !unknown.message().contains("<unknown>"),
        "{}",
        unknown.message()
    );
    assert_eq!(unknown.details()["tool_name"], Value::Null);
    let failed: McpStoreError = mcp(-32603, "boom").into();
    assert_eq!(failed.kind(), ErrorKind::ToolExecution);
    assert!(
        !failed.message().contains("<unknown>"),
        "{}",
        failed.message()
    );
    assert!(failed.message().contains("boom"));
}

#[test]
fn a_transport_named_by_its_type_is_named_without_module_paths() {
    assert_eq!(
        transport_label(
            "rmcp::transport::worker::WorkerTransport<rmcp::transport::streamable_http_client::StreamableHttpClientWorker<reqwest::Client>>"
        ),
        "WorkerTransport<StreamableHttpClientWorker<Client>>"
    );
    assert_eq!(transport_label("child-process"), "child-process");
}

#[test]
fn an_rmcp_service_error_is_filed_apart_from_the_service_kind() {
    let collector = crate::ErrorCollector::new(10);
    collector.collect_classified(&ServiceError::TransportClosed, Value::Null);
    collector.collect(&McpStoreError::new(ErrorKind::Service, "down"), Value::Null);
    let statistics = collector.statistics();
    assert_eq!(statistics.get("ServiceError"), Some(&1));
    assert_eq!(statistics.get("rmcp::service::ServiceError"), Some(&1));
}

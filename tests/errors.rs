//! The error hierarchy: constructors, messages, codes, details, kinds, help texts, sources,
//! serialization and conversions.

use std::collections::HashSet;
use std::error::Error as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcpstore_errors::{Classify, ErrorKind, KindSet, McpStoreError};
use serde_json::{Value, json};

// ---- messages, codes and details of each constructor ----

#[test]
fn service_not_found_has_the_seed_message_code_and_details() {
    let err = McpStoreError::service_not_found("fs");
    assert_eq!(err.to_string(), "Service 'fs' not found");
    assert_eq!(err.message(), "Service 'fs' not found");
    assert_eq!(err.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(err.code(), "SERVICE_NOT_FOUND");
    assert_eq!(
        Value::Object(err.details().clone()),
        json!({"service_name": "fs"})
    );
}

#[test]
fn service_start_failed_has_the_seed_message_code_and_details() {
    let err = McpStoreError::service_start_failed("fs", "port busy");
    assert_eq!(err.to_string(), "Failed to start service 'fs': port busy");
    assert_eq!(err.kind(), ErrorKind::ServiceStart);
    assert_eq!(err.code(), "SERVICE_START_FAILED");
    assert_eq!(
        Value::Object(err.details().clone()),
        json!({"service_name": "fs", "reason": "port busy"})
    );
}

#[test]
fn service_stop_failed_names_the_service_and_reason() {
    let err = McpStoreError::service_stop_failed("fs", "still busy");
    assert_eq!(err.to_string(), "Failed to stop service 'fs': still busy");
    assert_eq!(err.kind(), ErrorKind::ServiceStop);
    assert_eq!(err.code(), "SERVICE_STOP_FAILED");
    assert_eq!(
        Value::Object(err.details().clone()),
        json!({"service_name": "fs", "reason": "still busy"})
    );
}

#[test]
fn service_timeout_names_the_service_and_the_timeout_in_seconds() {
    let err = McpStoreError::service_timeout("fs", Duration::from_millis(1500));
    assert_eq!(err.kind(), ErrorKind::ServiceTimeout);
    assert_eq!(err.code(), "SERVICE_TIMEOUT");
    assert!(err.message().contains("'fs'"), "{}", err.message());
    assert!(err.message().contains("1.5s"), "{}", err.message());
    assert_eq!(err.details()["service_name"], "fs");
    assert_eq!(err.details()["timeout"], 1.5);
}

#[test]
fn tool_not_found_in_a_service_names_both() {
    let err = McpStoreError::tool_not_found("read", Some("fs"));
    assert_eq!(err.to_string(), "Tool 'read' not found in service 'fs'");
    assert_eq!(err.kind(), ErrorKind::ToolNotFound);
    assert_eq!(err.code(), "TOOL_NOT_FOUND");
    assert_eq!(
        Value::Object(err.details().clone()),
        json!({"tool_name": "read", "service_name": "fs"})
    );
}

#[test]
fn tool_not_found_without_a_service_has_a_null_service_name() {
    let err = McpStoreError::tool_not_found("read", None);
    assert_eq!(err.to_string(), "Tool 'read' not found");
    assert_eq!(
        Value::Object(err.details().clone()),
        json!({"tool_name": "read", "service_name": null})
    );
}

#[test]
fn tool_execution_failed_has_the_seed_message_code_and_details() {
    let err = McpStoreError::tool_execution_failed("read", "boom", Some("partial"));
    assert_eq!(err.to_string(), "Tool 'read' execution failed: boom");
    assert_eq!(err.kind(), ErrorKind::ToolExecution);
    assert_eq!(err.code(), "TOOL_EXECUTION_FAILED");
    assert_eq!(
        Value::Object(err.details().clone()),
        json!({"tool_name": "read", "reason": "boom", "output": "partial"})
    );
}

#[test]
fn tool_execution_failed_without_output_has_a_null_output() {
    let err = McpStoreError::tool_execution_failed("read", "boom", None);
    assert_eq!(err.details()["output"], Value::Null);
    assert!(err.details().contains_key("output"));
}

#[test]
fn configuration_and_connection_keep_the_message_as_given() {
    let config = McpStoreError::configuration("missing key 'port'");
    assert_eq!(config.to_string(), "missing key 'port'");
    assert_eq!(config.kind(), ErrorKind::Configuration);
    assert_eq!(config.code(), "CONFIGURATION_ERROR");
    assert!(config.details().is_empty());

    let conn = McpStoreError::connection("refused");
    assert_eq!(conn.to_string(), "refused");
    assert_eq!(conn.kind(), ErrorKind::Connection);
    assert_eq!(conn.code(), "CONNECTION_ERROR");
}

#[test]
fn new_makes_an_error_of_any_kind_with_that_kinds_code() {
    for kind in ErrorKind::ALL {
        let err = McpStoreError::new(kind, "something");
        assert_eq!(err.kind(), kind);
        assert_eq!(err.code(), kind.code());
        assert_eq!(err.message(), "something");
    }
}

#[test]
fn with_detail_adds_and_replaces_details() {
    let err = McpStoreError::service_not_found("fs")
        .with_detail("attempt", 3)
        .with_detail("service_name", "other");
    assert_eq!(err.details()["attempt"], 3);
    assert_eq!(err.details()["service_name"], "other");
}

#[test]
fn timestamp_is_the_time_of_creation() {
    let before = SystemTime::now();
    let err = McpStoreError::connection("refused");
    let after = SystemTime::now();
    assert!(before <= err.timestamp() && err.timestamp() <= after);
}

#[test]
fn clones_share_everything() {
    let err = McpStoreError::service_start_failed("fs", "port busy")
        .with_retry_after(Duration::from_secs(2));
    let copy = err.clone();
    assert_eq!(copy.message(), err.message());
    assert_eq!(copy.details(), err.details());
    assert_eq!(copy.timestamp(), err.timestamp());
    assert_eq!(copy.retry_after(), Some(Duration::from_secs(2)));
}

#[test]
fn error_is_send_sync_and_static() {
    fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
    assert_bounds::<McpStoreError>();
}

// ---- kinds: codes, names, hierarchy ----

#[test]
fn every_kind_has_its_code() {
    let codes: Vec<_> = ErrorKind::ALL.iter().map(|k| (*k, k.code())).collect();
    assert_eq!(
        codes,
        [
            (ErrorKind::McpStore, "MCPSTORE_ERROR"),
            (ErrorKind::Service, "SERVICE_ERROR"),
            (ErrorKind::ServiceNotFound, "SERVICE_NOT_FOUND"),
            (ErrorKind::ServiceStart, "SERVICE_START_FAILED"),
            (ErrorKind::ServiceStop, "SERVICE_STOP_FAILED"),
            (ErrorKind::ServiceTimeout, "SERVICE_TIMEOUT"),
            (ErrorKind::Tool, "TOOL_ERROR"),
            (ErrorKind::ToolNotFound, "TOOL_NOT_FOUND"),
            (ErrorKind::ToolExecution, "TOOL_EXECUTION_FAILED"),
            (ErrorKind::Configuration, "CONFIGURATION_ERROR"),
            (ErrorKind::Connection, "CONNECTION_ERROR"),
            (ErrorKind::CircuitOpen, "CIRCUIT_OPEN"),
        ]
    );
}

#[test]
fn every_kind_has_the_seed_class_name() {
    let names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "MCPStoreError",
            "ServiceError",
            "ServiceNotFoundError",
            "ServiceStartError",
            "ServiceStopError",
            "ServiceTimeoutError",
            "ToolError",
            "ToolNotFoundError",
            "ToolExecutionError",
            "ConfigurationError",
            "ConnectionError",
            "CircuitOpenError",
        ]
    );
}

#[test]
fn kinds_are_found_again_by_name_and_by_code() {
    for kind in ErrorKind::ALL {
        assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
        assert_eq!(ErrorKind::from_name(kind.variant_name()), Some(kind));
        assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
    }
    assert_eq!(ErrorKind::from_name("ValueError"), None);
    assert_eq!(ErrorKind::from_code("NOPE"), None);
}

#[test]
fn display_of_a_kind_is_its_class_name() {
    assert_eq!(ErrorKind::ToolNotFound.to_string(), "ToolNotFoundError");
}

#[test]
fn is_a_follows_the_seed_class_hierarchy() {
    use ErrorKind::*;
    let service_children = [ServiceNotFound, ServiceStart, ServiceStop, ServiceTimeout];
    let tool_children = [ToolNotFound, ToolExecution];
    for kind in ErrorKind::ALL {
        assert!(kind.is_a(kind), "{kind:?} is a itself");
        assert!(kind.is_a(McpStore), "{kind:?} is an McpStore error");
        assert_eq!(
            kind.is_a(Service),
            kind == Service || service_children.contains(&kind),
            "{kind:?} is a Service?"
        );
        assert_eq!(
            kind.is_a(Tool),
            kind == Tool || tool_children.contains(&kind),
            "{kind:?} is a Tool?"
        );
    }
}

#[test]
fn is_a_does_not_go_down_or_sideways() {
    use ErrorKind::*;
    assert!(!Service.is_a(ServiceNotFound));
    assert!(!McpStore.is_a(Service));
    assert!(!ServiceStart.is_a(ServiceStop));
    assert!(!Configuration.is_a(Connection));
    assert!(!ToolNotFound.is_a(ServiceNotFound));
}

#[test]
fn parent_is_the_direct_superclass() {
    use ErrorKind::*;
    assert_eq!(McpStore.parent(), None);
    assert_eq!(Service.parent(), Some(McpStore));
    assert_eq!(Connection.parent(), Some(McpStore));
    assert_eq!(ServiceTimeout.parent(), Some(Service));
    assert_eq!(ToolExecution.parent(), Some(Tool));
}

#[test]
fn kind_set_matches_members_and_their_sub_kinds() {
    use ErrorKind::*;
    let set = KindSet::of(&[Service, Connection]);
    assert!(set.matches(ServiceTimeout));
    assert!(set.matches(Service));
    assert!(set.matches(Connection));
    assert!(!set.matches(McpStore));
    assert!(!set.matches(ToolExecution));
    assert!(set.contains(Service));
    assert!(!set.contains(ServiceTimeout));
    assert!(!KindSet::EMPTY.matches(ServiceStart));
    assert_eq!([Service, Connection].into_iter().collect::<KindSet>(), set);
}

// ---- retryability and help ----

#[test]
fn retryable_by_default_are_start_stop_timeout_and_connection() {
    use ErrorKind::*;
    let retryable: Vec<_> = ErrorKind::ALL
        .into_iter()
        .filter(|k| k.is_retryable())
        .collect();
    assert_eq!(
        retryable,
        [ServiceStart, ServiceStop, ServiceTimeout, Connection]
    );
}

#[test]
fn not_found_configuration_and_tool_execution_errors_are_not_retryable() {
    let errors = [
        McpStoreError::service_not_found("fs"),
        McpStoreError::tool_not_found("read", None),
        McpStoreError::configuration("bad"),
        McpStoreError::tool_execution_failed("read", "boom", None),
    ];
    for err in errors {
        assert!(!err.is_retryable(), "{err}");
        assert!(!Classify::is_retryable(&err), "{err}");
    }
}

#[test]
fn transient_errors_are_retryable() {
    let errors = [
        McpStoreError::service_start_failed("fs", "port busy"),
        McpStoreError::service_stop_failed("fs", "busy"),
        McpStoreError::service_timeout("fs", Duration::from_secs(5)),
        McpStoreError::connection("refused"),
    ];
    for err in errors {
        assert!(err.is_retryable(), "{err}");
    }
}

#[test]
fn every_kind_has_a_distinct_non_empty_help_text() {
    let mut seen = HashSet::new();
    for kind in ErrorKind::ALL {
        assert!(!kind.help().trim().is_empty(), "{kind:?}");
        assert!(seen.insert(kind.help()), "{kind:?} repeats a help text");
    }
}

#[test]
fn an_errors_help_is_its_kinds_help() {
    let err = McpStoreError::service_not_found("fs");
    assert_eq!(err.help(), ErrorKind::ServiceNotFound.help());
}

// ---- classification through the trait ----

#[test]
fn classify_reports_kind_and_retry_after() {
    let err = McpStoreError::connection("busy").with_retry_after(Duration::from_secs(7));
    assert_eq!(err.error_kind(), Some(ErrorKind::Connection));
    assert_eq!(Classify::retry_after(&err), Some(Duration::from_secs(7)));
    assert_eq!(Classify::retry_after(&McpStoreError::connection("x")), None);
}

#[test]
fn classify_sees_through_references_boxes_and_arcs() {
    fn classified<C: Classify>(error: C) -> (Option<ErrorKind>, bool, Option<Duration>) {
        (
            error.error_kind(),
            error.is_retryable(),
            error.retry_after(),
        )
    }
    let err = McpStoreError::service_timeout("fs", Duration::from_secs(1))
        .with_retry_after(Duration::from_secs(4));
    let expected = (
        Some(ErrorKind::ServiceTimeout),
        true,
        Some(Duration::from_secs(4)),
    );
    assert_eq!(classified(&err), expected);
    assert_eq!(classified(Box::new(err.clone())), expected);
    assert_eq!(classified(std::sync::Arc::new(err)), expected);
}

// ---- sources ----

#[test]
fn with_source_keeps_the_cause_and_display_stays_the_message() {
    let cause = McpStoreError::connection("refused");
    let err = McpStoreError::service_start_failed("fs", "cannot connect").with_source(cause);
    assert_eq!(
        err.to_string(),
        "Failed to start service 'fs': cannot connect"
    );
    let source = err.source().expect("a source");
    assert_eq!(source.to_string(), "refused");
}

#[test]
fn source_chains_are_walked_to_the_root() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused by peer");
    let middle = McpStoreError::connection("cannot reach fs").with_source(io);
    let top = McpStoreError::service_start_failed("fs", "no connection").with_source(middle);

    let mut chain = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(&top);
    while let Some(error) = current {
        chain.push(error.to_string());
        current = error.source();
    }
    assert_eq!(
        chain,
        [
            "Failed to start service 'fs': no connection",
            "cannot reach fs",
            "refused by peer",
        ]
    );
}

#[test]
fn an_attached_source_can_be_downcast_to_its_type() {
    let cause = McpStoreError::connection("refused");
    let err = McpStoreError::service_start_failed("fs", "x").with_source(cause);
    let source = err.source().expect("a source");
    let inner = source
        .downcast_ref::<McpStoreError>()
        .expect("source is the McpStoreError that was attached");
    assert_eq!(inner.kind(), ErrorKind::Connection);
}

#[test]
fn an_error_without_source_has_none() {
    assert!(McpStoreError::service_not_found("fs").source().is_none());
}

// ---- serialization ----

#[test]
fn serializes_type_code_message_details_and_timestamp() {
    let err = McpStoreError::tool_execution_failed("read", "boom", None);
    let value = serde_json::to_value(&err).unwrap();
    let expected_seconds = err
        .timestamp()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();

    let object = value.as_object().unwrap();
    let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "message", "timestamp", "type"]);
    assert_eq!(value["type"], "ToolExecutionError");
    assert_eq!(value["code"], "TOOL_EXECUTION_FAILED");
    assert_eq!(value["message"], "Tool 'read' execution failed: boom");
    assert_eq!(
        value["details"],
        json!({"tool_name": "read", "reason": "boom", "output": null})
    );
    assert_eq!(value["timestamp"].as_f64().unwrap(), expected_seconds);
}

#[test]
fn a_kind_serializes_as_its_variant_name() {
    assert_eq!(
        serde_json::to_value(ErrorKind::ServiceTimeout).unwrap(),
        json!("ServiceTimeout")
    );
}

// ---- conversions ----

fn io_error(kind: std::io::ErrorKind) -> std::io::Error {
    std::io::Error::new(kind, "io failure")
}

#[test]
fn io_connection_failures_become_connection_errors() {
    use std::io::ErrorKind as Io;
    for kind in [
        Io::ConnectionRefused,
        Io::ConnectionReset,
        Io::ConnectionAborted,
        Io::NotConnected,
        Io::BrokenPipe,
        Io::TimedOut,
        Io::UnexpectedEof,
    ] {
        let err = McpStoreError::from(io_error(kind));
        assert_eq!(err.kind(), ErrorKind::Connection, "{kind:?}");
        assert!(err.is_retryable(), "{kind:?}");
    }
}

#[test]
fn io_not_found_permission_and_invalid_input_become_configuration_errors() {
    use std::io::ErrorKind as Io;
    for kind in [Io::NotFound, Io::PermissionDenied, Io::InvalidInput] {
        let err = McpStoreError::from(io_error(kind));
        assert_eq!(err.kind(), ErrorKind::Configuration, "{kind:?}");
    }
}

#[test]
fn other_io_errors_become_generic_errors() {
    let err = McpStoreError::from(io_error(std::io::ErrorKind::Other));
    assert_eq!(err.kind(), ErrorKind::McpStore);
    assert_eq!(err.code(), "MCPSTORE_ERROR");
}

#[test]
fn io_conversion_keeps_the_message_and_the_source() {
    let err = McpStoreError::from(io_error(std::io::ErrorKind::ConnectionRefused));
    assert!(err.message().contains("io failure"), "{}", err.message());
    let source = err.source().expect("the io::Error is kept");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("the source downcasts to io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn question_mark_converts_io_errors() {
    fn open() -> Result<(), McpStoreError> {
        Err(io_error(std::io::ErrorKind::ConnectionReset))?
    }
    assert_eq!(open().unwrap_err().kind(), ErrorKind::Connection);
}

#[test]
fn io_errors_classify_like_their_conversion() {
    let io = io_error(std::io::ErrorKind::TimedOut);
    assert_eq!(io.error_kind(), Some(ErrorKind::Connection));
    assert!(io.is_retryable());
}

#[test]
fn json_syntax_errors_become_configuration_errors_with_the_source() {
    let json_err = serde_json::from_str::<Value>("{not json}").unwrap_err();
    let err = McpStoreError::from(json_err);
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(!err.is_retryable());
    assert!(
        err.source()
            .and_then(|s| s.downcast_ref::<serde_json::Error>())
            .is_some()
    );
}

#[test]
fn truncated_json_becomes_a_connection_error() {
    let json_err = serde_json::from_str::<Value>("{\"a\": ").unwrap_err();
    assert!(json_err.is_eof());
    let err = McpStoreError::from(json_err);
    assert_eq!(err.kind(), ErrorKind::Connection);
}

#[test]
fn number_parse_errors_become_configuration_errors() {
    let int = McpStoreError::from("x".parse::<u32>().unwrap_err());
    let float = McpStoreError::from("x".parse::<f64>().unwrap_err());
    assert_eq!(int.kind(), ErrorKind::Configuration);
    assert_eq!(float.kind(), ErrorKind::Configuration);
}

/// An `io::Error` made from a store error (as a breaker's refusal or a cut-off attempt of an
/// `io::Error` function is) converts back to that very error, not to one judged by io kind.
#[test]
fn an_io_error_carrying_a_store_error_converts_back_to_it() {
    let timeout = McpStoreError::service_timeout("fs", Duration::from_secs(2))
        .with_retry_after(Duration::from_secs(1));
    for io_kind in [std::io::ErrorKind::TimedOut, std::io::ErrorKind::Other] {
        let carried = std::io::Error::new(io_kind, timeout.clone());
        let back = McpStoreError::from(carried);
        assert_eq!(back.kind(), ErrorKind::ServiceTimeout);
        assert_eq!(back.message(), timeout.message());
        assert_eq!(back.details(), timeout.details());
        assert_eq!(back.retry_after(), Some(Duration::from_secs(1)));
    }
    // One carrying another error is still judged by its io kind, the error kept as source.
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    let converted = McpStoreError::from(refused);
    assert_eq!(converted.kind(), ErrorKind::Connection);
    assert!(converted.source().is_some());
}

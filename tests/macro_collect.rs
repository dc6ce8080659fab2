//! `#[collect_errors]`: which collector gets the error, with which context, and that the caller
//! gets the error unchanged.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcpstore_errors::{ErrorCollector, ErrorKind, McpStoreError, collect_errors, global_collector};
use serde_json::{Value, json};

/// The context key that names the function an error escaped from.
const FUNCTION_KEY: &str = "function";

use mcpstore_errors_tests::history;

/// The records whose context names `function`.
fn records_of(collector: &ErrorCollector, function: &str) -> Vec<Value> {
    history(collector)
        .into_iter()
        .filter(|record| record["context"][FUNCTION_KEY] == function)
        .collect()
}

fn path_of(function: &str) -> String {
    format!("{}::{function}", module_path!())
}

// ---------------------------------------------------------------------------------------------
// The global collector

#[collect_errors]
fn start_missing_service(name: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::service_not_found(name))
}

#[test]
fn errors_go_to_the_global_collector_with_the_function_path() {
    let error = start_missing_service("ghost").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);

    let records = records_of(global_collector(), &path_of("start_missing_service"));
    assert_eq!(records.len(), 1, "{:#?}", history(global_collector()));
    let record = &records[0];
    assert_eq!(record["error_type"], "ServiceNotFoundError");
    assert_eq!(record["error_code"], "SERVICE_NOT_FOUND");
    assert_eq!(record["error_message"], "Service 'ghost' not found");
    assert_eq!(record["details"]["service_name"], "ghost");
    assert_eq!(
        record["context"],
        json!({ FUNCTION_KEY: path_of("start_missing_service") })
    );
}

#[collect_errors(context = {"operation": "service_management", "attempt_limit": 3, "tags": ["a", "b"]})]
fn stop_with_context(name: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::service_stop_failed(name, "still busy"))
}

#[test]
fn context_is_merged_with_the_function_path() {
    assert!(stop_with_context("fs").is_err());
    let records = records_of(global_collector(), &path_of("stop_with_context"));
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["context"],
        json!({
            "operation": "service_management",
            "attempt_limit": 3,
            "tags": ["a", "b"],
            FUNCTION_KEY: path_of("stop_with_context"),
        })
    );
    assert_eq!(records[0]["details"]["reason"], "still busy");
}

#[collect_errors]
fn succeeds(value: u32) -> Result<u32, McpStoreError> {
    Ok(value)
}

#[test]
fn a_success_collects_nothing() {
    assert_eq!(succeeds(7).unwrap(), 7);
    assert!(records_of(global_collector(), &path_of("succeeds")).is_empty());
}

#[collect_errors]
fn fails_every_time(calls: &AtomicU32) -> Result<(), McpStoreError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    Err(McpStoreError::service_start_failed(
        "fs",
        format!("call {call}"),
    ))
}

#[test]
fn every_escaping_error_is_collected_once() {
    let calls = AtomicU32::new(0);
    for _ in 0..3 {
        assert!(fails_every_time(&calls).is_err());
    }
    let reasons: Vec<Value> = records_of(global_collector(), &path_of("fails_every_time"))
        .iter()
        .map(|record| record["details"]["reason"].clone())
        .collect();
    assert_eq!(reasons, ["call 1", "call 2", "call 3"]);
}

// ---------------------------------------------------------------------------------------------
// A collector of one's own

// Rust spells these numbers in ways JSON does not (`1.`, `007`): once copied as written, the
// whole context failed to parse and was dropped.
#[allow(clippy::zero_prefixed_literal)]
#[collect_errors(context = {"operation": "numbers", "ratio": 1., "padded": 007, "half": 00.5, "big": 1e5, "neg": -2., "zero": -0})]
fn fail_with_literal_numbers() -> Result<(), McpStoreError> {
    Err(McpStoreError::connection("down"))
}

#[test]
fn literal_numbers_in_a_context_read_as_json_reads_them() {
    assert!(fail_with_literal_numbers().is_err());
    let records = records_of(global_collector(), &path_of("fail_with_literal_numbers"));
    assert_eq!(records.len(), 1);
    #[allow(clippy::zero_prefixed_literal)]
    let expected = json!({
        "operation": "numbers", "ratio": 1., "padded": 007, "half": 00.5, "big": 1e5, "neg": -2., "zero": -0,
        FUNCTION_KEY: path_of("fail_with_literal_numbers"),
    });
    assert_eq!(records[0]["context"], expected);
}

static SERVICE_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[collect_errors(collector = &SERVICE_COLLECTOR, context = {"operation": "x"})]
fn into_own_collector(name: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::service_timeout(name, Duration::from_secs(5)))
}

#[test]
fn collector_expression_chooses_the_collector() {
    assert!(into_own_collector("fs").is_err());
    assert!(into_own_collector("git").is_err());

    let records = records_of(&SERVICE_COLLECTOR, &path_of("into_own_collector"));
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["error_type"], "ServiceTimeoutError");
    assert_eq!(records[1]["details"]["service_name"], "git");
    assert_eq!(records[1]["context"]["operation"], "x");
    assert!(records_of(global_collector(), &path_of("into_own_collector")).is_empty());

    let summary = SERVICE_COLLECTOR.summary(Duration::from_secs(3600));
    assert_eq!(summary.total_errors, 2);
    assert_eq!(summary.error_types["ServiceTimeoutError"], 2);
    assert_eq!(summary.error_codes["SERVICE_TIMEOUT"], 2);
}

// ---------------------------------------------------------------------------------------------
// The error is returned unchanged

static UNCHANGED_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));

#[collect_errors(collector = &UNCHANGED_COLLECTOR)]
fn hands_back(error: McpStoreError) -> Result<(), McpStoreError> {
    Err(error)
}

#[test]
fn the_caller_gets_the_very_error() {
    let original = McpStoreError::tool_execution_failed("write", "disk full", Some("E42"))
        .with_detail("attempt", 2)
        .with_retry_after(Duration::from_millis(300));
    let returned = hands_back(original.clone()).unwrap_err();
    assert_eq!(returned.kind(), original.kind());
    assert_eq!(returned.message(), original.message());
    assert_eq!(returned.details(), original.details());
    assert_eq!(returned.timestamp(), original.timestamp());
    assert_eq!(returned.retry_after(), original.retry_after());
    assert_eq!(history(&UNCHANGED_COLLECTOR).len(), 1);
}

static IO_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));

#[collect_errors(collector = &IO_COLLECTOR, context = {"operation": "read_config"})]
fn read_config(path: &str) -> Result<String, std::io::Error> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{path}: no such file"),
    ))
}

#[test]
fn any_std_error_is_collected_and_returned_unchanged() {
    let error = read_config("/etc/mcp.json").unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(error.to_string(), "/etc/mcp.json: no such file");

    let records = history(&IO_COLLECTOR);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["error_message"], "/etc/mcp.json: no such file");
    assert_eq!(records[0]["context"]["operation"], "read_config");
    assert_eq!(records[0]["context"][FUNCTION_KEY], path_of("read_config"));
}

// ---------------------------------------------------------------------------------------------
// async fn and methods

static ASYNC_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));

#[collect_errors(collector = &ASYNC_COLLECTOR, context = {"operation": "async_start"})]
async fn start_async(name: String) -> Result<String, McpStoreError> {
    tokio::task::yield_now().await;
    if name == "fs" {
        Ok(format!("{name} started"))
    } else {
        Err(McpStoreError::service_not_found(name))
    }
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn async_fn_collects_what_escapes() {
    let future = start_async("fs".to_string());
    assert_send(&future);
    assert_eq!(future.await.unwrap(), "fs started");
    assert!(history(&ASYNC_COLLECTOR).is_empty());

    let error = start_async("ghost".to_string()).await.unwrap_err();
    assert_eq!(error.message(), "Service 'ghost' not found");
    let records = history(&ASYNC_COLLECTOR);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["context"]["operation"], "async_start");
    assert_eq!(records[0]["context"][FUNCTION_KEY], path_of("start_async"));
}

static METHOD_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));

#[derive(Debug, Default)]
struct Supervisor {
    restarts: u32,
}

impl Supervisor {
    #[collect_errors(collector = &METHOD_COLLECTOR)]
    fn restart(&mut self, name: &str) -> Result<u32, McpStoreError> {
        self.restarts += 1;
        Err(McpStoreError::service_start_failed(
            name,
            format!("restart {}", self.restarts),
        ))
    }
}

#[test]
fn methods_collect_with_a_path_naming_the_method() {
    let mut supervisor = Supervisor::default();
    assert!(supervisor.restart("fs").is_err());
    assert_eq!(supervisor.restarts, 1);
    let records = history(&METHOD_COLLECTOR);
    assert_eq!(records.len(), 1);
    let function = records[0]["context"][FUNCTION_KEY].as_str().unwrap();
    assert!(
        function.starts_with(module_path!()) && function.ends_with("::restart"),
        "{function}"
    );
}

// A boxed `dyn Error` is collected through its source chain: the store error it holds gives
// the type, code and details.
static BOXED_COLLECTOR: std::sync::LazyLock<ErrorCollector> =
    std::sync::LazyLock::new(|| ErrorCollector::new(10));

#[collect_errors(collector = &BOXED_COLLECTOR)]
fn boxed_failure() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err(McpStoreError::service_not_found("fs").into())
}

#[test]
fn a_boxed_error_is_collected_with_the_store_error_it_holds() {
    assert!(boxed_failure().is_err());
    let records = BOXED_COLLECTOR.records();
    assert_eq!(records[0].error_type(), "ServiceNotFoundError");
    assert_eq!(records[0].code(), Some("SERVICE_NOT_FOUND"));
    assert_eq!(
        records[0].context()["function"],
        concat!(module_path!(), "::boxed_failure")
    );
}

static BOXED_KINDS: std::sync::LazyLock<ErrorCollector> =
    std::sync::LazyLock::new(|| ErrorCollector::new(10));

#[collect_errors(collector = &BOXED_KINDS)]
fn boxed_plain() -> Result<(), Box<dyn std::error::Error>> {
    Err(McpStoreError::connection("refused").into())
}

#[collect_errors(collector = &BOXED_KINDS)]
fn boxed_send() -> Result<(), Box<dyn std::error::Error + Send>> {
    Err(Box::new(McpStoreError::connection("refused")))
}

#[test]
fn a_boxed_error_without_send_or_sync_is_collected_through_its_chain_too() {
    assert!(boxed_plain().is_err());
    assert!(boxed_send().is_err());
    let plain_api = ErrorCollector::new(10);
    plain_api.collect_dyn(&McpStoreError::connection("refused"), Value::Null);
    assert_eq!(
        BOXED_KINDS.statistics(),
        [("ConnectionError".to_string(), 2)].into_iter().collect(),
        "as the plain API files it: {:?}",
        plain_api.statistics()
    );
    assert!(
        BOXED_KINDS
            .records()
            .iter()
            .all(|record| record.code() == Some("CONNECTION_ERROR"))
    );
}

// Neither `Clone` nor copied: the context reads it after a body that only borrowed it.
#[collect_errors(context = {"service": service})]
fn context_reads_a_borrowed_argument(
    service: std::sync::Mutex<String>,
) -> Result<(), McpStoreError> {
    let name = service.lock().unwrap().clone();
    Err(McpStoreError::connection(format!("{name} is down")))
}

#[test]
fn a_context_reads_an_argument_the_body_borrowed() {
    let service = std::sync::Mutex::new("fs".to_owned());
    assert!(context_reads_a_borrowed_argument(service).is_err());
    let records = records_of(
        global_collector(),
        &path_of("context_reads_a_borrowed_argument"),
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["context"]["service"], "fs");
    assert_eq!(records[0]["error_message"], "fs is down");
}

//! The collector under hostile input: failing or panicking `Display`s and `source()`s,
//! oversized and deep contexts, secrets, callbacks that refer to their collector, awkward
//! export paths, wrapped errors, a clock that panics.

use std::fmt;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant, SystemTime};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mcpstore_errors::{
    Clock, DEFAULT_MAX_CONTEXT_BYTES, DEFAULT_MAX_CONTEXT_DEPTH, ErrorCollector, ErrorKind,
    MAX_CONTEXT_DEPTH, MAX_MESSAGE_BYTES, ManualClock, McpStoreError, REDACTED, Redactor,
};
use serde_json::{Value, json};

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcpstore-safety-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `levels` arrays inside each other around a number, built without recursion.
fn nested(levels: usize) -> Value {
    let mut value = json!(0);
    for _ in 0..levels {
        value = Value::Array(vec![value]);
    }
    value
}

fn collector_events(body: impl FnOnce()) -> Vec<mcpstore_errors_tests::CapturedEvent> {
    mcpstore_errors_tests::capture_events("mcpstore_errors::collector", body)
}

// ---------------------------------------------------------------------------------------
// A `Display` that fails

/// Writes a little, then fails: `to_string` panics on it.
#[derive(Debug)]
struct Unprintable;

impl fmt::Display for Unprintable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("half a mess")?;
        Err(fmt::Error)
    }
}

impl std::error::Error for Unprintable {}

#[test]
fn an_error_whose_display_fails_is_recorded_with_a_placeholder() {
    let collector = ErrorCollector::new(10);
    let events = collector_events(|| collector.collect(&Unprintable, json!({"op": "x"})));
    collector.collect_display(&Unprintable, Value::Null);
    let records = collector.records();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record.error_type(), "Unprintable");
        assert_eq!(record.message(), "<Unprintable could not be displayed>");
    }
    assert_eq!(collector.statistics()["Unprintable"], 2);
    assert!(
        events
            .iter()
            .any(|e| e.level == tracing::Level::WARN && e.field("error_type").is_some())
    );
    // The debug event carries the placeholder, not a half-written message.
    assert!(
        events
            .iter()
            .any(|e| e.field("error") == Some("<Unprintable could not be displayed>"))
    );
}

// ---------------------------------------------------------------------------------------
// A `Display` or `source()` that panics

/// What the panics below say: it must not reach the collector's events.
const PANIC_TEXT: &str = "panic text with sk-live-panic";

/// Writes a little, then panics.
#[derive(Debug)]
struct PanickingDisplay;

impl fmt::Display for PanickingDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("half a mess")?;
        panic!("{PANIC_TEXT}");
    }
}

impl std::error::Error for PanickingDisplay {}

/// Its `source()` is a `McpStoreError`, or panics when `panics` is set.
#[derive(Debug)]
struct PanickingSource {
    store: McpStoreError,
    panics: bool,
}

impl PanickingSource {
    fn new(panics: bool) -> Self {
        PanickingSource {
            store: timeout(),
            panics,
        }
    }
}

impl fmt::Display for PanickingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the outer error")
    }
}

impl std::error::Error for PanickingSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if self.panics {
            panic!("{PANIC_TEXT}");
        }
        Some(&self.store)
    }
}

/// Runs `collect` and fails the test if a panic escaped it.
fn without_unwinding(what: &str, collect: impl FnOnce()) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(collect));
    assert!(caught.is_ok(), "{what}: the panic reached the caller");
}

/// The history, its length, the statistics, a summary and an export agree on `total` errors.
fn assert_consistent(collector: &ErrorCollector, total: usize, name: &str) {
    assert_eq!(collector.len(), total);
    assert_eq!(collector.records().len(), total);
    let statistics = collector.statistics();
    assert_eq!(statistics.values().sum::<u64>(), total as u64);
    assert_eq!(
        collector.summary(Duration::from_secs(3600)).total_errors,
        total
    );
    let dir = scratch_dir(name);
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let document = read_json(&path);
    assert_eq!(document["total_errors"], total);
    assert_eq!(document["errors"].as_array().unwrap().len(), total);
    assert_eq!(document["statistics"], json!(statistics));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_error_whose_display_panics_is_recorded_with_the_placeholder() {
    let collector = ErrorCollector::new(10);
    without_unwinding("collect", || {
        collector.collect(&PanickingDisplay, json!({"op": "x"}))
    });
    without_unwinding("collect_display", || {
        collector.collect_display(&PanickingDisplay, Value::Null)
    });
    without_unwinding("collect_dyn", || {
        collector.collect_dyn(&PanickingDisplay, Value::Null)
    });
    let records = collector.records();
    assert_eq!(records.len(), 3);
    for record in &records[..2] {
        assert_eq!(record.error_type(), "PanickingDisplay");
        assert_eq!(
            record.message(),
            "<PanickingDisplay could not be displayed>"
        );
    }
    assert_eq!(records[2].error_type(), "dyn Error");
    assert_eq!(records[2].message(), "<dyn Error could not be displayed>");
    assert_eq!(records[0].context()["op"], "x");
}

static ATTRIBUTE_COLLECTOR: std::sync::LazyLock<ErrorCollector> =
    std::sync::LazyLock::new(|| ErrorCollector::new(10));

#[mcpstore_errors::collect_errors(collector = &ATTRIBUTE_COLLECTOR)]
fn fails_with_a_panicking_display() -> Result<(), PanickingDisplay> {
    Err(PanickingDisplay)
}

#[test]
fn collect_errors_returns_the_err_of_an_error_whose_display_panics() {
    let mut returned = None;
    without_unwinding("#[collect_errors]", || {
        returned = Some(fails_with_a_panicking_display())
    });
    assert!(matches!(returned, Some(Err(PanickingDisplay))));
    let records = ATTRIBUTE_COLLECTOR.records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].message(),
        "<PanickingDisplay could not be displayed>"
    );
}

#[test]
fn a_source_that_panics_ends_the_search_for_a_store_error() {
    let collector = ErrorCollector::new(10);
    // Without the panic, the chain reaches the `McpStoreError`.
    collector.collect(&PanickingSource::new(false), Value::Null);
    assert_wraps_tool_timeout(&collector.records()[0]);

    without_unwinding("collect", || {
        collector.collect(&PanickingSource::new(true), Value::Null)
    });
    without_unwinding("collect_dyn", || {
        collector.collect_dyn(&PanickingSource::new(true), Value::Null)
    });
    // The panic one level down the chain.
    let deeper = AppError::Boxed(Box::new(PanickingSource::new(true)));
    without_unwinding("a deeper source", || {
        collector.collect(&deeper, Value::Null)
    });
    let records = collector.records();
    assert_eq!(records.len(), 4);
    let messages: Vec<&str> = records[1..].iter().map(|r| r.message()).collect();
    assert_eq!(
        messages,
        ["the outer error", "the outer error", "something failed"]
    );
    for record in &records[1..] {
        assert_eq!(record.kind(), None);
        assert_eq!(record.code(), None);
        assert!(record.details().is_none());
        assert!(record.error().is_none());
    }
}

#[test]
fn a_panicking_display_or_source_is_reported_by_a_warning_without_the_panic_text() {
    let collector = ErrorCollector::new(10);
    for (name, collect) in [
        (
            "PanickingDisplay",
            Box::new(|| collector.collect(&PanickingDisplay, Value::Null)) as Box<dyn Fn()>,
        ),
        (
            "PanickingSource",
            Box::new(|| collector.collect(&PanickingSource::new(true), Value::Null)),
        ),
    ] {
        let events = collector_events(|| without_unwinding(name, collect));
        let warnings: Vec<_> = events
            .iter()
            .filter(|e| e.level == tracing::Level::WARN)
            .collect();
        assert_eq!(warnings.len(), 1, "{name}: {events:?}");
        assert!(
            warnings[0]
                .field("error_type")
                .is_some_and(|t| t.contains(name)),
            "{warnings:?}"
        );
        for event in &events {
            for value in event.fields.values() {
                assert!(!value.contains("sk-live-panic"), "{name}: {event:?}");
            }
        }
    }
}

#[test]
fn the_collector_stays_consistent_after_a_display_or_source_panics() {
    let collector = ErrorCollector::new(10);
    collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    without_unwinding("display", || {
        collector.collect(&PanickingDisplay, Value::Null)
    });
    without_unwinding("source", || {
        collector.collect(&PanickingSource::new(true), Value::Null)
    });
    collector.collect(&McpStoreError::service_not_found("git"), Value::Null);
    // From another thread too: no lock was left poisoned or held.
    let handle = collector.clone();
    std::thread::spawn(move || handle.collect(&fmt::Error, Value::Null))
        .join()
        .unwrap();

    let statistics = collector.statistics();
    assert_eq!(statistics["ServiceNotFoundError"], 2);
    assert_eq!(statistics["PanickingDisplay"], 1);
    assert_eq!(statistics["PanickingSource"], 1);
    assert_eq!(statistics["Error"], 1);
    assert_consistent(&collector, 5, "after-panics");
}

// ---------------------------------------------------------------------------------------
// Context limits

#[test]
fn a_ten_megabyte_context_is_replaced_by_a_counted_marker() {
    let collector = ErrorCollector::new(10);
    let big = "x".repeat(10 * 1024 * 1024);
    let events = collector_events(|| {
        collector.collect(&fmt::Error, json!({"blob": big, "op": "upload"}));
    });
    let record = &collector.records()[0];
    let context = record.context();
    assert_eq!(context["_truncated"], true);
    assert_eq!(context["reason"], "context too large");
    // The compact JSON of the context, measured exactly.
    let expected = serde_json::to_string(&json!({"blob": big, "op": "upload"}))
        .unwrap()
        .len();
    assert_eq!(context["bytes"], expected);
    assert_eq!(context["max_bytes"], DEFAULT_MAX_CONTEXT_BYTES);
    assert!(context.get("blob").is_none());
    assert_eq!(collector.oversized_contexts(), 1);
    assert!(events.iter().any(|e| e.level == tracing::Level::WARN
        && e.field("marker").is_some_and(|m| m.contains("_truncated"))));
    // The error itself is kept and counted as usual.
    assert_eq!(collector.statistics()["Error"], 1);
}

#[test]
fn a_context_at_the_limits_is_kept_as_is() {
    let collector = ErrorCollector::new(10);
    // Exactly the default byte limit: `{"k":"…"}` is 8 bytes around the text.
    let text = "y".repeat(DEFAULT_MAX_CONTEXT_BYTES - 8);
    let at_size = json!({"k": text});
    assert_eq!(
        serde_json::to_string(&at_size).unwrap().len(),
        DEFAULT_MAX_CONTEXT_BYTES
    );
    collector.collect(&fmt::Error, at_size.clone());
    let at_depth = nested(DEFAULT_MAX_CONTEXT_DEPTH);
    collector.collect(&fmt::Error, at_depth.clone());
    let records = collector.records();
    assert_eq!(records[0].context(), &at_size);
    assert_eq!(records[1].context(), &at_depth);
    assert_eq!(collector.oversized_contexts(), 0);

    // One byte, or one level, more is too much.
    collector.collect(&fmt::Error, json!({"k": format!("{text}y")}));
    collector.collect(&fmt::Error, nested(DEFAULT_MAX_CONTEXT_DEPTH + 1));
    let records = collector.records();
    assert_eq!(records[2].context()["bytes"], DEFAULT_MAX_CONTEXT_BYTES + 1);
    assert_eq!(records[3].context()["reason"], "context nested too deep");
    assert_eq!(records[3].context()["max_depth"], DEFAULT_MAX_CONTEXT_DEPTH);
    assert_eq!(collector.oversized_contexts(), 2);
}

#[test]
fn a_context_nested_a_hundred_thousand_levels_neither_overflows_collect_nor_export() {
    let collector = ErrorCollector::new(10);
    collector.collect(&fmt::Error, nested(100_000));
    let dir = scratch_dir("deep");
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let document = read_json(&path);
    assert_eq!(document["errors"][0]["context"]["_truncated"], true);
    assert_eq!(collector.oversized_contexts(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_depth_limit_is_capped_so_exports_read_back_with_serde_json() {
    let collector = ErrorCollector::builder()
        .max_context_depth(usize::MAX)
        .max_context_bytes(usize::MAX)
        .build();
    // Deeper than serde_json reads back (128), within what the caller asked for.
    collector.collect(&fmt::Error, nested(200));
    collector.collect(&fmt::Error, nested(MAX_CONTEXT_DEPTH));
    assert_eq!(collector.oversized_contexts(), 1);
    let dir = scratch_dir("cap");
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let document = read_json(&path);
    assert_eq!(
        document["errors"][0]["context"]["max_depth"],
        MAX_CONTEXT_DEPTH
    );
    assert_eq!(document["errors"][1]["context"], nested(MAX_CONTEXT_DEPTH));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `{"n": {"n": .. leaf}}` chain of `levels` objects, built without recursion.
fn nested_objects(levels: usize, leaf: Value) -> Value {
    let mut value = leaf;
    for _ in 0..levels {
        value = json!({ "n": value });
    }
    value
}

fn store_error_with_details(details: Value) -> McpStoreError {
    McpStoreError::tool_execution_failed("search", "denied", None).with_detail("payload", details)
}

#[test]
fn details_over_the_limits_are_replaced_by_a_marker_whatever_the_redaction() {
    for redactor in [
        Redactor::secret_keys(),
        Redactor::off(),
        Redactor::custom(|_| {}),
    ] {
        let collector = ErrorCollector::builder().redact(redactor).build();
        let deep = store_error_with_details(nested_objects(200, json!(1)));
        let large = store_error_with_details(json!("x".repeat(DEFAULT_MAX_CONTEXT_BYTES)));
        let events = collector_events(|| {
            collector.collect(&deep, Value::Null);
            collector.collect(&large, Value::Null);
        });
        assert_eq!(
            collector.oversized_details(),
            2,
            "each replaced detail counted"
        );
        assert_eq!(
            collector.oversized_contexts(),
            0,
            "details are not contexts"
        );
        let records = collector.records();
        let details = |index: usize| records[index].details().unwrap().clone();
        assert_eq!(details(0)["_truncated"], true);
        assert_eq!(details(0)["reason"], "details nested too deep");
        assert_eq!(details(1)["reason"], "details too large");
        assert_eq!(details(1)["max_bytes"], DEFAULT_MAX_CONTEXT_BYTES);
        // Only the details give way: the error's kind and message stay.
        assert_eq!(records[1].code(), Some("TOOL_EXECUTION_FAILED"));
        assert_eq!(records[1].message(), large.message());
        assert_eq!(
            events
                .iter()
                .filter(|e| e
                    .field("message")
                    .is_some_and(|m| m.contains("details over")))
                .count(),
            2
        );
        // The export reads back.
        let dir = scratch_dir("details");
        let path = dir.join("errors.json");
        collector.export(&path).unwrap();
        assert_eq!(read_json(&path)["errors"][0]["details"]["_truncated"], true);
        std::fs::remove_dir_all(&dir).unwrap();

        // Collected again (the same value): counted again, as a context would be.
        collector.collect(&large, Value::Null);
        assert_eq!(collector.oversized_details(), 3);
        collector.reset();
        assert_eq!(collector.oversized_details(), 0);
    }
}

#[test]
fn a_redaction_hook_is_given_details_already_bounded() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let collector = ErrorCollector::builder()
        .redact(Redactor::custom(move |target| {
            let size = serde_json::to_string(target.details()).unwrap().len();
            sink.lock().unwrap().push(size);
        }))
        .build();
    let large = store_error_with_details(json!("x".repeat(4 * DEFAULT_MAX_CONTEXT_BYTES)));
    collector.collect(&large, Value::Null);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0] < 1024,
        "the hook was handed {} bytes of details",
        seen[0]
    );
    assert_eq!(
        collector.records()[0].details().unwrap()["_truncated"],
        true
    );
    assert_eq!(collector.oversized_details(), 1);
}

#[test]
fn a_secret_deeper_than_the_limits_is_never_stored() {
    let collector = ErrorCollector::new(10);
    let error = store_error_with_details(nested_objects(120, json!({"api_key": "sk-live-deep"})));
    collector.collect(&error, Value::Null);
    let stored = serde_json::to_string(collector.records()[0].details().unwrap()).unwrap();
    assert!(!stored.contains("sk-live-deep"), "{stored}");
}

#[test]
fn details_within_the_limits_are_kept_and_masked_as_before() {
    let collector = ErrorCollector::new(10);
    let error = store_error_with_details(nested_objects(20, json!({"token": "t", "page": 2})));
    collector.collect(&error, Value::Null);
    assert_eq!(collector.oversized_details(), 0);
    let details = collector.records()[0].details().unwrap().clone();
    let mut leaf = &details["payload"];
    for _ in 0..20 {
        leaf = &leaf["n"];
    }
    assert_eq!(leaf["token"], REDACTED);
    assert_eq!(leaf["page"], 2);
}

#[test]
fn a_huge_message_is_cut_at_a_character_boundary() {
    /// A megabyte of two-byte characters, written in pieces as a `Display` does.
    #[derive(Debug)]
    struct Rambling;
    impl fmt::Display for Rambling {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for _ in 0..1024 {
                f.write_str(&"é".repeat(512))?;
            }
            Ok(())
        }
    }
    impl std::error::Error for Rambling {}

    let collector = ErrorCollector::new(10);
    collector.collect(&Rambling, Value::Null);
    // A McpStoreError whose details are masked is copied, its message with it.
    let long = McpStoreError::connection("é".repeat(100_000)).with_detail("token", "t");
    collector.collect(&long, Value::Null);
    for record in collector.records() {
        let message = record.message();
        assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
        assert!(message.len() > MAX_MESSAGE_BYTES - 8, "{}", message.len());
        assert!(message.ends_with("é…"), "cut where a whole character ends");
    }
}

#[test]
fn limits_are_configurable_and_reset_zeroes_the_count() {
    let collector = ErrorCollector::builder()
        .max_context_bytes(20)
        .max_context_depth(2)
        .build();
    collector.collect(&fmt::Error, json!({"a": [1, 2]})); // 13 bytes, 2 levels
    collector.collect(&fmt::Error, json!({"a": "more than twenty bytes"}));
    collector.collect(&fmt::Error, json!({"a": [[1]]}));
    let records = collector.records();
    assert_eq!(records[0].context(), &json!({"a": [1, 2]}));
    assert_eq!(records[1].context()["max_bytes"], 20);
    assert_eq!(records[2].context()["max_depth"], 2);
    assert_eq!(collector.oversized_contexts(), 2);
    collector.reset();
    assert_eq!(collector.oversized_contexts(), 0);
}

// ---------------------------------------------------------------------------------------
// Redaction

/// A tool call's context as MCP clients log it: secrets at several depths, in arrays too.
fn tool_call_context() -> Value {
    json!({
        "tool": "search",
        "arguments": {
            "query": "rust",
            "api_key": "sk-live-1",
            "headers": [{"X-Api-Key": "sk-live-2"}, {"Authorization": "Bearer sk-live-3"}],
            "auth": {"client_secret": "sk-live-4", "access_token": "sk-live-5"},
        },
        "Cookie": "session=sk-live-6",
        "PASSWORD": ["sk-live-7"],
        "max_tokens": 512,
    })
}

fn masked_tool_call_context() -> Value {
    json!({
        "tool": "search",
        "arguments": {
            "query": "rust",
            "api_key": REDACTED,
            "headers": [{"X-Api-Key": REDACTED}, {"Authorization": REDACTED}],
            "auth": REDACTED,
        },
        "Cookie": REDACTED,
        "PASSWORD": REDACTED,
        "max_tokens": 512,
    })
}

#[test]
fn by_default_secret_keys_are_masked_before_the_history_and_the_export_see_them() {
    let collector = ErrorCollector::new(10);
    collector.collect(&fmt::Error, tool_call_context());
    assert_eq!(
        collector.records()[0].context(),
        &masked_tool_call_context()
    );

    let dir = scratch_dir("redact");
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("sk-live"), "{text}");
    assert_eq!(
        read_json(&path)["errors"][0]["context"],
        masked_tool_call_context()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn secret_details_of_a_store_error_are_masked_and_the_original_error_is_not_kept() {
    let collector = ErrorCollector::new(10);
    let error = McpStoreError::tool_execution_failed("search", "denied", None)
        .with_detail("arguments", json!({"token": "sk-live-8", "q": "x"}));
    collector.collect(&error, Value::Null);
    // A wrapper whose cause carries the secret.
    collector.collect(&std::io::Error::other(error.clone()), Value::Null);
    for record in collector.records() {
        assert_eq!(record.kind(), Some(ErrorKind::ToolExecution));
        assert_eq!(record.code(), Some("TOOL_EXECUTION_FAILED"));
        let details = record.details().unwrap();
        assert_eq!(details["arguments"], json!({"token": REDACTED, "q": "x"}));
        assert_eq!(details["tool_name"], "search");
        assert!(
            record.error().is_none(),
            "the original still holds the token"
        );
    }
    let summary = collector.summary(Duration::from_secs(3600));
    assert_eq!(summary.error_codes["TOOL_EXECUTION_FAILED"], 2);
    // Without secrets, the error is kept as is.
    collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    assert!(collector.records()[2].error().is_some());
}

#[test]
fn a_custom_hook_edits_message_details_and_context_before_events_and_history() {
    let collector = ErrorCollector::builder()
        .redact(Redactor::custom(|target| {
            assert_eq!(target.error_type(), "ToolExecutionError");
            target.mask_secret_keys();
            let message = target.message().replace("sk-live-9", "[KEY]");
            *target.message() = message;
            target.details().remove("output");
            target.context()["redacted_by"] = json!("hook");
        }))
        .build();
    let error = McpStoreError::tool_execution_failed("search", "bad key sk-live-9", Some("out"));
    let events = collector_events(|| collector.collect(&error, json!({"token": "t"})));
    let record = &collector.records()[0];
    assert_eq!(
        record.message(),
        "Tool 'search' execution failed: bad key [KEY]"
    );
    assert!(record.details().unwrap().get("output").is_none());
    assert_eq!(
        record.context(),
        &json!({"token": REDACTED, "redacted_by": "hook"})
    );
    for event in &events {
        for value in event.fields.values() {
            assert!(!value.contains("sk-live-9"), "{event:?}");
        }
    }
    assert!(
        events
            .iter()
            .any(|e| e.field("error") == Some(record.message()))
    );
}

#[test]
fn a_hook_that_changes_nothing_keeps_the_error_by_reference() {
    let collector = ErrorCollector::builder()
        .redact(Redactor::custom(|_| {}))
        .build();
    let error = McpStoreError::service_not_found("fs");
    collector.collect(&error, json!({"token": "kept: the hook did not mask it"}));
    let record = &collector.records()[0];
    assert_eq!(record.error().unwrap().message(), error.message());
    assert_eq!(record.context()["token"], "kept: the hook did not mask it");
}

#[test]
fn redaction_can_be_turned_off() {
    let collector = ErrorCollector::builder().redact(Redactor::off()).build();
    collector.collect(&fmt::Error, tool_call_context());
    assert_eq!(collector.records()[0].context(), &tool_call_context());
}

#[test]
fn a_panicking_hook_stores_nothing_it_was_meant_to_remove() {
    let collector = ErrorCollector::builder()
        .redact(Redactor::custom(|target| {
            target.context()["half"] = json!("done");
            panic!("a faulty hook");
        }))
        .build();
    let error = McpStoreError::connection("token sk-live-10 refused");
    let events = collector_events(|| collector.collect(&error, json!({"secret": "s"})));
    let record = &collector.records()[0];
    assert_eq!(record.message(), "<redaction failed>");
    assert_eq!(record.code(), Some("CONNECTION_ERROR"));
    assert!(record.details().is_none());
    assert_eq!(record.context(), &json!({"_redaction_failed": true}));
    assert!(events.iter().any(|e| e.level == tracing::Level::ERROR));
    // The collector carries on.
    collector.collect(&fmt::Error, Value::Null);
    assert_eq!(collector.len(), 2);
}

#[test]
fn a_hook_cannot_grow_a_context_past_the_limits() {
    let collector = ErrorCollector::builder()
        .max_context_bytes(100)
        .redact(Redactor::custom(|target| {
            *target.context() = json!({"blob": "z".repeat(1000)});
        }))
        .build();
    collector.collect(&fmt::Error, Value::Null);
    assert_eq!(collector.records()[0].context()["_truncated"], true);
    assert_eq!(collector.oversized_contexts(), 1);
}

#[test]
fn a_marker_over_a_small_limit_is_kept_when_a_hook_leaves_it() {
    let collector = ErrorCollector::builder()
        .max_context_bytes(16)
        .redact(Redactor::custom(|_| {}))
        .build();
    let big = json!({"payload": "x".repeat(1000)});
    collector.collect(&fmt::Error, big.clone());
    assert_eq!(collector.oversized_contexts(), 1);
    let context = collector.records()[0].context().clone();
    assert_eq!(context["reason"], "context too large");
    assert_eq!(context["bytes"], serde_json::to_string(&big).unwrap().len());

    let error = McpStoreError::connection("refused").with_detail("response", "y".repeat(1000));
    collector.collect(&error, Value::Null);
    assert_eq!(collector.oversized_details(), 1);
    let details = collector.records()[1].details().unwrap().clone();
    assert_eq!(details["reason"], "details too large");
    assert_eq!(
        details["bytes"],
        serde_json::to_string(error.details()).unwrap().len()
    );
}

#[test]
fn a_hook_that_rewrites_a_marker_is_bounded_again() {
    let collector = ErrorCollector::builder()
        .max_context_bytes(100)
        .redact(Redactor::custom(|target| {
            target.context()["added"] = json!("z".repeat(1000));
            target
                .details()
                .insert("added".into(), json!("z".repeat(1000)));
        }))
        .build();
    let error = McpStoreError::connection("refused").with_detail("response", "y".repeat(1000));
    collector.collect(&error, json!({"payload": "x".repeat(1000)}));
    let record = &collector.records()[0];
    // What the hook wrote is measured, not kept.
    assert!(record.context().get("added").is_none());
    assert_eq!(record.context()["_truncated"], true);
    assert!(record.details().unwrap().get("added").is_none());
    assert_eq!(record.details().unwrap()["_truncated"], true);
    // One collect: each counted once.
    assert_eq!(collector.oversized_contexts(), 1);
    assert_eq!(collector.oversized_details(), 1);
}

#[test]
fn a_hook_cannot_grow_details_past_the_limits() {
    let collector = ErrorCollector::builder()
        .max_context_bytes(100)
        .redact(Redactor::custom(|target| {
            target
                .details()
                .insert("blob".into(), json!("z".repeat(1000)));
        }))
        .build();
    collector.collect(&McpStoreError::connection("refused"), Value::Null);
    let details = collector.records()[0].details().unwrap().clone();
    assert_eq!(details["reason"], "details too large");
    assert_eq!(collector.oversized_details(), 1);
}

#[test]
fn details_a_hook_nests_deeper_than_the_stack_are_dropped() {
    let collector = ErrorCollector::builder()
        .redact(Redactor::custom(|target| {
            target.details().insert("deep".into(), nested(100_000));
        }))
        .build();
    collector.collect(&McpStoreError::connection("refused"), Value::Null);
    assert_eq!(
        collector.records()[0].details().unwrap()["reason"],
        "details nested too deep"
    );
}

// ---------------------------------------------------------------------------------------
// Callbacks that refer to their collector

/// Counts its drops: attached as an error's source, it shows when the records holding that
/// error are freed.
#[derive(Debug)]
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl fmt::Display for DropCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("counted")
    }
}

impl std::error::Error for DropCounter {}

/// Collects an alert's worth of errors holding a [`DropCounter`] on a thread that then ends,
/// so the records move into the collector itself.
fn fill_from_another_thread(collector: &ErrorCollector, drops: &Arc<AtomicUsize>) {
    let error = McpStoreError::connection("refused").with_source(DropCounter(Arc::clone(drops)));
    let handle = collector.clone();
    std::thread::spawn(move || {
        for _ in 0..11 {
            handle.collect(&error, Value::Null);
        }
    })
    .join()
    .unwrap();
}

#[test]
fn a_callback_given_the_collector_does_not_keep_it_alive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let collector = ErrorCollector::new(100);
    collector.on_alert_with(|alert, collector| {
        collector.collect_display(&format!("alert for {}", alert.error_type), Value::Null);
    });
    fill_from_another_thread(&collector, &drops);
    assert_eq!(collector.statistics()["String"], 1, "the callback ran");
    let weak = collector.downgrade();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(collector);
    assert!(weak.upgrade().is_none());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the records were freed");
}

#[test]
fn a_callback_holding_a_weak_collector_does_not_keep_it_alive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let collector = ErrorCollector::new(100);
    let weak = collector.downgrade();
    let alerts = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&alerts);
    collector.on_alert(move |_| {
        if let Some(collector) = weak.upgrade() {
            seen.fetch_add(collector.len(), Ordering::SeqCst);
        }
    });
    fill_from_another_thread(&collector, &drops);
    assert_eq!(alerts.load(Ordering::SeqCst), 11);
    let weak = collector.downgrade();
    drop(collector);
    assert!(weak.upgrade().is_none());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------
// Export files

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_file_name_of_250_bytes_is_exported_and_replaced() {
    let collector = ErrorCollector::new(10);
    collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    let dir = scratch_dir("long-name");
    let name = format!("{}.json", "e".repeat(245));
    assert_eq!(name.len(), 250);
    let path = dir.join(&name);
    collector.export(&path).unwrap();
    collector.collect(&McpStoreError::service_not_found("git"), Value::Null);
    collector.export(&path).unwrap();
    assert_eq!(read_json(&path)["total_errors"], 2);
    assert_eq!(file_names(&dir), [name]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
mod permissions {
    use std::os::unix::fs::PermissionsExt;

    use mcpstore_errors::ExportOptions;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        let collector = ErrorCollector::new(10);
        collector.collect(&fmt::Error, json!({"note": "sensitive"}));
        let dir = scratch_dir("keep-mode");
        for wanted in [0o600, 0o640, 0o444] {
            let path = dir.join(format!("errors-{wanted:o}.json"));
            std::fs::write(&path, "{}").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted)).unwrap();
            collector.export(&path).unwrap();
            assert_eq!(mode(&path), wanted, "{}", path.display());
            assert_eq!(read_json(&path)["total_errors"], 1);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_file_is_readable_by_its_owner_alone_unless_asked_otherwise() {
        let collector = ErrorCollector::new(10);
        let dir = scratch_dir("new-mode");
        let private = dir.join("private.json");
        collector.export(&private).unwrap();
        assert_eq!(mode(&private), 0o600);
        let default_named = collector.export_default(&dir).unwrap();
        assert_eq!(mode(&default_named), 0o600);

        let shared = dir.join("shared.json");
        collector
            .export_with(&shared, &ExportOptions::new().new_file_mode(0o644))
            .unwrap();
        assert_eq!(mode(&shared), 0o644);
        // The option is for new files: a replaced one keeps its own bits.
        collector
            .export_with(&private, &ExportOptions::new().new_file_mode(0o644))
            .unwrap();
        assert_eq!(mode(&private), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(unix)]
mod symlinks {
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn is_link(path: &Path) -> bool {
        std::fs::symlink_metadata(path)
            .unwrap()
            .file_type()
            .is_symlink()
    }

    fn one_error() -> ErrorCollector {
        let collector = ErrorCollector::new(10);
        collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
        collector
    }

    #[test]
    fn an_export_onto_a_symlink_writes_its_target_and_keeps_the_link() {
        let collector = one_error();
        let dir = scratch_dir("symlink");
        let target = dir.join("real.json");
        std::fs::write(&target, "{}").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("link.json");
        symlink("real.json", &link).unwrap();

        collector.export(&link).unwrap();
        assert!(is_link(&link), "the link was replaced by a file");
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real.json"));
        assert_eq!(read_json(&target)["total_errors"], 1);
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the target keeps its permissions");
        assert_eq!(
            file_names(&dir),
            ["link.json", "real.json"],
            "no temporary left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_chain_of_links_into_another_folder_writes_the_last_target_there() {
        let collector = one_error();
        let dir = scratch_dir("symlink-chain");
        let other = dir.join("other");
        std::fs::create_dir(&other).unwrap();
        let target = other.join("target.json");
        std::fs::write(&target, "{}").unwrap();
        // first -> (absolute) second -> (relative to `dir`) other/target.json
        symlink("other/target.json", dir.join("second")).unwrap();
        symlink(dir.join("second"), dir.join("first")).unwrap();

        collector.export(dir.join("first")).unwrap();
        assert!(is_link(&dir.join("first")) && is_link(&dir.join("second")));
        assert_eq!(read_json(&target)["total_errors"], 1);
        assert_eq!(file_names(&dir), ["first", "other", "second"]);
        assert_eq!(file_names(&other), ["target.json"], "no temporary left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dangling_symlink_creates_its_target_and_keeps_the_link() {
        let collector = one_error();
        let dir = scratch_dir("symlink-dangling");
        let link = dir.join("link.json");
        symlink("missing.json", &link).unwrap();

        collector.export(&link).unwrap();
        assert!(is_link(&link));
        let target = dir.join("missing.json");
        assert_eq!(read_json(&target)["total_errors"], 1);
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a new file, owner-only");
        assert_eq!(file_names(&dir), ["link.json", "missing.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_loop_of_symlinks_is_an_error_that_leaves_the_links() {
        let collector = one_error();
        let dir = scratch_dir("symlink-loop");
        symlink("b", dir.join("a")).unwrap();
        symlink("a", dir.join("b")).unwrap();

        let error = collector.export(dir.join("a")).unwrap_err();
        assert!(error.message().contains("symbolic links"), "{error}");
        assert!(is_link(&dir.join("a")) && is_link(&dir.join("b")));
        assert_eq!(file_names(&dir), ["a", "b"], "no temporary left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// Errors that wrap a `McpStoreError`

/// A user's error enum, as `thiserror` would write it with `#[source]`.
#[derive(Debug)]
enum AppError {
    Store(McpStoreError),
    Boxed(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Store(_) => f.write_str("the store failed"),
            AppError::Boxed(_) => f.write_str("something failed"),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Store(error) => Some(error),
            AppError::Boxed(error) => Some(&**error),
        }
    }
}

fn assert_wraps_tool_timeout(record: &mcpstore_errors::ErrorRecord) {
    assert_eq!(record.kind(), Some(ErrorKind::ServiceTimeout));
    assert_eq!(record.code(), Some("SERVICE_TIMEOUT"));
    assert_eq!(record.details().unwrap()["service_name"], "fs");
    assert_eq!(record.error().unwrap().kind(), ErrorKind::ServiceTimeout);
}

fn timeout() -> McpStoreError {
    McpStoreError::service_timeout("fs", Duration::from_secs(5))
}

#[test]
fn a_user_enum_wrapping_a_store_error_at_any_depth_takes_its_kind_code_and_details() {
    let collector = ErrorCollector::new(10);
    collector.collect(&AppError::Store(timeout()), Value::Null);
    // Three levels down: AppError -> Box -> AppError -> McpStoreError.
    let deep = AppError::Boxed(Box::new(AppError::Boxed(Box::new(timeout()))));
    collector.collect(&deep, Value::Null);
    // Through an io::Error in the middle.
    let through_io = AppError::Boxed(Box::new(std::io::Error::other(timeout())));
    collector.collect(&through_io, Value::Null);
    let records = collector.records();
    assert_eq!(records.len(), 3);
    for record in &records {
        assert_eq!(record.error_type(), "AppError");
        assert_wraps_tool_timeout(record);
    }
    assert_eq!(records[0].message(), "the store failed");
}

#[test]
fn a_boxed_dyn_error_is_collected_with_the_store_error_it_is_or_wraps() {
    let collector = ErrorCollector::new(10);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(timeout());
    collector.collect_dyn(&*boxed, json!({"op": "x"}));
    let wrapping: Box<dyn std::error::Error + Send + Sync> = Box::new(AppError::Store(timeout()));
    collector.collect_dyn(&*wrapping, Value::Null);
    let io: Box<dyn std::error::Error + Send + Sync> = Box::new(std::io::Error::other("disk"));
    collector.collect_dyn(&*io, Value::Null);
    let records = collector.records();
    assert_eq!(records[0].error_type(), "ServiceTimeoutError");
    assert_wraps_tool_timeout(&records[0]);
    assert_eq!(records[1].error_type(), "dyn Error");
    assert_eq!(records[1].message(), "the store failed");
    assert_wraps_tool_timeout(&records[1]);
    assert_eq!(records[2].error_type(), "Error", "filed with io::Error");
    assert_eq!(records[2].code(), None);
    assert_eq!(collector.statistics()["Error"], 1);
}

#[test]
fn a_source_chain_that_loops_ends_the_search() {
    #[derive(Debug)]
    struct Loop;
    impl fmt::Display for Loop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("loop")
        }
    }
    impl std::error::Error for Loop {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self)
        }
    }
    let collector = ErrorCollector::new(10);
    collector.collect(&Loop, Value::Null);
    assert_eq!(collector.records()[0].code(), None);
}

// ---------------------------------------------------------------------------------------
// A clock that panics

/// A [`ManualClock`] that panics on one chosen reading (of either time).
#[derive(Debug, Default)]
struct PanickingClock {
    time: ManualClock,
    readings: AtomicUsize,
    /// The reading that panics, counting from 1; 0 for none.
    panics_on: AtomicUsize,
}

impl PanickingClock {
    fn panic_on_next_reading(&self) {
        let next = self.readings.load(Ordering::SeqCst) + 1;
        self.panics_on.store(next, Ordering::SeqCst);
    }

    fn read(&self) {
        let reading = self.readings.fetch_add(1, Ordering::SeqCst) + 1;
        if reading == self.panics_on.load(Ordering::SeqCst) {
            panic!("the clock broke on reading {reading}");
        }
    }
}

impl Clock for PanickingClock {
    fn now(&self) -> Instant {
        self.read();
        self.time.now()
    }

    fn system_time(&self) -> SystemTime {
        self.read();
        self.time.system_time()
    }
}

#[test]
fn a_clock_that_panics_in_a_collect_leaves_nothing_counted_and_the_next_collect_works() {
    let clock = Arc::new(PanickingClock::default());
    let alerts = Arc::new(AtomicUsize::new(0));
    let collector = ErrorCollector::builder()
        .clock(Arc::clone(&clock))
        .max_context_bytes(64)
        .alert_threshold(1)
        .build();
    let seen = Arc::clone(&alerts);
    collector.on_alert(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    // Over the limits twice: its context and the details of the store error it wraps are
    // each replaced and counted, before the shard is reached.
    let error = || AppError::Store(store_error_with_details(json!("x".repeat(100))));
    let context = || json!({"blob": "y".repeat(100)});
    collector.collect(&error(), context());
    let counts = |collector: &ErrorCollector| {
        (
            collector.len(),
            collector.statistics(),
            collector.oversized_contexts(),
            collector.oversized_details(),
            alerts.load(Ordering::SeqCst),
        )
    };
    let before = counts(&collector);
    assert_eq!(before.2, 1);
    assert_eq!(before.3, 1);

    clock.panic_on_next_reading();
    let events = collector_events(|| {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collector.collect(&error(), context());
        }));
        assert!(caught.is_err(), "the clock's panic is the caller's");
    });
    assert_eq!(counts(&collector), before, "nothing counted");
    assert!(
        events.is_empty(),
        "no event for the failed collect: {events:?}"
    );

    // The next collect is counted once, everywhere, and raises the alert it now makes.
    collector.collect(&error(), context());
    let after = counts(&collector);
    assert_eq!(after.0, 2);
    assert_eq!(after.1["AppError"], 2);
    assert_eq!((after.2, after.3), (2, 2));
    assert_eq!(after.4, 1, "the second error of the window alerts");
    assert_consistent(&collector, 2, "after-clock-panic");
}

//! The collector under hostile input: failing `Display`s, oversized and deep contexts,
//! secrets, callbacks that refer to their collector, awkward export paths, wrapped errors.

use std::fmt;
use std::path::{Path, PathBuf};

use mcpstore_errors::{
    DEFAULT_MAX_CONTEXT_BYTES, DEFAULT_MAX_CONTEXT_DEPTH, ErrorCollector, MAX_CONTEXT_DEPTH,
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

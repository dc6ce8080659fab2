//! The collector under hostile input: failing `Display`s, oversized and deep contexts,
//! secrets, callbacks that refer to their collector, awkward export paths, wrapped errors.

use std::fmt;

use mcpstore_errors::ErrorCollector;
use serde_json::{Value, json};

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

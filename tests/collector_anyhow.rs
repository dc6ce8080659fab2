//! Collecting `anyhow::Error` (feature `anyhow`): the wrapped `McpStoreError`'s kind, code
//! and details, under a type name of its own.

use std::time::Duration;

use anyhow::Context as _;
use mcpstore_errors::{ErrorCollector, ErrorKind, McpStoreError};
use serde_json::Value;

fn timeout() -> McpStoreError {
    McpStoreError::service_timeout("fs", Duration::from_secs(5))
}

#[test]
fn an_anyhow_error_takes_the_kind_code_and_details_of_the_store_error_it_wraps() {
    let collector = ErrorCollector::new(10);
    let direct = anyhow::Error::from(timeout());
    let with_context = Err::<(), _>(timeout())
        .context("listing tools")
        .unwrap_err();
    let through_io = anyhow::Error::from(std::io::Error::other(timeout())).context("outer");
    for error in [&direct, &with_context, &through_io] {
        collector.collect_anyhow(error, Value::Null);
    }
    let records = collector.records();
    for record in &records {
        assert_eq!(record.error_type(), "anyhow::Error");
        assert_eq!(record.kind(), Some(ErrorKind::ServiceTimeout));
        assert_eq!(record.code(), Some("SERVICE_TIMEOUT"));
        assert_eq!(record.details().unwrap()["service_name"], "fs");
    }
    assert_eq!(records[0].message(), timeout().message());
    assert_eq!(records[1].message(), "listing tools");
    assert_eq!(records[2].message(), "outer");
}

#[test]
fn an_anyhow_error_is_not_filed_with_io_errors() {
    let collector = ErrorCollector::new(10);
    collector.collect_anyhow(&anyhow::anyhow!("plain"), Value::Null);
    collector.collect(&std::io::Error::other("disk"), Value::Null);
    // A store error given as a context is found too.
    let error = anyhow::anyhow!("root").context(timeout());
    collector.collect_anyhow(&error, Value::Null);
    let statistics = collector.statistics();
    assert_eq!(statistics["anyhow::Error"], 2);
    assert_eq!(statistics["Error"], 1);
    let records = collector.records();
    assert_eq!(records[0].code(), None);
    assert_eq!(records[2].code(), Some("SERVICE_TIMEOUT"));
}

static ATTRIBUTE_COLLECTOR: std::sync::LazyLock<ErrorCollector> =
    std::sync::LazyLock::new(|| ErrorCollector::new(10));

#[mcpstore_errors::collect_errors(collector = &ATTRIBUTE_COLLECTOR)]
fn listing() -> anyhow::Result<()> {
    use anyhow::Context as _;
    Err(McpStoreError::service_timeout(
        "fs",
        std::time::Duration::from_secs(5),
    ))
    .context("listing tools")
}

#[test]
fn collect_errors_records_an_anyhow_error_with_the_store_error_it_wraps() {
    assert!(listing().is_err());
    let record = &ATTRIBUTE_COLLECTOR.records()[0];
    assert_eq!(record.error_type(), "anyhow::Error");
    assert_eq!(record.message(), "listing tools");
    assert_eq!(record.code(), Some("SERVICE_TIMEOUT"));
}

/// Writes a little, then panics.
#[derive(Debug)]
struct PanickingDisplay;

impl std::fmt::Display for PanickingDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("half")?;
        panic!("a Display that panics");
    }
}

impl std::error::Error for PanickingDisplay {}

/// Its `source()` panics.
#[derive(Debug)]
struct PanickingSource;

impl std::fmt::Display for PanickingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the outer error")
    }
}

impl std::error::Error for PanickingSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        panic!("a source() that panics");
    }
}

#[test]
fn an_anyhow_error_whose_display_or_source_panics_is_recorded_without_unwinding() {
    let collector = ErrorCollector::new(10);
    let errors = [
        anyhow::Error::new(PanickingDisplay),
        anyhow::Error::new(PanickingSource),
        // Only the outermost context is displayed; the chain below it is searched.
        anyhow::Error::new(PanickingSource).context("listing tools"),
    ];
    for (index, error) in errors.iter().enumerate() {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collector.collect_anyhow(error, Value::Null)
        }));
        // Not `{error:?}`: anyhow's `Debug` calls the panicking `Display`.
        assert!(
            caught.is_ok(),
            "error {index}: the panic reached the caller"
        );
    }
    let records = collector.records();
    let messages: Vec<&str> = records.iter().map(|r| r.message()).collect();
    // The placeholder shortens the type name, as for any type.
    assert_eq!(
        messages,
        [
            "<Error could not be displayed>",
            "the outer error",
            "listing tools"
        ]
    );
    assert!(records.iter().all(|r| r.code().is_none()));
    assert_eq!(collector.statistics()["anyhow::Error"], 3);
}

//! Secrets written into text: a message that quotes a URL's query or a header, a context's or
//! details' string holding a connection string. The default redaction masks them before the
//! history, the export and the collector's `tracing` events see them, by every way an error
//! comes in; the retry and fallback events show errors masked, through the attributes and the
//! API alike.

use std::sync::LazyLock;

use mcpstore_errors::{
    ErrorCollector, FallbackChain, McpStoreError, REDACTED, Redactor, RetryConfig, RetryManager,
    VirtualSleeper, collect_errors, fallback, retry,
};
use mcpstore_errors_tests::capture_events;
use serde_json::{Value, json};

const SECRETS: [&str; 4] = ["sk-live-1", "sk-live-2", "hunter2", "eyJhbGciOi"];

/// What an HTTP client's error says when a call with the key in its query fails.
#[derive(Debug, thiserror::Error)]
#[error(
    "error sending request for url (https://api.example.com/v1/search?api_key=sk-live-1&q=rust)"
)]
struct RequestError;

fn store_error() -> McpStoreError {
    McpStoreError::connection("refused, sent Authorization: Bearer eyJhbGciOi")
        .with_detail("database_url", "postgres://app:hunter2@db:5432/tools")
}

fn context() -> Value {
    json!({"tool": "search", "url": "https://x.io/?token=sk-live-2", "max_tokens": 512})
}

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[collect_errors(collector = &COLLECTOR, context = {"url": "https://x.io/?token=sk-live-2"})]
fn fetch() -> Result<(), RequestError> {
    Err(RequestError)
}

#[test]
fn secrets_in_messages_contexts_and_details_never_reach_history_export_or_events() {
    let collector = ErrorCollector::new(10);
    let events = capture_events("mcpstore_errors::collector", || {
        collector.collect(&RequestError, context());
        // A store error twice: the second is held by the shard, checked once.
        collector.collect(&store_error(), context());
        collector.collect(&store_error(), context());
        // Wrapped: the message is the wrapper's, the details the cause's.
        collector.collect(&std::io::Error::other(store_error()), Value::Null);
    });
    let records = collector.records();
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[0].message(),
        "error sending request for url (https://api.example.com/v1/search?api_key=[REDACTED]&q=rust)"
    );
    assert_eq!(
        records[0].context(),
        &json!({"tool": "search", "url": "https://x.io/?token=[REDACTED]", "max_tokens": 512})
    );
    for record in &records[1..] {
        // The wrapper's message is its `Display`, the store error's its own message.
        assert!(
            record
                .message()
                .ends_with("refused, sent Authorization: [REDACTED]"),
            "{}",
            record.message()
        );
        assert_eq!(
            record.details().unwrap()["database_url"],
            "postgres://app:[REDACTED]@db:5432/tools"
        );
        assert_eq!(record.code(), Some("CONNECTION_ERROR"));
        assert!(record.error().is_none(), "the original still holds them");
    }
    for event in &events {
        for value in event.fields.values() {
            assert_no_secret(value);
        }
    }
    let summary =
        serde_json::to_string(&collector.summary(std::time::Duration::from_secs(60))).unwrap();
    assert_no_secret(&summary);

    let path =
        std::env::temp_dir().join(format!("mcpstore-secret-text-{}.json", std::process::id()));
    collector.export(&path).unwrap();
    let exported = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_no_secret(&exported);
    assert!(exported.contains(REDACTED));
}

#[test]
fn the_attribute_masks_its_message_and_context_as_collect_does() {
    let _ = fetch();
    let record = COLLECTOR.records().pop().unwrap();
    assert!(
        record.message().contains("api_key=[REDACTED]&q=rust"),
        "{}",
        record.message()
    );
    assert_eq!(record.context()["url"], "https://x.io/?token=[REDACTED]");
}

#[test]
fn a_message_with_a_secret_is_masked_even_when_its_details_are_over_the_limits() {
    let collector = ErrorCollector::builder().max_context_bytes(64).build();
    let error =
        McpStoreError::connection("refused: token=sk-live-1").with_detail("blob", "x".repeat(500));
    collector.collect(&error, Value::Null);
    let record = &collector.records()[0];
    assert_eq!(record.message(), "refused: token=[REDACTED]");
    assert_ne!(
        record.details().unwrap().get("blob"),
        Some(&json!("x".repeat(500)))
    );
}

#[test]
fn a_hook_keeping_the_default_masking_masks_text_too_and_off_masks_nothing() {
    let hooked = ErrorCollector::builder()
        .redact(Redactor::custom(|target| target.mask_secret_keys()))
        .build();
    hooked.collect(&RequestError, context());
    let record = &hooked.records()[0];
    assert!(record.message().contains("api_key=[REDACTED]"));
    assert_eq!(record.context()["url"], "https://x.io/?token=[REDACTED]");

    let off = ErrorCollector::builder().redact(Redactor::off()).build();
    off.collect(&RequestError, context());
    assert!(off.records()[0].message().contains("api_key=sk-live-1"));
    assert_eq!(off.records()[0].context(), &context());
}

#[test]
fn text_without_secrets_keeps_the_error_by_reference() {
    let collector = ErrorCollector::new(10);
    let error =
        McpStoreError::connection("invalid token: expired at 12:30, see https://x.io/a?q=1");
    collector.collect(&error, json!({"note": "max_tokens=5"}));
    let record = &collector.records()[0];
    assert_eq!(record.error().unwrap().message(), error.message());
    assert_eq!(record.context()["note"], "max_tokens=5");
}

fn leaky() -> McpStoreError {
    McpStoreError::connection("GET https://x.io/?api_key=sk-live-1 refused")
}

#[retry(max_attempts = 2, delay = 0, jitter = false)]
fn retried() -> Result<(), McpStoreError> {
    Err(leaky())
}

#[fallback(default)]
fn defaulted() -> Result<u32, McpStoreError> {
    Err(leaky())
}

/// The `error` field of every event of `target` that has one.
fn shown_errors(target: &str, body: impl FnOnce()) -> Vec<String> {
    capture_events(target, body)
        .iter()
        .filter_map(|event| event.field("error").map(str::to_owned))
        .collect()
}

#[test]
fn retry_events_show_the_error_masked_through_the_attribute_and_the_manager() {
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(2)
            .base_delay(std::time::Duration::ZERO)
            .jitter(mcpstore_errors::Jitter::None)
            .sleeper(std::sync::Arc::new(VirtualSleeper::new())),
    );
    let by_attribute = shown_errors("mcpstore_errors::retry", || {
        let _ = retried();
    });
    let by_manager = shown_errors("mcpstore_errors::retry", || {
        let _ = manager.execute(|| Err::<(), _>(leaky()));
    });
    assert_eq!(
        by_attribute.len(),
        2,
        "a retry and a give-up: {by_attribute:?}"
    );
    assert_eq!(by_attribute, by_manager);
    for shown in &by_attribute {
        assert_eq!(shown, "GET https://x.io/?api_key=[REDACTED] refused");
    }
}

#[test]
fn fallback_events_show_the_error_masked_through_the_attribute_and_the_chain() {
    let chain: FallbackChain<(), u32, McpStoreError> = FallbackChain::new().default_value(0);
    let by_attribute = shown_errors("mcpstore_errors::fallback", || {
        assert_eq!(defaulted().unwrap(), 0);
    });
    let by_chain = shown_errors("mcpstore_errors::fallback", || {
        assert_eq!(chain.execute(&(), |_| Err(leaky())).unwrap(), 0);
    });
    assert_eq!(by_attribute.len(), 1, "{by_attribute:?}");
    assert_eq!(by_attribute, by_chain);
    assert!(
        by_attribute[0].contains("api_key=[REDACTED]"),
        "{by_attribute:?}"
    );
}

#[test]
fn an_error_whose_causes_hold_a_secret_is_not_handed_out_by_the_record() {
    let collector = ErrorCollector::new(10);
    let inner = McpStoreError::connection("inner").with_detail("api_key", "sk-live-1");
    collector.collect(
        &McpStoreError::service_start_failed("fs", "boom").with_source(inner),
        Value::Null,
    );
    // A wrapper whose own message is clean, around a cause whose message is not.
    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Wrapper(#[source] McpStoreError);
    collector.collect(
        &Wrapper(McpStoreError::connection("sent password=hunter2")),
        Value::Null,
    );
    let records = collector.records();
    assert_eq!(records[0].message(), "Failed to start service 'fs': boom");
    assert!(records[0].error().is_none(), "its cause holds the key");
    assert_eq!(records[0].code(), Some("SERVICE_START_FAILED"));
    assert_eq!(records[1].message(), "request failed");
    assert!(
        records[1].error().is_none(),
        "the cause's message holds the password"
    );
    assert_eq!(records[1].code(), Some("CONNECTION_ERROR"));

    // Clean causes: the error is kept.
    let clean = McpStoreError::service_start_failed("fs", "boom")
        .with_source(McpStoreError::connection("refused"));
    collector.collect(&clean, Value::Null);
    assert!(collector.records()[2].error().is_some());
}

#[test]
fn a_header_list_of_pairs_is_masked_by_name() {
    let collector = ErrorCollector::new(10);
    collector.collect(
        &RequestError,
        json!({"headers": [["Authorization", "Bearer sk-live-2"], ["Accept", "*/*"]], "AWSSecretKey": "hunter2"}),
    );
    let record = &collector.records()[0];
    assert_eq!(
        record.context(),
        &json!({"headers": [["Authorization", REDACTED], ["Accept", "*/*"]], "AWSSecretKey": REDACTED})
    );
}

#[test]
fn a_cause_of_another_type_quoting_a_secret_keeps_the_error_from_the_record() {
    let collector = ErrorCollector::new(10);
    // As `from_rmcp` keeps the SDK's error as the source.
    let error = McpStoreError::connection("refused").with_source(std::io::Error::other(
        "GET https://x.io/?api_key=sk-live-1 failed",
    ));
    collector.collect(&error, Value::Null);
    let clean = McpStoreError::connection("refused")
        .with_source(std::io::Error::other("connection reset by peer"));
    collector.collect(&clean, Value::Null);
    let records = collector.records();
    assert!(records[0].error().is_none(), "its cause quotes the key");
    assert_eq!(records[0].message(), "refused");
    assert_eq!(records[0].code(), Some("CONNECTION_ERROR"));
    assert!(records[1].error().is_some());
}

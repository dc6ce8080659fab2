//! Errors that name the `McpStoreError` they wrap through `Classify::store_error`, where their
//! `source()` does not lead to it (a thiserror `#[error(transparent)]` variant): collected
//! with its kind, code and details by `#[collect_errors]` and `collect_classified` alike, and
//! retried by its kind.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

use mcpstore_errors::{Classify, ErrorCollector, ErrorKind, McpStoreError, collect_errors, retry};
use serde_json::Value;

/// As users write it: the store error forwarded whole, so `source()` skips it.
#[derive(Debug, thiserror::Error)]
enum ClientError {
    #[error(transparent)]
    Store(#[from] McpStoreError),
    #[error("the server sent {0} bytes of garbage")]
    BadResponse(usize),
}

impl Classify for ClientError {
    fn store_error(&self) -> Option<&McpStoreError> {
        match self {
            ClientError::Store(error) => Some(error),
            ClientError::BadResponse(_) => None,
        }
    }
}

/// The same wrapper without a `Classify` impl: nothing names the store error.
#[derive(Debug, thiserror::Error)]
enum Unclassified {
    #[error(transparent)]
    Store(#[from] McpStoreError),
}

fn not_found() -> McpStoreError {
    McpStoreError::service_not_found("fs").with_detail("region", "eu")
}

static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[collect_errors(collector = &COLLECTOR, context = {"case": case})]
fn fails_with(case: &str, error: fn() -> ClientError) -> Result<(), ClientError> {
    Err(error())
}

#[collect_errors(collector = &COLLECTOR, context = {"case": case})]
fn fails_unclassified(case: &str) -> Result<(), Unclassified> {
    Err(not_found().into())
}

fn record_of(collector: &ErrorCollector, case: &str) -> mcpstore_errors::ErrorRecord {
    collector
        .records()
        .into_iter()
        .find(|record| record.context()["case"] == case)
        .expect("collected")
}

#[test]
fn a_transparent_wrapper_is_collected_with_the_store_errors_kind_code_and_details() {
    assert!(std::error::Error::source(&ClientError::from(not_found())).is_none());

    let _ = fails_with("attribute", || not_found().into());
    let plain = ErrorCollector::new(10);
    plain.collect_classified(
        &ClientError::from(not_found()),
        serde_json::json!({"case": "plain"}),
    );

    for record in [
        record_of(&COLLECTOR, "attribute"),
        record_of(&plain, "plain"),
    ] {
        assert_eq!(record.error_type(), "ClientError");
        assert_eq!(record.kind(), Some(ErrorKind::ServiceNotFound));
        assert_eq!(record.code(), Some("SERVICE_NOT_FOUND"));
        assert_eq!(record.details().unwrap()["region"], "eu");
        assert_eq!(record.message(), not_found().to_string());
    }
}

#[test]
fn a_variant_without_a_store_error_or_a_type_without_classify_has_no_code() {
    let _ = fails_with("bad response", || ClientError::BadResponse(3));
    let _ = fails_unclassified("unclassified");
    for case in ["bad response", "unclassified"] {
        let record = record_of(&COLLECTOR, case);
        assert_eq!(record.code(), None, "{case}");
        assert_eq!(record.details(), None, "{case}");
    }
    assert_eq!(
        record_of(&COLLECTOR, "unclassified").error_type(),
        "Unclassified"
    );
}

#[test]
fn collect_and_collect_classified_agree_where_the_chain_leads_to_the_store_error() {
    let wrapped = std::io::Error::other(not_found());
    let (by_chain, classified) = (ErrorCollector::new(10), ErrorCollector::new(10));
    by_chain.collect(&wrapped, Value::Null);
    classified.collect_classified(&wrapped, Value::Null);
    let (a, b) = (&by_chain.records()[0], &classified.records()[0]);
    assert_eq!((a.error_type(), a.code()), (b.error_type(), b.code()));
    assert_eq!(a.code(), Some("SERVICE_NOT_FOUND"));
    assert_eq!(a.details(), b.details());
}

#[retry(max_attempts = 3, delay = 0, on = [Connection])]
fn retried_by_its_store_errors_kind(calls: &AtomicU32) -> Result<u32, ClientError> {
    match calls.fetch_add(1, Ordering::SeqCst) {
        0 => Err(McpStoreError::connection("refused").into()),
        1 => Err(ClientError::BadResponse(1)),
        n => Ok(n),
    }
}

#[test]
fn the_kind_defaults_to_the_store_errors() {
    let error = ClientError::from(McpStoreError::connection("refused"));
    assert_eq!(error.error_kind(), Some(ErrorKind::Connection));
    assert!(error.is_retryable());
    assert_eq!(ClientError::BadResponse(1).error_kind(), None);
    let calls = AtomicU32::new(0);
    assert!(matches!(
        retried_by_its_store_errors_kind(&calls),
        Err(ClientError::BadResponse(1))
    ));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the connection error was retried, not the other"
    );
}

/// An error that says its kind through `Classify::error_kind` alone, wrapping no store error.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("rate limited")]
    RateLimited,
    #[error("reclassified: {0}")]
    Reclassified(#[source] McpStoreError),
    #[error("kind unknown")]
    Panicking,
}

impl Classify for ApiError {
    fn error_kind(&self) -> Option<ErrorKind> {
        match self {
            ApiError::RateLimited => Some(ErrorKind::Connection),
            // The wrapped error says ServiceNotFound; this type knows better.
            ApiError::Reclassified(_) => Some(ErrorKind::Configuration),
            ApiError::Panicking => panic!("a user's error_kind panicked"),
        }
    }
}

#[collect_errors(collector = &COLLECTOR, context = {"case": case})]
fn fails_with_api_error(case: &str, error: fn() -> ApiError) -> Result<(), ApiError> {
    Err(error())
}

/// Each case collected through the attribute and through `collect_classified`.
fn both_records(case: &str, error: fn() -> ApiError) -> [mcpstore_errors::ErrorRecord; 2] {
    let _ = fails_with_api_error(case, error);
    let plain = ErrorCollector::new(10);
    plain.collect_classified(&error(), serde_json::json!({"case": case}));
    [record_of(&COLLECTOR, case), record_of(&plain, case)]
}

#[test]
fn a_kind_given_by_error_kind_alone_is_recorded_with_its_code() {
    for record in both_records("rate limited", || ApiError::RateLimited) {
        assert_eq!(record.error_type(), "ApiError");
        assert_eq!(record.kind(), Some(ErrorKind::Connection));
        assert_eq!(record.code(), Some(ErrorKind::Connection.code()));
        assert_eq!(record.details(), None, "no store error, no details");
        assert!(record.error().is_none());
    }
    // `collect`, which does not ask `Classify`, records no kind.
    let unasked = ErrorCollector::new(10);
    unasked.collect(&ApiError::RateLimited, Value::Null);
    assert_eq!(unasked.records()[0].kind(), None);
}

#[test]
fn the_kind_error_kind_gives_wins_over_the_wrapped_store_errors() {
    for record in both_records("reclassified", || ApiError::Reclassified(not_found())) {
        assert_eq!(record.kind(), Some(ErrorKind::Configuration));
        assert_eq!(record.code(), Some(ErrorKind::Configuration.code()));
        // The details are still the wrapped error's.
        assert_eq!(record.details().unwrap()["region"], "eu");
        assert_eq!(
            record.error().map(McpStoreError::kind),
            Some(ErrorKind::ServiceNotFound)
        );
    }
}

#[test]
fn a_panicking_error_kind_is_caught_and_the_error_recorded_without_a_kind() {
    for record in both_records("panicking", || ApiError::Panicking) {
        assert_eq!(record.message(), "kind unknown");
        assert_eq!(record.kind(), None);
        assert_eq!(record.code(), None);
    }
}

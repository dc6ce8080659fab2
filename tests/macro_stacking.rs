//! Stacked attributes compose from the outside in; every order is valid and means what it says.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use mcpstore_errors::{ErrorCollector, McpStoreError, collect_errors, fallback, retry};
use serde_json::Value;

type Log = Mutex<Vec<String>>;

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Logs `attempt N` and fails until the `succeed_at`-th call (0 = never succeeds).
fn attempt(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    let mut log = log.lock().unwrap();
    let call = log.iter().filter(|e| e.starts_with("attempt")).count() + 1;
    log.push(format!("attempt {call}"));
    if call == succeed_at {
        Ok(format!("value of attempt {call}"))
    } else {
        Err(McpStoreError::service_start_failed(
            "fs",
            format!("attempt {call}"),
        ))
    }
}

/// Logs `backup N` and fails until its `succeed_at`-th call (0 = never succeeds).
fn backup(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    let mut log = log.lock().unwrap();
    let call = log.iter().filter(|e| e.starts_with("backup")).count() + 1;
    log.push(format!("backup {call}"));
    if call == succeed_at {
        Ok(format!("value of backup {call}"))
    } else {
        Err(McpStoreError::connection(format!("backup {call} down")))
    }
}

use mcpstore_errors_tests::history;

fn collected_reasons(collector: &ErrorCollector) -> Vec<Value> {
    history(collector)
        .iter()
        .map(|record| record["details"]["reason"].clone())
        .collect()
}

fn new_collector() -> ErrorCollector {
    ErrorCollector::new(100)
}

// ---------------------------------------------------------------------------------------------
// collect_errors > fallback > retry: retry, then fall back, then collect what escapes

static OUTSIDE_IN: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[collect_errors(collector = &OUTSIDE_IN)]
#[fallback(with = backup)]
#[retry(max_attempts = 3, delay = 0)]
fn all_three(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn all_three_retry_then_fall_back_then_collect_what_escapes() {
    // Nothing works: three attempts, one backup, and the last attempt's error is collected once.
    let log = Log::default();
    let error = all_three(&log, 0).unwrap_err();
    assert_eq!(error.details()["reason"], "attempt 3");
    assert_eq!(
        entries(&log),
        ["attempt 1", "attempt 2", "attempt 3", "backup 1"]
    );
    assert_eq!(collected_reasons(&OUTSIDE_IN), ["attempt 3"]);
}

static BACKUP_SAVES: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

fn backup_that_works(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    let _ = succeed_at;
    backup(log, 1)
}

#[collect_errors(collector = &BACKUP_SAVES)]
#[fallback(with = backup_that_works)]
#[retry(max_attempts = 3, delay = 0)]
fn all_three_saved_by_backup(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn all_three_collect_nothing_when_the_fallback_answers() {
    let log = Log::default();
    assert_eq!(
        all_three_saved_by_backup(&log, 0).unwrap(),
        "value of backup 1"
    );
    assert_eq!(
        entries(&log),
        ["attempt 1", "attempt 2", "attempt 3", "backup 1"]
    );
    assert!(history(&BACKUP_SAVES).is_empty());

    // A retry that succeeds never reaches the fallback.
    let log = Log::default();
    assert_eq!(
        all_three_saved_by_backup(&log, 2).unwrap(),
        "value of attempt 2"
    );
    assert_eq!(entries(&log), ["attempt 1", "attempt 2"]);
    assert!(history(&BACKUP_SAVES).is_empty());
}

// ---------------------------------------------------------------------------------------------
// retry > collect_errors: every failed attempt is collected

static EVERY_ATTEMPT: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[retry(max_attempts = 4, delay = 0)]
#[collect_errors(collector = &EVERY_ATTEMPT)]
fn collects_each_attempt(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn retry_outside_collect_errors_collects_every_failed_attempt() {
    let log = Log::default();
    assert_eq!(
        collects_each_attempt(&log, 3).unwrap(),
        "value of attempt 3"
    );
    assert_eq!(
        collected_reasons(&EVERY_ATTEMPT),
        ["attempt 1", "attempt 2"]
    );
}

// collect_errors > retry: only the final error

static FINAL_ONLY: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[collect_errors(collector = &FINAL_ONLY)]
#[retry(max_attempts = 3, delay = 0)]
fn collects_final_error(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn collect_errors_outside_retry_collects_only_what_the_retries_let_through() {
    let log = Log::default();
    assert!(collects_final_error(&log, 2).is_ok());
    assert!(history(&FINAL_ONLY).is_empty());

    let log = Log::default();
    assert!(collects_final_error(&log, 0).is_err());
    assert_eq!(entries(&log).len(), 3);
    assert_eq!(collected_reasons(&FINAL_ONLY), ["attempt 3"]);
}

// collect_errors > retry > collect_errors, into two collectors: each sees what its place lets
// through, once

static AUDIT_FINAL: LazyLock<ErrorCollector> = LazyLock::new(new_collector);
static AUDIT_EACH: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[collect_errors(collector = &AUDIT_FINAL)]
#[retry(max_attempts = 2, delay = 0)]
#[collect_errors(collector = &AUDIT_EACH)]
fn collects_into_two(log: &Log) -> Result<String, McpStoreError> {
    attempt(log, 0)
}

#[test]
fn two_collectors_each_collect_each_error_once() {
    let log = Log::default();
    assert!(collects_into_two(&log).is_err());
    assert_eq!(collected_reasons(&AUDIT_EACH), ["attempt 1", "attempt 2"]);
    assert_eq!(collected_reasons(&AUDIT_FINAL), ["attempt 2"]);
}

// ---------------------------------------------------------------------------------------------
// fallback and retry, both ways round

#[fallback(default = "default value".to_string())]
#[retry(max_attempts = 3, delay = 0)]
fn falls_back_after_all_retries(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn fallback_outside_retry_falls_back_only_after_every_attempt_failed() {
    let log = Log::default();
    assert_eq!(
        falls_back_after_all_retries(&log, 0).unwrap(),
        "default value"
    );
    assert_eq!(entries(&log), ["attempt 1", "attempt 2", "attempt 3"]);

    let log = Log::default();
    assert_eq!(
        falls_back_after_all_retries(&log, 3).unwrap(),
        "value of attempt 3"
    );
}

#[retry(max_attempts = 3, delay = 0)]
#[fallback(default = "default value".to_string())]
fn falls_back_inside_each_attempt(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn retry_outside_a_default_fallback_never_sees_an_error() {
    let log = Log::default();
    assert_eq!(
        falls_back_inside_each_attempt(&log, 0).unwrap(),
        "default value"
    );
    assert_eq!(entries(&log), ["attempt 1"]);
}

fn second_backup_works(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    let _ = succeed_at;
    backup(log, 2)
}

#[retry(max_attempts = 3, delay = 0)]
#[fallback(with = second_backup_works)]
fn retries_the_whole_chain(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn retry_outside_fallback_retries_the_function_and_its_alternative_together() {
    let log = Log::default();
    assert_eq!(
        retries_the_whole_chain(&log, 0).unwrap(),
        "value of backup 2"
    );
    assert_eq!(
        entries(&log),
        ["attempt 1", "backup 1", "attempt 2", "backup 2"]
    );
}

// ---------------------------------------------------------------------------------------------
// fallback and collect_errors, both ways round

static BEFORE_FALLBACK: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[fallback(default)]
#[collect_errors(collector = &BEFORE_FALLBACK)]
fn collected_then_defaulted(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn fallback_outside_collect_errors_collects_the_error_it_then_hides() {
    let log = Log::default();
    assert_eq!(collected_then_defaulted(&log, 0).unwrap(), "");
    assert_eq!(collected_reasons(&BEFORE_FALLBACK), ["attempt 1"]);
}

static AFTER_FALLBACK: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[collect_errors(collector = &AFTER_FALLBACK)]
#[fallback(default)]
fn defaulted_not_collected(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn collect_errors_outside_fallback_sees_no_error_the_fallback_handled() {
    let log = Log::default();
    assert_eq!(defaulted_not_collected(&log, 0).unwrap(), "");
    assert!(history(&AFTER_FALLBACK).is_empty());
}

// ---------------------------------------------------------------------------------------------
// retry inside retry multiplies the attempts

#[retry(max_attempts = 2, delay = 0)]
#[retry(max_attempts = 3, delay = 0)]
fn nested_retries(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    attempt(log, succeed_at)
}

#[test]
fn nested_retries_multiply() {
    let log = Log::default();
    let error = nested_retries(&log, 0).unwrap_err();
    assert_eq!(error.details()["reason"], "attempt 6");
    assert_eq!(entries(&log).len(), 6);
}

// ---------------------------------------------------------------------------------------------
// By-value arguments, methods and async through the whole stack

static BY_VALUE: LazyLock<ErrorCollector> = LazyLock::new(new_collector);
static BY_VALUE_CALLS: AtomicU32 = AtomicU32::new(0);

#[collect_errors(collector = &BY_VALUE)]
#[fallback(default = vec!["no tools".to_string()])]
#[retry(max_attempts = 3, delay = 0)]
fn by_value_through_the_stack(
    service: String,
    mut tags: Vec<String>,
) -> Result<Vec<String>, McpStoreError> {
    let call = BY_VALUE_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    tags.push(format!("{service} attempt {call}"));
    if call < 3 {
        Err(McpStoreError::service_start_failed(service, "not yet"))
    } else {
        Ok(tags)
    }
}

#[test]
fn by_value_arguments_reach_every_layer_fresh() {
    let tags = by_value_through_the_stack("fs".to_string(), vec!["t".to_string()]).unwrap();
    assert_eq!(tags, ["t", "fs attempt 3"]);
    assert!(history(&BY_VALUE).is_empty());
}

static METHOD_STACK: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

#[derive(Debug, Default)]
struct Starter {
    log: Log,
}

impl Starter {
    #[collect_errors(collector = &METHOD_STACK)]
    #[fallback(with = Self::start_from_backup)]
    #[retry(max_attempts = 2, delay = 0)]
    fn start(&self, succeed_at: usize) -> Result<String, McpStoreError> {
        attempt(&self.log, succeed_at)
    }

    fn start_from_backup(&self, succeed_at: usize) -> Result<String, McpStoreError> {
        let _ = succeed_at;
        backup(&self.log, 0)
    }
}

#[test]
fn methods_stack_too() {
    let starter = Starter::default();
    let error = starter.start(0).unwrap_err();
    assert_eq!(error.details()["reason"], "attempt 2");
    assert_eq!(
        entries(&starter.log),
        ["attempt 1", "attempt 2", "backup 1"]
    );
    assert_eq!(collected_reasons(&METHOD_STACK), ["attempt 2"]);
}

static ASYNC_STACK: LazyLock<ErrorCollector> = LazyLock::new(new_collector);

async fn async_backup(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    let _ = succeed_at;
    tokio::task::yield_now().await;
    backup(log, 0)
}

#[collect_errors(collector = &ASYNC_STACK)]
#[fallback(with = async_backup)]
#[retry(max_attempts = 3, delay = 0)]
async fn async_all_three(log: &Log, succeed_at: usize) -> Result<String, McpStoreError> {
    tokio::task::yield_now().await;
    attempt(log, succeed_at)
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn async_all_three_compose_the_same_way() {
    let log = Log::default();
    let future = async_all_three(&log, 0);
    assert_send(&future);
    let error = future.await.unwrap_err();
    assert_eq!(error.details()["reason"], "attempt 3");
    assert_eq!(
        entries(&log),
        ["attempt 1", "attempt 2", "attempt 3", "backup 1"]
    );
    assert_eq!(collected_reasons(&ASYNC_STACK), ["attempt 3"]);

    let log = Log::default();
    assert_eq!(
        async_all_three(&log, 2).await.unwrap(),
        "value of attempt 2"
    );
    assert_eq!(collected_reasons(&ASYNC_STACK).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Around a `default`, the inner layer never returns `Err`: its error type still comes from the
// signature, whatever traits it has.

static STRING_ERRORS: LazyLock<ErrorCollector> = LazyLock::new(new_collector);
static STRING_ERROR_CALLS: AtomicU32 = AtomicU32::new(0);

#[collect_errors(collector = &STRING_ERRORS)]
#[fallback(default)]
fn defaulted_with_a_string_error() -> Result<u32, String> {
    STRING_ERROR_CALLS.fetch_add(1, Ordering::SeqCst);
    Err("down".to_string())
}

#[test]
fn collect_errors_around_a_default_with_a_display_only_error() {
    assert_eq!(defaulted_with_a_string_error(), Ok(0));
    assert_eq!(STRING_ERROR_CALLS.load(Ordering::SeqCst), 1);
    assert!(history(&STRING_ERRORS).is_empty());
}

/// An error with neither `Display` nor `Error`.
#[derive(Debug, PartialEq)]
struct Opaque;

static OPAQUE_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max_attempts = 3, delay = 0)]
#[fallback(default)]
fn defaulted_with_an_opaque_error() -> Result<u32, Opaque> {
    OPAQUE_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(Opaque)
}

#[test]
fn retry_around_a_default_with_an_error_without_display() {
    assert_eq!(defaulted_with_an_opaque_error(), Ok(0));
    assert_eq!(OPAQUE_CALLS.load(Ordering::SeqCst), 1);
}

#[retry(max_attempts = 2, delay = 0)]
#[fallback(default = 7)]
async fn async_defaulted_with_an_opaque_error() -> Result<u32, Opaque> {
    tokio::task::yield_now().await;
    Err(Opaque)
}

#[tokio::test]
async fn async_retry_around_a_default_with_an_error_without_display() {
    assert_eq!(async_defaulted_with_an_opaque_error().await, Ok(7));
}

// ---- another attribute written among ours ----

static BETWEEN_LOG: Log = Mutex::new(Vec::new());

#[fallback(default)]
#[tracing::instrument(name = "written_between", skip_all)]
#[retry(max_attempts = 2, delay = 0)]
fn instrumented_between() -> Result<String, McpStoreError> {
    attempt(&BETWEEN_LOG, 0)
}

#[test]
fn an_attribute_written_among_ours_wraps_the_whole_stack() {
    let mut value = None;
    let events = mcpstore_errors_tests::capture_events("mcpstore_errors::", || {
        value = Some(instrumented_between());
    });
    assert_eq!(value.unwrap().unwrap(), "");
    // Both the retries' events and the fallback's sit in the span.
    for target in ["mcpstore_errors::retry", "mcpstore_errors::fallback"] {
        assert!(
            events.iter().any(|event| event.target == target),
            "no {target} event in {events:?}"
        );
    }
    for event in &events {
        assert_eq!(event.spans, ["written_between"], "{event:?}");
    }
}

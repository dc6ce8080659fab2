//! Shared contexts and errors held by reference go through the collector's limits and
//! redaction like any other: a shared context is copied only when something in it must
//! change, the caller's value is never changed, and a verdict remembered for one context or
//! one collector is never applied to another.

use std::sync::{Arc, LazyLock};

use mcpstore_errors::__private;
use mcpstore_errors::{Context, ErrorCollector, McpStoreError, REDACTED, Redactor};
use serde_json::{Value, json};

fn secret_context() -> Value {
    json!({"operation": "call_tool", "headers": {"Authorization": "Bearer sk-live-1"}})
}

fn masked_secret_context() -> Value {
    json!({"operation": "call_tool", "headers": {"Authorization": REDACTED}})
}

#[test]
fn a_shared_context_holding_a_secret_is_masked_in_a_copy_and_the_callers_value_is_untouched() {
    let collector = ErrorCollector::new(10);
    let context = Arc::new(secret_context());
    for _ in 0..3 {
        collector.collect(&McpStoreError::connection("refused"), &context);
    }
    assert_eq!(
        *context,
        secret_context(),
        "the caller's value is unchanged"
    );
    for record in collector.records() {
        assert_eq!(record.context(), &masked_secret_context());
        assert!(!std::ptr::eq(record.context(), &*context));
    }
    assert_eq!(
        Arc::strong_count(&context),
        1,
        "no record holds the original"
    );
}

#[test]
fn a_static_context_holding_a_secret_is_masked_on_every_collect() {
    static CONTEXT: LazyLock<Value> = LazyLock::new(secret_context);
    let collector = ErrorCollector::new(10);
    let error = McpStoreError::connection("refused");
    collector.collect(&error, &*CONTEXT);
    collect_as_the_attribute_does(&collector, &error, Context::from_static(&CONTEXT));
    collector.collect_dyn(&error, Context::from_static(&CONTEXT));
    let records = collector.records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].context(), &masked_secret_context());
    let mut with_function = masked_secret_context();
    with_function["function"] = json!("f");
    assert_eq!(records[1].context(), &with_function);
    assert_eq!(records[2].context(), &masked_secret_context());
}

#[test]
fn a_clean_shared_context_stays_the_callers_on_every_entry_point() {
    static CONTEXT: LazyLock<Value> = LazyLock::new(|| json!({"operation": "start"}));
    let collector = ErrorCollector::new(100);
    let value = Arc::new(json!({"operation": "list_tools"}));
    let shared = Context::from(&value);
    let error = McpStoreError::connection("refused");
    for _ in 0..5 {
        collector.collect(&error, &value);
        collector.collect_dyn(&error, &value);
        collector.collect_display("text", &value);
        collect_as_the_attribute_does(&collector, &error, shared.clone());
        {
            use __private::CollectDisplay as _;
            __private::Collected("text").__mcpstore_collect_into(&collector, "f", shared.clone());
        }
        collector.collect(&error, &*CONTEXT);
    }
    for record in collector.records() {
        let kept = match record.function() {
            Some(_) => record.context()["operation"] == value["operation"],
            None => {
                std::ptr::eq(record.context(), &*value) || std::ptr::eq(record.context(), &*CONTEXT)
            }
        };
        assert!(kept, "{record:?}");
    }
    assert_eq!(
        Arc::strong_count(&value),
        2 + 25,
        "one pointer per record, no copy"
    );
}

#[test]
fn a_shared_context_over_the_limits_is_counted_on_every_collect() {
    static LARGE: LazyLock<Value> = LazyLock::new(|| json!({"payload": "x".repeat(200)}));
    let collector = ErrorCollector::builder().max_context_bytes(64).build();
    let shared = Arc::new(json!({"payload": "y".repeat(200)}));
    for _ in 0..3 {
        collector.collect(&std::fmt::Error, &*LARGE);
        collector.collect(&std::fmt::Error, &shared);
    }
    assert_eq!(collector.oversized_contexts(), 6);
    for record in collector.records() {
        assert_eq!(record.context()["_truncated"], true);
    }
    assert_eq!(*shared, json!({"payload": "y".repeat(200)}));
}

#[test]
fn a_verdict_of_one_collector_is_not_applied_by_another() {
    let lenient = ErrorCollector::builder().redact(Redactor::off()).build();
    let strict = ErrorCollector::builder().max_context_bytes(1_000).build();
    let tight = ErrorCollector::builder().max_context_bytes(16).build();
    let context = Arc::new(secret_context());
    for _ in 0..3 {
        lenient.collect(&std::fmt::Error, &context);
        strict.collect(&std::fmt::Error, &context);
        tight.collect(&std::fmt::Error, &context);
    }
    for record in lenient.records() {
        assert!(std::ptr::eq(record.context(), &*context));
    }
    for record in strict.records() {
        assert_eq!(record.context(), &masked_secret_context());
    }
    assert_eq!(tight.oversized_contexts(), 3);
}

#[test]
fn a_context_freed_and_replaced_by_one_holding_a_secret_is_checked_again() {
    let collector = ErrorCollector::new(10);
    for round in 0..200 {
        let clean = Arc::new(json!({"round": round}));
        collector.collect(&std::fmt::Error, &clean);
        collector.collect(&std::fmt::Error, &clean);
        collector.clear();
        drop(clean);
        // Likely at the freed address, were it not kept from reuse.
        let dirty = Arc::new(json!({"password": round}));
        collector.collect(&std::fmt::Error, &dirty);
        assert_eq!(
            collector.records()[0].context(),
            &json!({"password": REDACTED})
        );
        collector.clear();
    }
}

#[test]
fn many_shared_contexts_in_turn_are_each_checked() {
    let collector = ErrorCollector::new(1_000);
    let contexts: Vec<Arc<Value>> = (0..20)
        .map(|i| match i % 2 {
            0 => Arc::new(json!({"clean": i})),
            _ => Arc::new(json!({"token": i})),
        })
        .collect();
    for _ in 0..3 {
        for context in &contexts {
            collector.collect(&std::fmt::Error, context);
        }
    }
    for (i, record) in collector.records().iter().enumerate() {
        let context = &contexts[i % 20];
        if i % 2 == 0 {
            assert!(std::ptr::eq(record.context(), &**context));
        } else {
            assert_eq!(record.context(), &json!({"token": REDACTED}));
        }
    }
}

#[test]
fn an_error_held_by_reference_is_redacted_when_its_details_hold_a_secret() {
    let collector = ErrorCollector::new(10);
    let secret = McpStoreError::tool_execution_failed("search", "denied", None)
        .with_detail("arguments", json!({"api_key": "sk-live-2"}));
    let clean = McpStoreError::service_not_found("fs");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(secret.clone());
    collector.collect(&secret, Value::Null);
    collector.collect_dyn(&*boxed, Value::Null);
    collect_as_the_attribute_does(&collector, &secret, Context::null());
    collector.collect(&clean, Value::Null);
    let records = collector.records();
    for record in &records[..3] {
        assert_eq!(
            record.details().unwrap()["arguments"],
            json!({"api_key": REDACTED})
        );
        assert!(record.error().is_none(), "the original holds the key");
        assert_eq!(record.code(), Some("TOOL_EXECUTION_FAILED"));
    }
    assert!(
        records[3].error().is_some(),
        "nothing to redact: held as is"
    );
    let summary = collector.summary(std::time::Duration::from_secs(3600));
    assert_eq!(summary.error_codes["TOOL_EXECUTION_FAILED"], 3);
}

#[test]
fn a_hook_copies_a_shared_context_only_when_it_writes_to_it() {
    let reading = ErrorCollector::builder()
        .redact(Redactor::custom(|target| {
            target.mask_secret_keys();
        }))
        .build();
    let writing = ErrorCollector::builder()
        .redact(Redactor::custom(|target| {
            target.context()["seen"] = json!(true);
        }))
        .build();
    let clean = Arc::new(json!({"operation": "x"}));
    reading.collect(&std::fmt::Error, &clean);
    writing.collect(&std::fmt::Error, &clean);
    assert!(std::ptr::eq(reading.records()[0].context(), &*clean));
    assert_eq!(
        writing.records()[0].context(),
        &json!({"operation": "x", "seen": true})
    );
    assert_eq!(
        *clean,
        json!({"operation": "x"}),
        "the caller's value is unchanged"
    );
}

/// Records `error` as `#[collect_errors]` does, in a function named `f`.
fn collect_as_the_attribute_does(
    collector: &ErrorCollector,
    error: &McpStoreError,
    context: Context,
) {
    use __private::CollectError as _;
    (&__private::Collected(error)).__mcpstore_collect_into(collector, "f", context);
}

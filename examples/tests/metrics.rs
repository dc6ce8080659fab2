//! The `metrics` example's claim, checked: the crate's metrics served on a loopback port in the
//! Prometheus text format, scraped with a plain HTTP GET and read by a Prometheus text parser,
//! hold the families and labels the README lists. Its own test binary: the recorder is the
//! process's global one.

use std::time::Duration;

use mcpstore_errors::ErrorKind;
use mcpstore_errors_examples::prometheus;
use prometheus_parse::{Sample, Value};

/// The value of the one sample of `metric` whose labels include `labels`.
fn value(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> Option<Value> {
    let mut found = samples.iter().filter(|sample| {
        sample.metric == metric
            && labels
                .iter()
                .all(|(key, value)| sample.labels.get(key) == Some(*value))
    });
    let sample = found.next()?;
    assert!(found.next().is_none(), "several {metric} {labels:?}");
    Some(sample.value.clone())
}

fn counter(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    match value(samples, metric, labels) {
        Some(Value::Counter(n)) => n,
        other => panic!("{metric} {labels:?}: {other:?}"),
    }
}

#[tokio::test]
async fn the_scraped_metrics_parse_and_hold_every_family_and_label() {
    let handle = prometheus::install().expect("the only recorder of this test binary");
    let address = prometheus::serve(handle).await.unwrap();
    assert!(address.ip().is_loopback());
    tokio::time::timeout(Duration::from_secs(10), prometheus::run_calls())
        .await
        .expect("the calls hung");
    let text = tokio::time::timeout(Duration::from_secs(10), prometheus::scrape(address))
        .await
        .expect("the scrape hung")
        .expect("a 200 answer");
    let scrape = prometheus::parse(&text).unwrap();
    let samples = &scrape.samples;

    let calls = "mcpstore_retry_calls_total";
    let call_tool = ("operation", "call_tool");
    for (outcome, count) in [
        ("successful_without_retry", 1.0),
        ("successful_with_retry", 1.0),
        ("failed_without_retry", 1.0),
    ] {
        assert_eq!(
            counter(samples, calls, &[call_tool, ("outcome", outcome)]),
            count,
            "{outcome}"
        );
    }
    let attempts = "mcpstore_retry_failed_attempts_total";
    let timeout = ErrorKind::ServiceTimeout.code();
    assert_eq!(
        counter(samples, attempts, &[call_tool, ("kind", timeout)]),
        2.0
    );

    // The async #[retry] fn: one success after a retry, one call that gives up.
    let list_tools = samples
        .iter()
        .find(|s| s.metric == calls && s.labels.get("operation").unwrap().ends_with("list_tools"))
        .expect("the #[retry] fn's calls")
        .labels
        .get("operation")
        .unwrap()
        .to_owned();
    let list_tools = ("operation", list_tools.as_str());
    assert_eq!(
        counter(
            samples,
            calls,
            &[list_tools, ("outcome", "failed_with_retry")]
        ),
        1.0
    );

    match value(samples, "mcpstore_retry_delay_seconds", &[call_tool]) {
        Some(Value::Histogram(buckets)) => {
            let at_most = |bound: f64| buckets.iter().find(|b| b.less_than == bound).unwrap().count;
            // 100 ms, then 200 ms.
            assert_eq!((at_most(0.05), at_most(0.1), at_most(0.5)), (0.0, 1.0, 2.0));
        }
        other => panic!("mcpstore_retry_delay_seconds: {other:?}"),
    }

    let steps = "mcpstore_fallback_steps_total";
    let tools = ("operation", "get_service_tools");
    assert_eq!(
        counter(
            samples,
            steps,
            &[tools, ("strategy", "cache"), ("outcome", "served")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            samples,
            steps,
            &[tools, ("strategy", "cache"), ("outcome", "failed")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            samples,
            steps,
            &[tools, ("strategy", "default"), ("outcome", "served")]
        ),
        1.0
    );

    assert_eq!(
        counter(
            samples,
            "mcpstore_fallback_exhausted_total",
            &[("operation", "get_prompts")]
        ),
        1.0
    );

    let fs = ("service", "filesystem");
    assert_eq!(
        counter(
            samples,
            "mcpstore_breaker_transitions_total",
            &[fs, ("from", "closed"), ("to", "open")]
        ),
        1.0
    );
    let state =
        |state: &str| match value(samples, "mcpstore_breaker_state", &[fs, ("state", state)]) {
            Some(Value::Gauge(value)) => value,
            other => panic!("mcpstore_breaker_state {state}: {other:?}"),
        };
    assert_eq!((state("open"), state("closed")), (1.0, 0.0));

    let collected = "mcpstore_errors_collected_total";
    assert_eq!(
        counter(
            samples,
            collected,
            &[
                ("type", "ServiceNotFoundError"),
                ("code", "SERVICE_NOT_FOUND")
            ]
        ),
        4.0
    );
    assert_eq!(
        counter(samples, collected, &[("type", "Error"), ("code", "none")]),
        1.0
    );
    assert_eq!(
        counter(
            samples,
            "mcpstore_rate_alerts_total",
            &[("type", "ServiceNotFoundError")]
        ),
        1.0
    );

    // Every family carries its description.
    for family in [calls, attempts, steps, collected, "mcpstore_breaker_state"] {
        assert!(scrape.docs.contains_key(family), "no HELP for {family}");
    }
}

//! The error collector: history, statistics, trends, the rate alert, summaries and exports.

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcpstore_errors::{
    Clock, ErrorCollector, ErrorKind, ManualClock, McpStoreError, RateAlert, global_collector,
};
use serde_json::{Value, json};

// Counts this thread's allocations, to show that collecting into a full history allocates
// nothing (so memory stays flat however many errors are collected).
#[global_allocator]
static ALLOCATOR: mcpstore_errors_tests::CountingAllocator =
    mcpstore_errors_tests::CountingAllocator;

/// 2023-11-14T22:13:20Z.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn manual(max_errors: usize) -> (ErrorCollector, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .max_errors(max_errors)
        .clock(clock.clone())
        .build();
    (collector, clock)
}

fn messages(collector: &ErrorCollector) -> Vec<String> {
    collector
        .records()
        .iter()
        .map(|r| r.message().to_owned())
        .collect()
}

fn alerts_of(collector: &ErrorCollector) -> Arc<Mutex<Vec<RateAlert>>> {
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&alerts);
    collector.on_alert(move |alert| sink.lock().unwrap().push(alert.clone()));
    alerts
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mcpstore-collector-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn collector_events(body: impl FnOnce()) -> Vec<mcpstore_errors_tests::CapturedEvent> {
    mcpstore_errors_tests::capture_events("mcpstore_errors::collector", body)
}

#[derive(Debug)]
struct Wrapper<E>(E);

impl<E: fmt::Display> fmt::Display for Wrapper<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wrapped: {}", self.0)
    }
}

impl<E: StdError + 'static> StdError for Wrapper<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

// ---------------------------------------------------------------------------------------
// What a record holds

#[test]
fn a_store_error_is_recorded_with_its_class_name_code_details_context_and_time() {
    let (collector, clock) = manual(10);
    clock.advance(Duration::from_secs(7));
    collector.collect(
        &McpStoreError::tool_execution_failed("read", "boom", Some("partial")),
        json!({"operation": "call"}),
    );
    let records = collector.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.error_type(), "ToolExecutionError");
    assert_eq!(record.message(), "Tool 'read' execution failed: boom");
    assert_eq!(record.code(), Some("TOOL_EXECUTION_FAILED"));
    let details = record.details().unwrap();
    assert_eq!(details["tool_name"], "read");
    assert_eq!(details["output"], "partial");
    assert_eq!(record.context(), &json!({"operation": "call"}));
    assert_eq!(record.timestamp(), start() + Duration::from_secs(7));
    assert_eq!(record.error().unwrap().kind(), ErrorKind::ToolExecution);
}

#[test]
fn other_errors_get_their_short_type_name_and_message_and_no_code() {
    let (collector, _) = manual(10);
    collector.collect(&std::io::Error::other("disk full"), Value::Null);
    collector.collect(&Wrapper(std::fmt::Error), Value::Null);
    let records = collector.records();
    assert_eq!(records[0].error_type(), "Error");
    assert_eq!(records[0].message(), "disk full");
    assert_eq!(records[0].code(), None);
    assert!(records[0].details().is_none());
    assert_eq!(records[1].error_type(), "Wrapper<Error>");
    assert_eq!(
        records[1].message(),
        "wrapped: an error occurred when formatting an argument"
    );
}

#[test]
fn an_error_wrapping_a_store_error_keeps_its_name_and_message_and_takes_code_and_details() {
    let (collector, _) = manual(10);
    let inner = McpStoreError::service_not_found("fs");
    // Two levels deep: Wrapper -> io::Error -> McpStoreError.
    let outer = Wrapper(std::io::Error::other(inner));
    collector.collect(&outer, json!({}));
    let record = &collector.records()[0];
    assert_eq!(record.error_type(), "Wrapper<Error>");
    assert_eq!(record.message(), "wrapped: Service 'fs' not found");
    assert_eq!(record.code(), Some("SERVICE_NOT_FOUND"));
    assert_eq!(record.details().unwrap()["service_name"], "fs");
}

#[test]
fn display_only_values_are_collected_by_type_name() {
    let (collector, _) = manual(10);
    collector.collect_display(&String::from("quota exceeded"), Value::Null);
    collector.collect_display("plain text", Value::Null);
    let records = collector.records();
    assert_eq!(records[0].error_type(), "String");
    assert_eq!(records[0].message(), "quota exceeded");
    assert_eq!(records[1].error_type(), "str");
    assert_eq!(records[1].code(), None);
    assert_eq!(collector.statistics()["String"], 1);
}

// ---------------------------------------------------------------------------------------
// History and statistics

#[test]
fn the_history_keeps_exactly_the_newest_max_errors_in_order() {
    let (collector, clock) = manual(3);
    for n in 0..10 {
        clock.advance(Duration::from_secs(1));
        collector.collect(
            &McpStoreError::service_not_found(format!("s{n}")),
            Value::Null,
        );
        assert_eq!(collector.len(), (n + 1).min(3));
    }
    assert_eq!(
        messages(&collector),
        [
            "Service 's7' not found",
            "Service 's8' not found",
            "Service 's9' not found"
        ]
    );
    assert_eq!(collector.max_errors(), 3);
}

#[test]
fn statistics_are_cumulative_and_eviction_does_not_lower_them() {
    let (collector, _) = manual(2);
    for _ in 0..5 {
        collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    }
    collector.collect(&std::fmt::Error, Value::Null);
    let statistics = collector.statistics();
    assert_eq!(statistics["ServiceNotFoundError"], 5);
    assert_eq!(statistics["Error"], 1);
    assert_eq!(collector.len(), 2);
}

#[test]
fn a_collector_without_history_still_counts() {
    let (collector, _) = manual(0);
    collector.collect(&std::fmt::Error, Value::Null);
    assert!(collector.is_empty());
    assert!(collector.records().is_empty());
    assert_eq!(collector.statistics()["Error"], 1);
}

#[test]
fn four_threads_of_25_000_collects_give_exact_statistics() {
    let collector = ErrorCollector::new(1000);
    let start = Barrier::new(4);
    thread::scope(|scope| {
        for t in 0..4 {
            let (collector, start) = (&collector, &start);
            scope.spawn(move || {
                let not_found = McpStoreError::service_not_found(format!("t{t}"));
                let timeout = McpStoreError::service_timeout("fs", Duration::from_secs(1));
                start.wait();
                for n in 0..25_000 {
                    if n % 5 == 0 {
                        collector.collect(&timeout, Value::Null);
                    } else if n % 5 == 1 {
                        collector.collect(&std::fmt::Error, Value::Null);
                    } else {
                        collector.collect(&not_found, json!({"n": n}));
                    }
                }
            });
        }
    });
    // The threads have ended: their shards were merged into the collector.
    let statistics = collector.statistics();
    assert_eq!(statistics["ServiceTimeoutError"], 4 * 5_000);
    assert_eq!(statistics["Error"], 4 * 5_000);
    assert_eq!(statistics["ServiceNotFoundError"], 4 * 15_000);
    assert_eq!(statistics.values().sum::<u64>(), 100_000);
    let records = collector.records();
    assert_eq!(records.len(), 1000);
    assert!(
        records
            .windows(2)
            .all(|w| w[0].timestamp() <= w[1].timestamp())
    );
}

#[test]
fn statistics_are_exact_while_threads_are_still_running() {
    let collector = ErrorCollector::new(100);
    let counted = Barrier::new(4);
    let read = Barrier::new(4);
    thread::scope(|scope| {
        for _ in 0..3 {
            let (collector, counted, read) = (&collector, &counted, &read);
            scope.spawn(move || {
                for _ in 0..1_000 {
                    collector.collect(&McpStoreError::connection("refused"), Value::Null);
                }
                counted.wait();
                read.wait();
            });
        }
        counted.wait();
        assert_eq!(collector.statistics()["ConnectionError"], 3_000);
        assert_eq!(collector.len(), 100);
        read.wait();
    });
}

#[test]
fn the_newest_errors_are_chosen_across_threads_by_time() {
    let (collector, clock) = manual(6);
    let written = Barrier::new(2);
    let read = Barrier::new(2);
    let while_alive = thread::scope(|scope| {
        let (collector, clock, written, read) = (&collector, &clock, &written, &read);
        scope.spawn(move || {
            for n in 1..=5 {
                clock.advance(Duration::from_secs(1));
                collector.collect(
                    &McpStoreError::service_not_found(format!("a{n}")),
                    Value::Null,
                );
            }
            written.wait();
            read.wait();
        });
        written.wait();
        for n in 1..=5 {
            clock.advance(Duration::from_secs(1));
            collector.collect(
                &McpStoreError::service_not_found(format!("b{n}")),
                Value::Null,
            );
        }
        // The other thread is alive: its shard is read as it is. (Asserted once it has
        // ended, so that a failure does not leave it waiting.)
        let while_alive = messages(collector);
        read.wait();
        while_alive
    });
    let expected =
        ["a5", "b1", "b2", "b3", "b4", "b5"].map(|name| format!("Service '{name}' not found"));
    assert_eq!(while_alive, expected);
    // The other thread has ended: what it left is merged, the choice is the same.
    assert_eq!(messages(&collector), expected);
    assert_eq!(collector.statistics()["ServiceNotFoundError"], 10);
}

#[test]
fn many_short_lived_threads_keep_the_history_bounded_and_the_counts_exact() {
    let collector = ErrorCollector::new(50);
    for _ in 0..40 {
        let collector = collector.clone();
        thread::spawn(move || {
            for _ in 0..20 {
                collector.collect(&std::fmt::Error, Value::Null);
            }
        })
        .join()
        .unwrap();
    }
    assert_eq!(collector.statistics()["Error"], 800);
    assert_eq!(collector.len(), 50);
    assert_eq!(collector.records().len(), 50);
}

// With `metrics`, each collect builds its counter's labels, which allocates.
#[cfg(not(feature = "metrics"))]
#[test]
fn collecting_into_a_full_history_allocates_nothing() {
    let (collector, _) = manual(1000);
    let error = McpStoreError::service_not_found("fs");
    // Fill the history (its ring grows to its final size) and warm up the thread's shard.
    for _ in 0..2_000 {
        collector.collect(&error, Value::Null);
    }
    let ((), allocations) = mcpstore_errors_tests::allocations_during(|| {
        for _ in 0..100_000 {
            collector.collect(&error, Value::Null);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(collector.len(), 1000);
    assert_eq!(collector.statistics()["ServiceNotFoundError"], 102_000);
}

#[test]
fn clear_empties_history_and_trends_but_keeps_statistics_and_reset_empties_all() {
    let (collector, _) = manual(10);
    for _ in 0..3 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    collector.clear();
    assert!(collector.is_empty());
    assert!(collector.trend("Error").is_empty());
    assert_eq!(collector.statistics()["Error"], 3);
    collector.collect(&std::fmt::Error, Value::Null);
    assert_eq!(collector.len(), 1);
    assert_eq!(collector.statistics()["Error"], 4);
    collector.reset();
    assert!(collector.is_empty());
    assert!(collector.statistics().is_empty());
    collector.collect(&std::fmt::Error, Value::Null);
    assert_eq!(collector.statistics()["Error"], 1);
}

#[test]
fn trends_keep_the_newest_timestamps_of_each_type() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .trend_length(3)
        .alert_threshold(1_000)
        .clock(clock.clone())
        .build();
    for _ in 0..5 {
        clock.advance(Duration::from_secs(1));
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
    }
    collector.collect(&std::fmt::Error, Value::Null);
    let seconds = |s| start() + Duration::from_secs(s);
    assert_eq!(
        collector.trend("ConnectionError"),
        [seconds(3), seconds(4), seconds(5)]
    );
    assert_eq!(collector.trend("Error"), [seconds(5)]);
    assert!(collector.trend("ToolNotFoundError").is_empty());
}

// ---------------------------------------------------------------------------------------
// The rate alert

#[test]
fn the_alert_fires_on_the_eleventh_error_and_not_again_in_the_same_burst() {
    let (collector, clock) = manual(100);
    let alerts = alerts_of(&collector);
    for n in 1..=10 {
        clock.advance(Duration::from_secs(1));
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
        assert!(alerts.lock().unwrap().is_empty(), "no alert after {n}");
    }
    clock.advance(Duration::from_secs(1));
    collector.collect(&McpStoreError::connection("refused"), Value::Null);
    {
        let alerts = alerts.lock().unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].error_type, "ConnectionError");
        assert_eq!(alerts[0].count, 11);
        assert_eq!(alerts[0].threshold, 10);
        assert_eq!(alerts[0].window, Duration::from_secs(300));
        assert_eq!(alerts[0].at, start() + Duration::from_secs(11));
    }
    for _ in 0..50 {
        clock.advance(Duration::from_secs(1));
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
    }
    assert_eq!(alerts.lock().unwrap().len(), 1);
}

#[test]
fn the_alert_counts_one_type_only_and_only_within_the_window() {
    let (collector, clock) = manual(100);
    let alerts = alerts_of(&collector);
    // Ten of one type and ten of another: neither exceeds ten.
    for _ in 0..10 {
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
        collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    }
    // The eleventh comes exactly five minutes after the first ten: they are out of the window.
    clock.advance(Duration::from_secs(300));
    collector.collect(&McpStoreError::connection("refused"), Value::Null);
    assert!(alerts.lock().unwrap().is_empty());
}

#[test]
fn the_alert_re_arms_when_the_rate_drops_back() {
    let (collector, clock) = manual(100);
    let alerts = alerts_of(&collector);
    for _ in 0..11 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    assert_eq!(alerts.lock().unwrap().len(), 1);
    // Quiet for the whole window: the next error finds the rate back at one.
    clock.advance(Duration::from_secs(301));
    collector.collect(&std::fmt::Error, Value::Null);
    assert_eq!(alerts.lock().unwrap().len(), 1);
    for _ in 0..9 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    assert_eq!(alerts.lock().unwrap().len(), 1);
    collector.collect(&std::fmt::Error, Value::Null);
    let alerts = alerts.lock().unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[1].count, 11);
}

/// A source error whose drop hands control to another thread and waits for it to finish.
#[derive(Debug)]
struct HandOverOnDrop {
    dropping: std::sync::mpsc::SyncSender<()>,
    resume: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl fmt::Display for HandOverOnDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hands over on drop")
    }
}

impl StdError for HandOverOnDrop {}

impl Drop for HandOverOnDrop {
    fn drop(&mut self) {
        let _ = self.dropping.send(());
        let _ = self.resume.lock().unwrap().recv();
    }
}

#[test]
fn a_burst_collected_while_clear_or_reset_runs_alerts_once() {
    for empty in [ErrorCollector::clear, ErrorCollector::reset] {
        let clock = Arc::new(ManualClock::starting_at(start()));
        let collector = ErrorCollector::builder()
            .max_errors(100)
            .alert_threshold(1)
            .clock(clock.clone())
            .build();
        let alerts = alerts_of(&collector);
        let (dropping, dropped) = std::sync::mpsc::sync_channel(1);
        let (resumed, resume) = std::sync::mpsc::sync_channel(1);
        let resume = Mutex::new(resume);
        let error = McpStoreError::tool_execution_failed("t", "boom", None)
            .with_source(HandOverOnDrop { dropping, resume });
        collector.collect(&error, Value::Null);
        drop(error); // the history holds the last handle: emptying it drops the source
        thread::scope(|scope| {
            let collector = &collector;
            scope.spawn(move || {
                // Inside clear or reset: a new burst starts, and alerts.
                dropped.recv().unwrap();
                collector.collect(&McpStoreError::connection("refused"), Value::Null);
                collector.collect(&McpStoreError::connection("refused"), Value::Null);
                resumed.send(()).unwrap();
            });
            empty(collector);
        });
        assert_eq!(alerts.lock().unwrap().len(), 1, "the new burst alerted");
        // The same burst goes on: no second alert.
        clock.advance(Duration::from_secs(1));
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
        let alerts = alerts.lock().unwrap();
        assert_eq!(alerts.len(), 1, "one burst alerted twice: {alerts:#?}");
    }
}

#[test]
fn the_alert_threshold_and_window_are_configurable() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .alert_threshold(2)
        .alert_window(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let alerts = alerts_of(&collector);
    collector.collect(&std::fmt::Error, Value::Null);
    clock.advance(Duration::from_secs(10));
    collector.collect(&std::fmt::Error, Value::Null);
    collector.collect(&std::fmt::Error, Value::Null);
    assert!(
        alerts.lock().unwrap().is_empty(),
        "the first fell out of the window"
    );
    collector.collect(&std::fmt::Error, Value::Null);
    let alerts = alerts.lock().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].count, alerts[0].threshold), (3, 2));
    assert_eq!(alerts[0].window, Duration::from_secs(10));
}

#[test]
fn a_burst_spread_over_threads_fires_once() {
    let (collector, _) = manual(100);
    let alerts = alerts_of(&collector);
    let done = Barrier::new(2);
    let checked = Barrier::new(2);
    let after_eleven = thread::scope(|scope| {
        let (collector, done, checked) = (&collector, &done, &checked);
        scope.spawn(move || {
            for _ in 0..6 {
                collector.collect(&McpStoreError::connection("refused"), Value::Null);
            }
            done.wait();
            checked.wait();
        });
        done.wait();
        for _ in 0..5 {
            collector.collect(&McpStoreError::connection("refused"), Value::Null);
        }
        // Asserted after the scope, so that a failure does not leave the other thread waiting.
        let after_eleven = alerts.lock().unwrap().len();
        for _ in 0..20 {
            collector.collect(&McpStoreError::connection("refused"), Value::Null);
        }
        checked.wait();
        after_eleven
    });
    assert_eq!(after_eleven, 1, "6 + 5 errors exceed 10");
    assert_eq!(alerts.lock().unwrap().len(), 1);
    assert_eq!(alerts.lock().unwrap()[0].count, 11);
}

#[test]
fn a_concurrent_burst_fires_exactly_once() {
    let collector = ErrorCollector::new(100);
    let alerts = alerts_of(&collector);
    thread::scope(|scope| {
        for _ in 0..4 {
            let collector = &collector;
            scope.spawn(move || {
                for _ in 0..2_000 {
                    collector.collect(&McpStoreError::connection("refused"), Value::Null);
                }
            });
        }
    });
    assert_eq!(alerts.lock().unwrap().len(), 1);
}

#[test]
fn the_alert_is_also_a_tracing_warning() {
    let (collector, _) = manual(100);
    let events = collector_events(|| {
        for _ in 0..11 {
            collector.collect(&McpStoreError::connection("refused"), Value::Null);
        }
    });
    let alerts: Vec<_> = events
        .iter()
        .filter(|event| event.level == tracing::Level::WARN)
        .collect();
    assert_eq!(alerts.len(), 1, "{events:?}");
    assert_eq!(alerts[0].field("error_type"), Some("ConnectionError"));
    assert_eq!(alerts[0].field("count"), Some("11"));
    assert!(
        alerts[0]
            .field("message")
            .unwrap()
            .contains("error rate too high")
    );
}

#[test]
fn a_panicking_callback_is_reported_and_the_collector_keeps_working() {
    let (collector, clock) = manual(100);
    collector.on_alert(|_| panic!("callback failure"));
    let alerts = alerts_of(&collector);
    let events = collector_events(|| {
        for _ in 0..11 {
            collector.collect(&std::fmt::Error, Value::Null);
        }
    });
    let panics: Vec<_> = events
        .iter()
        .filter(|event| event.level == tracing::Level::ERROR)
        .collect();
    assert_eq!(panics.len(), 1, "{events:?}");
    assert_eq!(panics[0].field("panic"), Some("callback failure"));
    // The callback after the panicking one still ran.
    assert_eq!(alerts.lock().unwrap().len(), 1);
    // No lock is poisoned: everything still works, and a later burst alerts again.
    assert_eq!(collector.statistics()["Error"], 11);
    assert_eq!(collector.summary(Duration::from_secs(60)).total_errors, 11);
    clock.advance(Duration::from_secs(400));
    for _ in 0..11 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    assert_eq!(alerts.lock().unwrap().len(), 2);
    assert_eq!(collector.len(), 22);
}

#[test]
fn a_callback_may_collect_into_the_same_collector() {
    let (collector, _) = manual(100);
    let handle = collector.clone();
    collector.on_alert(move |alert| {
        handle.collect_display(&format!("alert for {}", alert.error_type), Value::Null);
    });
    for _ in 0..11 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    assert_eq!(collector.statistics()["String"], 1);
    assert_eq!(collector.len(), 12);
}

// ---------------------------------------------------------------------------------------
// Summary

#[test]
fn the_summary_counts_the_window_by_type_code_and_utc_hour() {
    let (collector, clock) = manual(100);
    // 22:13:20 UTC: an old error two hours back, then errors at 22:13 and 23:00.
    clock.set_system_time(start() - Duration::from_secs(2 * 3600));
    collector.collect(&McpStoreError::service_not_found("old"), Value::Null);
    clock.set_system_time(start());
    collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    collector.collect(&std::fmt::Error, Value::Null);
    clock.set_system_time(start() + Duration::from_secs(47 * 60));
    collector.collect(&McpStoreError::tool_not_found("read", None), Value::Null);

    let summary = collector.summary(Duration::from_secs(3600));
    assert_eq!(summary.total_errors, 3);
    assert_eq!(summary.error_types.len(), 3);
    assert_eq!(summary.error_types["ServiceNotFoundError"], 1);
    assert_eq!(summary.error_types["Error"], 1);
    assert_eq!(summary.error_types["ToolNotFoundError"], 1);
    assert_eq!(summary.error_codes.len(), 2, "fmt::Error has no code");
    assert_eq!(summary.error_codes["SERVICE_NOT_FOUND"], 1);
    assert_eq!(summary.error_codes["TOOL_NOT_FOUND"], 1);
    assert_eq!(
        summary.hourly_distribution.iter().collect::<Vec<_>>(),
        [(&22, &2), (&23, &1)]
    );

    let day = collector.summary(Duration::from_secs(24 * 3600));
    assert_eq!(day.total_errors, 4);
    assert_eq!(day.error_types["ServiceNotFoundError"], 2);
    assert_eq!(day.hourly_distribution[&20], 1);
}

#[test]
fn the_summary_floors_times_before_the_epoch_into_their_hour() {
    // (milliseconds before 1970, the UTC hour of that time)
    for (before_ms, hour) in [
        (500, 23),
        (1_000, 23),
        (3_600_500, 22),
        (3_600_000, 23),
        (3_601_000, 22),
        (86_400_000, 0),
        (86_400_500, 23),
    ] {
        let clock = Arc::new(ManualClock::starting_at(
            UNIX_EPOCH - Duration::from_millis(before_ms),
        ));
        let collector = ErrorCollector::builder().clock(clock).build();
        collector.collect(&std::fmt::Error, Value::Null);
        let summary = collector.summary(Duration::from_secs(3600));
        let hours: Vec<u8> = summary.hourly_distribution.keys().copied().collect();
        assert_eq!(hours, [hour], "{before_ms} ms before the epoch");
    }
}

#[test]
fn the_summary_window_excludes_an_error_exactly_at_the_cutoff() {
    let (collector, clock) = manual(10);
    collector.collect(&std::fmt::Error, Value::Null);
    clock.advance(Duration::from_secs(60));
    assert_eq!(collector.summary(Duration::from_secs(60)).total_errors, 0);
    assert_eq!(collector.summary(Duration::from_secs(61)).total_errors, 1);
}

#[test]
fn the_summary_covers_only_the_history() {
    let (collector, _) = manual(5);
    for _ in 0..20 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    assert_eq!(collector.summary(Duration::from_secs(60)).total_errors, 5);
}

#[test]
fn the_summary_serializes_with_the_seed_keys() {
    let (collector, _) = manual(10);
    collector.collect(&McpStoreError::service_not_found("fs"), Value::Null);
    let value = serde_json::to_value(collector.summary(Duration::from_secs(60))).unwrap();
    assert_eq!(
        value,
        json!({
            "total_errors": 1,
            "error_types": {"ServiceNotFoundError": 1},
            "error_codes": {"SERVICE_NOT_FOUND": 1},
            "hourly_distribution": {"22": 1},
        })
    );
}

// ---------------------------------------------------------------------------------------
// Export

#[test]
fn the_export_is_the_seed_document() {
    let (collector, clock) = manual(10);
    clock.advance(Duration::from_micros(250_500));
    collector.collect(
        &McpStoreError::service_start_failed("文件服务", "端口被占用"),
        json!({"operation": "启动"}),
    );
    collector.collect(&std::io::Error::other("disk full"), Value::Null);
    let dir = scratch_dir("document");
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("端口被占用"), "UTF-8 kept as is: {text}");
    assert!(!text.contains("\\u"), "no escapes: {text}");
    assert!(text.starts_with("{\n  \"export_time\": "), "pretty: {text}");

    let document: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = document
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["errors", "export_time", "statistics", "total_errors"],
        "(serde_json sorts keys)"
    );
    assert_eq!(document["export_time"], "2023-11-14T22:13:20.250500+00:00");
    assert_eq!(document["total_errors"], 2);
    assert_eq!(
        document["statistics"],
        json!({"ServiceStartError": 1, "Error": 1})
    );
    assert_eq!(
        document["errors"][0],
        json!({
            "timestamp": 1_700_000_000.250_5,
            "datetime": "2023-11-14T22:13:20.250500+00:00",
            "error_type": "ServiceStartError",
            "error_message": "Failed to start service '文件服务': 端口被占用",
            "error_code": "SERVICE_START_FAILED",
            "details": {"service_name": "文件服务", "reason": "端口被占用"},
            "context": {"operation": "启动"},
        })
    );
    assert_eq!(document["errors"][1]["error_type"], "Error");
    assert_eq!(document["errors"][1]["error_code"], Value::Null);
    assert_eq!(document["errors"][1]["details"], json!({}));
    assert_eq!(document["errors"][1]["context"], json!({}));
    // The entry's keys come in the seed's order.
    let first = text.find("\"timestamp\"").unwrap();
    let order = [
        "\"datetime\"",
        "\"error_type\"",
        "\"error_message\"",
        "\"error_code\"",
        "\"details\"",
        "\"context\"",
    ];
    let mut last = first;
    for key in order {
        let at = text[last..].find(key).unwrap() + last;
        assert!(at > last, "{key} after the previous key");
        last = at;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_statistics_are_cumulative_while_errors_are_the_history() {
    let (collector, _) = manual(2);
    for _ in 0..5 {
        collector.collect(&std::fmt::Error, Value::Null);
    }
    let dir = scratch_dir("cumulative");
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let document = read_json(&path);
    assert_eq!(document["total_errors"], 2);
    assert_eq!(document["errors"].as_array().unwrap().len(), 2);
    assert_eq!(document["statistics"]["Error"], 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_export_replaces_the_earlier_file_and_leaves_no_temporary_file() {
    let (collector, _) = manual(10);
    let dir = scratch_dir("replace");
    let path = dir.join("errors.json");
    collector.collect(&std::fmt::Error, Value::Null);
    collector.export(&path).unwrap();
    collector.collect(&std::fmt::Error, Value::Null);
    collector.export(&path).unwrap();
    assert_eq!(read_json(&path)["total_errors"], 2);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["errors.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_export_to_an_unwritable_path_is_an_error_naming_the_path() {
    let (collector, _) = manual(10);
    collector.collect(&std::fmt::Error, Value::Null);
    let dir = scratch_dir("unwritable");
    let path = dir.join("no such folder").join("errors.json");
    let error = collector.export(&path).unwrap_err();
    let shown = path.display().to_string();
    assert!(error.message().contains(&shown), "{error}");
    assert_eq!(error.details()["path"], shown.as_str());
    assert_eq!(error.kind(), ErrorKind::Configuration);
    let io = error
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);

    // A folder where the file should be: the rename fails, and nothing is left behind.
    let taken = dir.join("taken");
    std::fs::create_dir_all(taken.join("inside")).unwrap();
    let error = collector.export(&taken).unwrap_err();
    assert!(
        error.message().contains(&taken.display().to_string()),
        "{error}"
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["taken"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_default_names_the_file_after_the_time() {
    let (collector, _) = manual(10);
    collector.collect(&std::fmt::Error, Value::Null);
    let dir = scratch_dir("default");
    let path = collector.export_default(&dir).unwrap();
    assert_eq!(path, dir.join("errors_20231114_221320.json"));
    assert_eq!(read_json(&path)["total_errors"], 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reader_never_sees_a_partial_export() {
    let (collector, _) = manual(5_000);
    for n in 0..5_000 {
        collector.collect(
            &McpStoreError::service_not_found(format!("s{n}")),
            Value::Null,
        );
    }
    let dir = scratch_dir("readers");
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).unwrap();
                let document: Value = serde_json::from_str(&text).expect("a whole document");
                assert_eq!(document["total_errors"], 5_000);
                reads.fetch_add(1, Ordering::Relaxed);
            }
        });
        for _ in 0..10 {
            collector.export(&path).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(reads.load(Ordering::Relaxed) > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// The global collector and the clock

#[test]
fn the_global_collector_is_one_and_cannot_be_reconfigured_after_use() {
    let first = global_collector();
    assert!(std::ptr::eq(first, global_collector()));
    assert_eq!(first.max_errors(), 1000);
    let before = first
        .statistics()
        .get("ServiceNotFoundError")
        .copied()
        .unwrap_or(0);
    first.collect(&McpStoreError::service_not_found("global"), Value::Null);
    assert_eq!(
        global_collector().statistics()["ServiceNotFoundError"],
        before + 1
    );
    let error = ErrorCollector::builder()
        .max_errors(5)
        .install_global()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert_eq!(global_collector().max_errors(), 1000);
}

#[test]
fn the_manual_clock_moves_only_when_told() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    assert_eq!(clock.system_time(), start());
    clock.advance(Duration::from_secs(5));
    assert_eq!(clock.system_time(), start() + Duration::from_secs(5));
    clock.set_system_time(start());
    assert_eq!(clock.system_time(), start());
}

// With `metrics`, each collect builds its counter's labels, which allocates.
#[cfg(not(feature = "metrics"))]
#[test]
fn a_threshold_of_usize_max_turns_the_alert_off_and_keeps_memory_flat() {
    let collector = ErrorCollector::builder()
        .max_errors(100)
        .alert_threshold(usize::MAX)
        .build();
    let alerts = alerts_of(&collector);
    let error = McpStoreError::connection("refused");
    for _ in 0..1_000 {
        collector.collect(&error, Value::Null);
    }
    // Every per-type trend is already at its length: nothing grows any more.
    let ((), allocations) = mcpstore_errors_tests::allocations_during(|| {
        for _ in 0..50_000 {
            collector.collect(&error, Value::Null);
        }
    });
    assert_eq!(allocations, 0);
    assert!(alerts.lock().unwrap().is_empty());
    assert_eq!(collector.statistics()["ConnectionError"], 51_000);
}

#[test]
fn a_dropped_collector_lets_go_at_once_of_what_this_threads_shards_held() {
    let context = Arc::new(json!({"operation": "list_tools", "service": "fs", "attempt": 3}));
    let collectors: Vec<ErrorCollector> = (0..10).map(|_| ErrorCollector::new(1_000)).collect();
    for collector in &collectors {
        for i in 0..100 {
            collector.collect(&McpStoreError::connection(format!("refused {i}")), &context);
        }
    }
    assert_eq!(
        Arc::strong_count(&context),
        1 + 10 * 100,
        "records share the context"
    );
    // A handle still held keeps its collector's records; the others go with theirs, though
    // this thread goes on and collects into no new collector.
    let kept = collectors[0].clone();
    drop(collectors);
    assert_eq!(Arc::strong_count(&context), 1 + 100);
    assert_eq!(kept.records().len(), 100);
    drop(kept);
    assert_eq!(Arc::strong_count(&context), 1);
}

#[test]
fn a_dropped_collector_lets_go_of_what_a_live_threads_shard_held() {
    let context = Arc::new(json!({"operation": "read_file", "service": "files"}));
    let collector = ErrorCollector::new(1_000);
    let (collected, dropped) = (Barrier::new(2), Barrier::new(2));
    thread::scope(|scope| {
        let theirs = collector.clone();
        let (context, collected, dropped) = (&context, &collected, &dropped);
        scope.spawn(move || {
            let collector = theirs;
            for _ in 0..100 {
                collector.collect(&McpStoreError::connection("refused"), context);
            }
            drop(collector);
            collected.wait();
            // Alive, holding its shard, until the collector is gone.
            dropped.wait();
        });
        collected.wait();
        let before = Arc::strong_count(context);
        drop(collector);
        let after = Arc::strong_count(context);
        // Asserted once the thread may end, so that a failure cannot leave it waiting.
        dropped.wait();
        assert_eq!((before, after), (101, 1));
    });
}

/// The clock steps back under a thread whose shard did not see the step: the other shard's
/// count, published at a later time, undercounts the window now, so the burst must be
/// counted exactly.
#[test]
fn a_burst_after_the_clock_steps_back_alerts_on_a_thread_that_did_not_see_the_step() {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let clock = Arc::new(ManualClock::starting_at(start));
    let collector = ErrorCollector::builder()
        .alert_threshold(3)
        .alert_window(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let alerts = Arc::new(AtomicUsize::new(0));
    let seen = alerts.clone();
    collector.on_alert(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    // Another thread: three errors at t, one at t + 20 s (its shard then publishes 1).
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..3 {
                collector.collect(&std::fmt::Error, serde_json::Value::Null);
            }
            clock.advance(Duration::from_secs(20));
            collector.collect(&std::fmt::Error, serde_json::Value::Null);
        });
    });
    assert_eq!(
        alerts.load(Ordering::SeqCst),
        0,
        "never more than 3 in 10 s so far"
    );
    // Set back to t + 1 s: the three at t, the later one and this one are in the window.
    clock.set_system_time(start + Duration::from_secs(1));
    collector.collect(&std::fmt::Error, serde_json::Value::Null);
    assert_eq!(alerts.load(Ordering::SeqCst), 1);
}

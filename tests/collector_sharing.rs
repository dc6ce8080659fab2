//! The collector keeps contexts shared, counts its alert without locking other threads out,
//! and survives a clock that steps back.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcpstore_errors::__private;
use mcpstore_errors::{Context, ErrorCollector, ManualClock, McpStoreError, RateAlert};
use serde_json::{Value, json};

/// 2023-11-14T22:13:20Z.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn alerts_of(collector: &ErrorCollector) -> Arc<Mutex<Vec<RateAlert>>> {
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&alerts);
    collector.on_alert(move |alert| sink.lock().unwrap().push(alert.clone()));
    alerts
}

fn export_document(collector: &ErrorCollector, name: &str) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "mcpstore-collector-sharing-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("errors.json");
    collector.export(&path).unwrap();
    let document = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    document
}

// ---------------------------------------------------------------------------------------
// Shared contexts

#[test]
fn a_shared_context_is_kept_by_pointer_in_the_history_and_in_copies_of_it() {
    let collector = ErrorCollector::new(100);
    let context = Arc::new(json!({"operation": "list_tools", "server": "fs"}));
    for _ in 0..10 {
        collector.collect(&McpStoreError::connection("refused"), &context);
    }
    assert_eq!(Arc::strong_count(&context), 11, "one pointer per record");
    let records = collector.records();
    assert_eq!(
        Arc::strong_count(&context),
        21,
        "a copy of the history copies pointers"
    );
    for record in &records {
        assert!(std::ptr::eq(record.context(), &*context));
    }
    drop(records);
    collector.clear();
    assert_eq!(
        Arc::strong_count(&context),
        1,
        "nothing keeps the context after clear"
    );
}

#[test]
fn a_static_context_is_not_copied() {
    static CONTEXT: LazyLock<Value> = LazyLock::new(|| json!({"operation": "start"}));
    let collector = ErrorCollector::new(10);
    collector.collect(&McpStoreError::connection("refused"), &*CONTEXT);
    collector.collect_display("text", Context::from_static(&CONTEXT));
    for record in collector.records() {
        assert!(std::ptr::eq(record.context(), &*CONTEXT));
    }
}

#[test]
fn plain_json_contexts_still_work_and_null_exports_as_an_empty_object() {
    let collector = ErrorCollector::new(10);
    collector.collect(&McpStoreError::connection("refused"), json!({"a": 1}));
    collector.collect(&McpStoreError::connection("refused"), Value::Null);
    let records = collector.records();
    assert_eq!(records[0].context(), &json!({"a": 1}));
    assert_eq!(records[1].context(), &Value::Null);
    let document = export_document(&collector, "plain");
    assert_eq!(document["errors"][0]["context"], json!({"a": 1}));
    assert_eq!(document["errors"][1]["context"], json!({}));
}

#[test]
fn the_function_name_is_kept_apart_and_shown_in_the_context_and_the_export() {
    let collector = ErrorCollector::new(10);
    let shared = Context::from(Arc::new(json!({"operation": "x", "zone": 1})));
    let error = McpStoreError::connection("refused");
    // As `#[collect_errors]` records: through `Collected`, picked by autoref.
    let record = |error: &McpStoreError, context: Context| {
        use __private::CollectError as _;
        (&__private::Collected(error)).__mcpstore_collect_into(&collector, "connect", context);
    };
    record(&error, shared.clone());
    record(&error, Context::null());
    record(&error, Context::from(json!(["a"])));
    record(&error, Context::from(json!({"function": "mine"})));
    {
        use __private::CollectDisplay as _;
        __private::Collected("text").__mcpstore_collect_into(&collector, "format", shared.clone());
    }
    let expected = [
        json!({"operation": "x", "zone": 1, "function": "connect"}),
        json!({"function": "connect"}),
        json!({"context": ["a"], "function": "connect"}),
        json!({"function": "mine"}),
        json!({"operation": "x", "zone": 1, "function": "format"}),
    ];
    let records = collector.records();
    let contexts: Vec<&Value> = records.iter().map(|r| r.context()).collect();
    assert_eq!(contexts, expected.iter().collect::<Vec<_>>());
    assert_eq!(records[0].function(), Some("connect"));
    assert_eq!(records[4].function(), Some("format"));

    let document = export_document(&collector, "function");
    let exported: Vec<&Value> = document["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["context"])
        .collect();
    assert_eq!(exported, expected.iter().collect::<Vec<_>>());
}

#[test]
fn a_context_shared_by_the_attribute_entry_point_is_not_rebuilt_per_call() {
    let collector = ErrorCollector::new(100);
    let value = Arc::new(json!({"operation": "x"}));
    let shared = Context::from(&value);
    for _ in 0..50 {
        use __private::CollectError as _;
        (&__private::Collected(&McpStoreError::connection("refused"))).__mcpstore_collect_into(
            &collector,
            "f",
            shared.clone(),
        );
    }
    // The records hold the caller's value itself, not copies of it.
    assert_eq!(Arc::strong_count(&value), 52);
}

// ---------------------------------------------------------------------------------------
// The alert

#[test]
fn a_clock_stepped_back_does_not_fire_a_second_alert_within_one_burst() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .alert_threshold(3)
        .alert_window(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let alerts = alerts_of(&collector);
    for _ in 0..4 {
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
    }
    assert_eq!(alerts.lock().unwrap().len(), 1);
    // The wall clock steps back 100 s. The four errors now lie ahead of the clock and count
    // as within the window until the clock passes them: the burst goes on.
    clock.set_system_time(start() - Duration::from_secs(100));
    for _ in 0..4 {
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
        clock.advance(Duration::from_secs(4));
    }
    for _ in 0..5 {
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(
        alerts.lock().unwrap().len(),
        1,
        "{:?}",
        alerts.lock().unwrap()
    );
}

#[test]
fn a_burst_across_a_clock_stepped_back_on_two_threads_fires_once() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .alert_threshold(3)
        .alert_window(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let alerts = alerts_of(&collector);
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                for _ in 0..3 {
                    collector.collect(&McpStoreError::connection("refused"), Value::Null);
                }
            })
            .join()
            .unwrap();
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
        assert_eq!(alerts.lock().unwrap().len(), 1, "3 + 1 errors exceed 3");
        clock.set_system_time(start() - Duration::from_secs(100));
        for _ in 0..8 {
            collector.collect(&McpStoreError::connection("refused"), Value::Null);
            clock.advance(Duration::from_secs(4));
        }
    });
    assert_eq!(alerts.lock().unwrap().len(), 1);
}

#[test]
fn a_zero_alert_window_turns_the_alert_off() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .alert_threshold(1)
        .alert_window(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let alerts = alerts_of(&collector);
    // A thousand errors at one instant, even with the clock stepping back between them.
    for n in 0..1000 {
        if n % 100 == 0 {
            clock.set_system_time(start() - Duration::from_secs(n));
        }
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
    }
    assert!(alerts.lock().unwrap().is_empty());
    assert_eq!(collector.statistics()["ConnectionError"], 1000);
}

#[test]
fn errors_outside_a_burst_on_many_threads_never_alert_and_a_later_burst_does() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .alert_threshold(10)
        .alert_window(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let alerts = alerts_of(&collector);
    // Four threads, two errors each, then the window passes: never more than 8 within it.
    for _ in 0..5 {
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..2 {
                        collector.collect(&McpStoreError::connection("refused"), Value::Null);
                    }
                });
            }
        });
        clock.advance(Duration::from_secs(10));
    }
    assert!(alerts.lock().unwrap().is_empty());
    // The threads that made the counts are gone; eleven more on this thread are a burst.
    for _ in 0..11 {
        collector.collect(&McpStoreError::connection("refused"), Value::Null);
    }
    let alerts = alerts.lock().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].count, 11);
}

#[test]
fn clear_and_reset_forget_the_window_counts() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .alert_threshold(10)
        .clock(clock.clone())
        .build();
    let alerts = alerts_of(&collector);
    for reset in [false, true] {
        for _ in 0..10 {
            collector.collect(&McpStoreError::connection("refused"), Value::Null);
        }
        if reset {
            collector.reset();
        } else {
            collector.clear();
        }
        // Ten more would make twenty in the window had the first ten been kept.
        for _ in 0..10 {
            collector.collect(&McpStoreError::connection("refused"), Value::Null);
        }
        assert!(alerts.lock().unwrap().is_empty());
        collector.clear();
    }
}

// ---------------------------------------------------------------------------------------
// The summary

#[test]
fn the_summary_counts_exactly_the_history_when_threads_hold_more_than_it_keeps() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .max_errors(12)
        .clock(clock.clone())
        .build();
    let errors = [
        McpStoreError::connection("refused"),
        McpStoreError::service_not_found("fs"),
        McpStoreError::configuration("bad"),
    ];
    let turn = Mutex::new(());
    let (done, checked) = (std::sync::Barrier::new(4), std::sync::Barrier::new(4));
    let (summary, records) = std::thread::scope(|scope| {
        for error in &errors {
            let (collector, clock, turn) = (&collector, &clock, &turn);
            let (done, checked) = (&done, &checked);
            scope.spawn(move || {
                // Each thread's shard holds ten, 30 in all: the history is the newest 12.
                for _ in 0..10 {
                    let _turn = turn.lock().unwrap();
                    clock.advance(Duration::from_secs(1));
                    collector.collect(error, Value::Null);
                }
                // Stay alive while the main thread reads, so the shards are read as three.
                done.wait();
                checked.wait();
            });
        }
        done.wait();
        let read = (
            collector.summary(Duration::from_secs(3600)),
            collector.records(),
        );
        // Asserted after the scope, so that a failure does not leave the threads waiting.
        checked.wait();
        read
    });
    assert_eq!(records.len(), 12);
    assert_eq!(summary.total_errors, 12);
    let mut by_type = std::collections::BTreeMap::new();
    for record in &records {
        *by_type.entry(record.error_type().to_owned()).or_default() += 1;
    }
    assert_eq!(summary.error_types, by_type);
    assert_eq!(summary.error_codes.values().sum::<usize>(), 12);
}

// ---------------------------------------------------------------------------------------
// Errors collected again and again

/// A small deterministic generator, so that the sequence is the same on every run.
fn next(state: &mut u64) -> usize {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 33) as usize
}

#[test]
fn repeated_and_fresh_error_values_come_back_as_collected() {
    // 200 values, more than a shard holds once for many, so some are held per entry.
    let errors: Vec<McpStoreError> = (0..200)
        .map(|i| McpStoreError::service_not_found(format!("s{i}")).with_detail("i", i))
        .collect();
    let collector = ErrorCollector::new(50);
    let mut model = std::collections::VecDeque::new();
    let mut state = 7;
    for round in 0..5000 {
        let pick = next(&mut state) % 240;
        if pick < 200 {
            collector.collect(&errors[pick], Value::Null);
            model.push_back(format!("Service 's{pick}' not found"));
        } else {
            collector.collect(
                &McpStoreError::connection(format!("fresh {round}")),
                Value::Null,
            );
            model.push_back(format!("fresh {round}"));
        }
        if model.len() > 50 {
            model.pop_front();
        }
        if round % 97 == 0 {
            let records = collector.records();
            let messages: Vec<&str> = records.iter().map(|r| r.message()).collect();
            assert_eq!(
                messages,
                model.iter().map(String::as_str).collect::<Vec<_>>()
            );
            for record in &records {
                if let Some(i) = record.details().and_then(|d| d.get("i")) {
                    let i = usize::try_from(i.as_u64().unwrap()).unwrap();
                    assert_eq!(record.message(), errors[i].message());
                }
            }
        }
    }
}

#[test]
fn copies_taken_while_other_threads_collect_pair_each_error_with_its_own_context() {
    // More values than a shard's table holds: its slots change hands while copies are taken.
    let errors: Vec<McpStoreError> = (0..200)
        .map(|i| McpStoreError::service_not_found(format!("s{i}")))
        .collect();
    let collector = ErrorCollector::new(500);
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Stops the collecting threads however the check ends, a failed assertion included.
    struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        for seed in [3, 11] {
            let (collector, errors, stop) = (&collector, &errors, &stop);
            scope.spawn(move || {
                let mut state = seed;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let pick = next(&mut state) % errors.len();
                    collector.collect(&errors[pick], json!({ "i": pick }));
                }
            });
        }
        let _stop = Stop(&stop);
        // On a loaded machine the collecting threads may not have run yet.
        while collector.records().is_empty() {
            std::thread::yield_now();
        }
        for _ in 0..200 {
            for record in collector.records() {
                let i = record.context()["i"]
                    .as_u64()
                    .expect("every context has an index");
                assert_eq!(record.message(), errors[i as usize].message());
            }
        }
    });
}

#[test]
fn errors_held_by_a_thread_that_ended_come_back_as_collected() {
    let errors: Vec<McpStoreError> = (0..100)
        .map(|i| McpStoreError::service_not_found(format!("s{i}")))
        .collect();
    let collector = ErrorCollector::new(1000);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 0..300 {
                collector.collect(&errors[round % 100], Value::Null);
            }
        });
    });
    let records = collector.records();
    assert_eq!(records.len(), 300);
    for (round, record) in records.iter().enumerate() {
        assert_eq!(record.message(), errors[round % 100].message());
        assert_eq!(record.code(), Some("SERVICE_NOT_FOUND"));
    }
}

/// The messages of the history, oldest first.
fn messages(collector: &ErrorCollector) -> Vec<String> {
    collector
        .records()
        .iter()
        .map(|record| record.message().to_owned())
        .collect()
}

#[test]
fn the_history_does_not_change_when_a_thread_that_collected_at_the_same_time_ends() {
    // A frozen clock: every error has the same time, so only the tie order decides which
    // two the history keeps and in what order.
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .max_errors(2)
        .clock(clock.clone())
        .build();
    let (ended_tx, ended_rx) = std::sync::mpsc::channel::<()>();
    let (collected_tx, collected_rx) = std::sync::mpsc::channel::<()>();
    collector.collect(&McpStoreError::connection("main 1"), Value::Null);
    collector.collect(&McpStoreError::connection("main 2"), Value::Null);
    let worker = {
        let collector = collector.clone();
        std::thread::spawn(move || {
            collector.collect(&McpStoreError::connection("worker 1"), Value::Null);
            collector.collect(&McpStoreError::connection("worker 2"), Value::Null);
            collected_tx.send(()).unwrap();
            // Alive until the history has been read once.
            ended_rx.recv().unwrap();
        })
    };
    collected_rx.recv().unwrap();
    let while_alive = messages(&collector);
    assert_eq!(
        while_alive,
        ["worker 1", "worker 2"],
        "the later shard's ties are newer"
    );
    ended_tx.send(()).unwrap();
    // `join` returns once the thread has ended, its thread-locals dropped: its shard has been
    // merged into the retired one (a scoped thread's join may return before that).
    worker.join().unwrap();
    assert_eq!(messages(&collector), while_alive);

    // A later collect outranks what the merge kept.
    clock.advance(Duration::from_millis(1));
    collector.collect(&McpStoreError::connection("main 3"), Value::Null);
    assert_eq!(messages(&collector), ["worker 2", "main 3"]);
}

#[test]
fn the_tie_order_of_threads_survives_a_reset() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .max_errors(2)
        .clock(clock.clone())
        .build();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (end_tx, end_rx) = std::sync::mpsc::channel::<()>();
    collector.collect(&McpStoreError::connection("main 0"), Value::Null);
    let worker = {
        let collector = collector.clone();
        std::thread::spawn(move || {
            collector.collect(&McpStoreError::connection("worker 0"), Value::Null);
            done_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            collector.collect(&McpStoreError::connection("worker 1"), Value::Null);
            collector.collect(&McpStoreError::connection("worker 2"), Value::Null);
            done_tx.send(()).unwrap();
            end_rx.recv().unwrap();
        })
    };
    done_rx.recv().unwrap();
    collector.reset();
    collector.collect(&McpStoreError::connection("main 1"), Value::Null);
    collector.collect(&McpStoreError::connection("main 2"), Value::Null);
    go_tx.send(()).unwrap();
    done_rx.recv().unwrap();
    let while_alive = messages(&collector);
    assert_eq!(
        while_alive,
        ["worker 1", "worker 2"],
        "the later shard's ties are newer"
    );
    end_tx.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(messages(&collector), while_alive);
}

/// Collects into its collector when its thread's locals are dropped.
struct CollectsOnDrop(ErrorCollector);

impl Drop for CollectsOnDrop {
    fn drop(&mut self) {
        self.0
            .collect(&McpStoreError::connection("worker teardown"), Value::Null);
    }
}

thread_local! {
    static TEARDOWN: std::cell::RefCell<Option<CollectsOnDrop>> =
        const { std::cell::RefCell::new(None) };
}

#[test]
fn a_collect_during_a_threads_teardown_is_newer_than_its_earlier_ones() {
    let clock = Arc::new(ManualClock::starting_at(start()));
    let collector = ErrorCollector::builder()
        .max_errors(10)
        .clock(clock.clone())
        .build();
    let worker = {
        let collector = collector.clone();
        std::thread::spawn(move || {
            // Registered before the collector's own thread-local, so dropped after it: its
            // collect goes to the retired shard.
            TEARDOWN.with(|teardown| {
                *teardown.borrow_mut() = Some(CollectsOnDrop(collector.clone()));
            });
            collector.collect(&McpStoreError::connection("worker 1"), Value::Null);
        })
    };
    worker.join().unwrap();
    assert_eq!(messages(&collector), ["worker 1", "worker teardown"]);
}

/// Counts its drops, to see when the collector lets go of an error.
#[derive(Debug)]
struct DropFlag(Arc<std::sync::atomic::AtomicUsize>);

impl std::fmt::Display for DropFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flag")
    }
}

impl std::error::Error for DropFlag {}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn clear_and_reset_let_go_of_every_error_the_collector_held() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    for reset in [false, true] {
        let dropped = Arc::new(AtomicUsize::new(0));
        let collector = ErrorCollector::new(10);
        {
            let error = McpStoreError::connection("refused").with_source(DropFlag(dropped.clone()));
            for _ in 0..25 {
                collector.collect(&error, Value::Null);
            }
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "the history holds it");
        if reset {
            collector.reset();
        } else {
            collector.clear();
        }
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "nothing holds it any more"
        );
    }
}

#[test]
fn a_burst_split_evenly_over_threads_racing_is_never_missed_nor_doubled() {
    // Four threads with three errors each, at one instant: no thread alone exceeds the
    // threshold of 10, together they do. Whatever the interleaving, one alert.
    for _ in 0..200 {
        let clock = Arc::new(ManualClock::starting_at(start()));
        let collector = ErrorCollector::builder()
            .alert_threshold(10)
            .clock(clock.clone())
            .build();
        let alerts = alerts_of(&collector);
        let go = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (collector, go) = (&collector, &go);
                scope.spawn(move || {
                    go.wait();
                    for _ in 0..3 {
                        collector.collect(&McpStoreError::connection("refused"), Value::Null);
                    }
                });
            }
        });
        let alerts = alerts.lock().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].count == 11 || alerts[0].count == 12);
    }
}

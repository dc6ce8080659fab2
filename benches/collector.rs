//! The error collector's costs: `collect` on one and two threads with a full history, a
//! summary of a full 1000-error history, and an export of 100,000 errors. Ends with the
//! resident memory before and after ten million collects.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcpstore_errors::{ErrorCollector, McpStoreError};
use serde_json::Value;

/// A collector whose history is full, so each collect also evicts.
fn full_collector(max_errors: usize) -> ErrorCollector {
    let collector = ErrorCollector::new(max_errors);
    let error = McpStoreError::service_not_found("fs");
    for _ in 0..max_errors {
        collector.collect(&error, Value::Null);
    }
    collector
}

fn collect_one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("collect");
    group.throughput(Throughput::Elements(1));
    let collector = full_collector(1000);
    let error = McpStoreError::service_not_found("fs");
    group.bench_function("one_thread", |b| {
        b.iter(|| collector.collect(black_box(&error), Value::Null))
    });
    group.finish();
}

/// Both threads collect `iters` errors each; the time is the wall time of the slower one, so
/// one iteration is two collects. `own_errors`: each thread collects an error made on that
/// thread, as errors made on different threads would be. `shared_error`: both collect clones
/// of one error, so they also contend on that error's reference count (the caller's, not the
/// collector's). Each thread fills its own part of the history before the clock starts.
fn collect_two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("collect_two_threads");
    group.throughput(Throughput::Elements(2));
    let collector = full_collector(1000);
    group.bench_function("own_errors", |b| {
        b.iter_custom(|iters| two_threads(&collector, iters, None))
    });
    let shared = McpStoreError::service_not_found("fs");
    group.bench_function("shared_error", |b| {
        b.iter_custom(|iters| two_threads(&collector, iters, Some(&shared)))
    });
    group.finish();
}

fn two_threads(collector: &ErrorCollector, iters: u64, shared: Option<&McpStoreError>) -> Duration {
    let start = Barrier::new(2);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    let error = match shared {
                        Some(shared) => shared.clone(),
                        None => McpStoreError::service_not_found("fs"),
                    };
                    for _ in 0..collector.max_errors() {
                        collector.collect(&error, Value::Null);
                    }
                    start.wait();
                    let began = Instant::now();
                    for _ in 0..iters {
                        collector.collect(black_box(&error), Value::Null);
                    }
                    began.elapsed()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_default())
            .max()
            .unwrap_or_default()
    })
}

fn summary_of_1000(c: &mut Criterion) {
    let mut group = c.benchmark_group("summary");
    let collector = full_collector(1000);
    group.bench_function("1000_errors", |b| {
        b.iter(|| black_box(collector.summary(Duration::from_secs(24 * 3600))))
    });
    group.finish();
}

fn export_of_100_000(c: &mut Criterion) {
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    let collector = full_collector(100_000);
    let dir = std::env::temp_dir().join(format!("collector-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join("errors.json");
    group.bench_function("100000_errors", |b| {
        b.iter(|| collector.export(&path).expect("export"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Not a criterion measurement: resident memory before and after ten million collects.
fn memory_after_ten_million(_: &mut Criterion) {
    let collector = full_collector(1000);
    let error = McpStoreError::service_not_found("fs");
    let before = resident_kib();
    let began = Instant::now();
    for _ in 0..10_000_000 {
        collector.collect(black_box(&error), Value::Null);
    }
    let elapsed = began.elapsed();
    let after = resident_kib();
    println!(
        "memory: resident {before:?} KiB before, {after:?} KiB after 10,000,000 collects ({:.1} M/s)",
        10.0 / elapsed.as_secs_f64()
    );
}

fn resident_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

criterion_group!(
    benches,
    collect_one_thread,
    collect_two_threads,
    summary_of_1000,
    export_of_100_000,
    memory_after_ten_million
);
criterion_main!(benches);

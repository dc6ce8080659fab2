//! The error collector's costs, on realistic inputs: histories full (so each collect also
//! evicts), errors of 16 services, and a context of a few keys (~150 bytes of JSON) on every
//! collect, shared as `#[collect_errors(context = ..)]` shares one per function, or built per
//! call for comparison.
//!
//! - `collect`: one thread; a context shared or built per call; outside a burst (each type
//!   stays under the alert threshold) on one thread and four.
//! - `collect_two_threads`: each thread with its own error values, or both with the same.
//!   The threads of a row live through all its samples (see [`Crew`]).
//! - `summary`: 1000 errors held by three threads' shards.
//! - `export`: 100,000 errors; and the wait of a `collect` on another thread while exports
//!   run (p99 and maximum, printed and saved for `bench-table`).
//! - the resident memory before and after ten million collects.
//! - `collect_floor`: what every collect must pay whatever the collector does: one read of
//!   the wall clock (the record's timestamp and the alert window) and one uncontended lock
//!   (the thread's shard, which readers also lock). The collector reads the system clock once
//!   a millisecond per thread and the CPU's counter (quanta) on each collect: `counter_read`
//!   and `counter_and_lock` are its floor; `system_time_now` and `clock_and_lock` what reading
//!   the system clock on each collect would cost.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, LazyLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcpstore_errors::{ErrorCollector, McpStoreError};
use serde_json::{Value, json};

/// How many services the errors come from.
const SERVICES: usize = 16;

/// The context one annotated function shares across its calls.
static CONTEXT: LazyLock<Value> = LazyLock::new(context);

/// About 150 bytes of JSON in five keys.
fn context() -> Value {
    json!({
        "operation": "call_tool",
        "server": "filesystem",
        "tool": "read_file",
        "transport": "stdio",
        "request": "list the files of the project directory",
    })
}

/// One error per service, of four kinds.
fn service_errors() -> Vec<McpStoreError> {
    (0..SERVICES)
        .map(|i| {
            let service = format!("service-{i:02}");
            match i % 4 {
                0 => McpStoreError::service_not_found(service),
                1 => McpStoreError::service_timeout(service, Duration::from_secs(30)),
                2 => McpStoreError::connection(format!("{service}: connection refused")),
                _ => McpStoreError::service_start_failed(service, "port already in use"),
            }
        })
        .collect()
}

/// Fills this thread's part of the history.
fn fill(collector: &ErrorCollector, errors: &[McpStoreError], count: usize) {
    for i in 0..count {
        collector.collect(&errors[i % SERVICES], &*CONTEXT);
    }
}

fn collect_one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("collect");
    group.throughput(Throughput::Elements(1));
    let errors = service_errors();

    let collector = ErrorCollector::new(1000);
    fill(&collector, &errors, 1000);
    let mut i = 0;
    group.bench_function("one_thread", |b| {
        b.iter(|| {
            i = (i + 1) % SERVICES;
            collector.collect(black_box(&errors[i]), &*CONTEXT)
        })
    });
    group.bench_function("context_per_call", |b| {
        b.iter(|| {
            i = (i + 1) % SERVICES;
            collector.collect(black_box(&errors[i]), context())
        })
    });

    // An alert window of 1 ns holds one or two errors: every collect is outside a burst.
    let outside = ErrorCollector::builder()
        .max_errors(1000)
        .alert_window(Duration::from_nanos(1))
        .build();
    fill(&outside, &errors, 1000);
    group.bench_function("outside_burst", |b| {
        b.iter(|| {
            i = (i + 1) % SERVICES;
            outside.collect(black_box(&errors[i]), &*CONTEXT)
        })
    });
    group.throughput(Throughput::Elements(4));
    thread::scope(|scope| {
        let crew = Crew::start(scope, &outside, 4, None);
        group.bench_function("outside_burst_four_threads", |b| {
            b.iter_custom(|iters| crew.run(iters))
        });
    });
    group.finish();
}

/// Threads that live as long as a benchmark and collect on command, so that a sample times
/// collects alone: not threads starting, taking shards and filling them. Each fills its own
/// part of the history once, when it starts. `shared`: every thread collects the same error
/// values; otherwise each makes its own, as errors made on different threads would be.
struct Crew {
    orders: Vec<mpsc::Sender<u64>>,
    reports: mpsc::Receiver<Duration>,
}

impl Crew {
    fn start<'scope, 'env>(
        scope: &'scope thread::Scope<'scope, 'env>,
        collector: &'env ErrorCollector,
        threads: usize,
        shared: Option<&'env [McpStoreError]>,
    ) -> Crew {
        let start = Arc::new(Barrier::new(threads));
        let (report, reports) = mpsc::channel();
        let orders = (0..threads)
            .map(|_| {
                let (order, orders) = mpsc::channel::<u64>();
                let (start, report) = (Arc::clone(&start), report.clone());
                scope.spawn(move || {
                    let own;
                    let errors = match shared {
                        Some(shared) => shared,
                        None => {
                            own = service_errors();
                            &own
                        }
                    };
                    fill(collector, errors, collector.max_errors());
                    let mut i = 0;
                    for iters in orders {
                        start.wait();
                        let began = Instant::now();
                        for _ in 0..iters {
                            i = (i + 1) % SERVICES;
                            collector.collect(black_box(&errors[i]), &*CONTEXT);
                        }
                        if report.send(began.elapsed()).is_err() {
                            break;
                        }
                    }
                });
                order
            })
            .collect();
        Crew { orders, reports }
    }

    /// `iters` collects on each thread at once; the time is the slowest thread's, so one
    /// iteration is one collect on each.
    fn run(&self, iters: u64) -> Duration {
        for order in &self.orders {
            order.send(iters).expect("a crew thread stopped");
        }
        (0..self.orders.len())
            .map(|_| self.reports.recv().expect("a crew thread stopped"))
            .max()
            .unwrap_or_default()
    }
}

fn collect_two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("collect_two_threads");
    group.throughput(Throughput::Elements(2));
    let collector = ErrorCollector::new(1000);
    thread::scope(|scope| {
        let crew = Crew::start(scope, &collector, 2, None);
        group.bench_function("own_errors", |b| b.iter_custom(|iters| crew.run(iters)));
    });
    let shared = service_errors();
    let collector = ErrorCollector::new(1000);
    thread::scope(|scope| {
        let crew = Crew::start(scope, &collector, 2, Some(&shared));
        group.bench_function("shared_error", |b| b.iter_custom(|iters| crew.run(iters)));
    });
    group.finish();
}

/// 1000 errors in three shards: two other threads hold a third each, and stay alive (a
/// thread that ends hands its shard back) until the measurement is over.
fn summary_of_1000(c: &mut Criterion) {
    let mut group = c.benchmark_group("summary");
    let collector = ErrorCollector::new(1000);
    let errors = service_errors();
    let filled = Barrier::new(3);
    let (done, wait) = mpsc::channel::<()>();
    let wait = std::sync::Mutex::new(wait);
    thread::scope(|scope| {
        for _ in 0..2 {
            let (collector, filled, wait) = (&collector, &filled, &wait);
            scope.spawn(move || {
                fill(collector, &service_errors(), 333);
                filled.wait();
                let _ = wait.lock().map(|wait| wait.recv());
            });
        }
        fill(&collector, &errors, 334);
        filled.wait();
        assert_eq!(collector.len(), 1000);
        group.bench_function("1000_errors", |b| {
            b.iter(|| black_box(collector.summary(Duration::from_secs(24 * 3600))))
        });
        drop(done);
    });
    group.finish();
}

fn export_of_100_000(c: &mut Criterion) {
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    let collector = ErrorCollector::new(100_000);
    fill(&collector, &service_errors(), 100_000);
    let dir = std::env::temp_dir().join(format!("collector-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join("errors.json");
    group.bench_function("100000_errors", |b| {
        b.iter(|| collector.export(&path).expect("export"))
    });
    group.finish();

    collect_during_export(&collector, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Not a criterion measurement: the time each `collect` on another thread takes while
/// exports of 100,000 errors run back to back, every one of them counted, as percentiles and
/// maximum.
fn collect_during_export(collector: &ErrorCollector, path: &std::path::Path) {
    let exporting = AtomicBool::new(true);
    let errors = service_errors();
    let ready = Barrier::new(2);
    let waits = thread::scope(|scope| {
        let collecting = scope.spawn(|| {
            // This thread's shard holds part of the history, so the export locks it too.
            fill(collector, &errors, 1000);
            ready.wait();
            let mut waits = Waits::default();
            let mut i = 0;
            while exporting.load(Ordering::Relaxed) {
                i = (i + 1) % SERVICES;
                let began = Instant::now();
                collector.collect(&errors[i], &*CONTEXT);
                waits.add(began.elapsed());
            }
            waits
        });
        ready.wait();
        for _ in 0..10 {
            collector.export(path).expect("export");
        }
        exporting.store(false, Ordering::Relaxed);
        collecting.join().unwrap_or_default()
    });
    let (p50, p99, p999, max) = (
        waits.at(0.5),
        waits.at(0.99),
        waits.at(0.999),
        waits.at(1.0),
    );
    println!(
        "collect during export: {} collects during 10 exports of 100,000; p50 {p50} ns, p99 {p99} ns, p99.9 {p999} ns, max {max} ns",
        waits.count,
    );
    let result = json!({"samples": waits.count, "p50_ns": p50, "p99_ns": p99, "p999_ns": p999, "max_ns": max});
    let dir = criterion_home().join("collect_during_export");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("wait.json"), result.to_string());
}

/// Every wait, in nanoseconds: a count per nanosecond below [`Waits::EXACT`] and the longer
/// ones kept as they are, so that tens of millions of collects take a few hundred kilobytes.
#[derive(Default)]
struct Waits {
    short: Vec<u32>,
    long: Vec<u64>,
    count: u64,
}

impl Waits {
    const EXACT: u64 = 100_000;

    fn add(&mut self, wait: Duration) {
        let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        if self.short.is_empty() {
            self.short = vec![0; Self::EXACT as usize];
        }
        match self.short.get_mut(nanos as usize) {
            Some(count) => *count = count.saturating_add(1),
            None => self.long.push(nanos),
        }
        self.count += 1;
    }

    /// The wait at quantile `q` (1.0: the longest).
    fn at(&self, q: f64) -> u64 {
        let rank = (self.count.saturating_sub(1) as f64 * q) as u64;
        let mut seen = 0;
        for (nanos, &count) in self.short.iter().enumerate() {
            seen += u64::from(count);
            if seen > rank {
                return nanos as u64;
            }
        }
        let mut long = self.long.clone();
        long.sort_unstable();
        long.get((rank - seen) as usize).copied().unwrap_or(0)
    }
}

/// Where criterion writes, as `bench-table` reads it.
fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return std::path::PathBuf::from(target).join("criterion");
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Not a criterion measurement: the CPU time of this thread for a summary of 1000 errors in
/// three shards and for an export of 100,000, which the other processes of a shared
/// machine do not inflate as they do wall time (the export's includes writing, not waiting
/// for the disk).
fn cpu_time_of_summary_and_export(_: &mut Criterion) {
    let collector = ErrorCollector::new(1000);
    let filled = Barrier::new(3);
    let (done, wait) = mpsc::channel::<()>();
    let wait = std::sync::Mutex::new(wait);
    thread::scope(|scope| {
        for _ in 0..2 {
            let (collector, filled, wait) = (&collector, &filled, &wait);
            scope.spawn(move || {
                fill(collector, &service_errors(), 333);
                filled.wait();
                let _ = wait.lock().map(|wait| wait.recv());
            });
        }
        fill(&collector, &service_errors(), 334);
        filled.wait();
        let runs = 2000;
        let before = thread_cpu_ns();
        for _ in 0..runs {
            black_box(collector.summary(Duration::from_secs(24 * 3600)));
        }
        let cpu = thread_cpu_ns()
            .zip(before)
            .map(|(after, before)| after - before);
        println!(
            "cpu time: summary of 1000 errors in 3 shards: {} per summary",
            cpu.map_or("?".to_owned(), |ns| format!(
                "{:.2} µs",
                ns as f64 / runs as f64 / 1e3
            ))
        );
        drop(done);
    });

    let collector = ErrorCollector::new(100_000);
    fill(&collector, &service_errors(), 100_000);
    let dir = std::env::temp_dir().join(format!("collector-bench-cpu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join("errors.json");
    let runs = 5;
    let before = thread_cpu_ns();
    for _ in 0..runs {
        collector.export(&path).expect("export");
    }
    let cpu = thread_cpu_ns()
        .zip(before)
        .map(|(after, before)| after - before);
    println!(
        "cpu time: export of 100,000 errors: {} per export",
        cpu.map_or("?".to_owned(), |ns| format!(
            "{:.1} ms",
            ns as f64 / runs as f64 / 1e6
        ))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The unavoidable parts of a collect, alone: a wall-clock read (the system clock's, or the
/// CPU counter's the collector derives it from), an uncontended lock and unlock, and both
/// together.
fn collect_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("collect_floor");
    group.throughput(Throughput::Elements(1));
    let shard = std::sync::Mutex::new(0u64);
    group.bench_function("system_time_now", |b| b.iter(std::time::SystemTime::now));
    group.bench_function("uncontended_lock", |b| {
        b.iter(|| *black_box(&shard).lock().unwrap_or_else(|e| e.into_inner()) += 1)
    });
    group.bench_function("clock_and_lock", |b| {
        b.iter(|| {
            let now = std::time::SystemTime::now();
            let mut held = black_box(&shard).lock().unwrap_or_else(|e| e.into_inner());
            *held += 1;
            black_box(now)
        })
    });
    let counter = quanta::Clock::new();
    group.bench_function("counter_read", |b| b.iter(|| counter.raw()));
    group.bench_function("counter_and_lock", |b| {
        b.iter(|| {
            let now = counter.raw();
            let mut held = black_box(&shard).lock().unwrap_or_else(|e| e.into_inner());
            *held += 1;
            black_box(now)
        })
    });
    group.finish();
}

/// Not a criterion measurement: resident memory before and after ten million collects.
fn memory_after_ten_million(_: &mut Criterion) {
    let errors = service_errors();
    let collector = ErrorCollector::new(1000);
    fill(&collector, &errors, 1000);
    let before = resident_kib();
    let cpu_before = thread_cpu_ns();
    let began = Instant::now();
    for i in 0..10_000_000 {
        collector.collect(black_box(&errors[i % SERVICES]), &*CONTEXT);
    }
    let elapsed = began.elapsed();
    let cpu = thread_cpu_ns()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let after = resident_kib();
    println!(
        "memory: resident {before:?} KiB before, {after:?} KiB after 10,000,000 collects ({:.1} M/s of wall time, {} of this thread's CPU time)",
        10.0 / elapsed.as_secs_f64(),
        cpu.map_or("?".to_owned(), |ns| format!("{:.1} M/s", 1e10 / ns as f64)),
    );
}

/// The CPU time this thread has run, from `/proc/thread-self/schedstat`: on a shared machine,
/// what a loop costs without the time other processes took the core.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
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
    collect_floor,
    summary_of_1000,
    export_of_100_000,
    memory_after_ten_million,
    cpu_time_of_summary_and_export
);
criterion_main!(benches);

//! Retry: the success path of every way to call a function (plain, each attribute, the three
//! stacked, `RetryManager`, `backon`), the delay math of every strategy and jitter,
//! and the failure path (two failures, then a success) against `backon`.
//!
//! Every variant calls the same `#[inline(never)]` function, so each measures its own wrapper
//! around one identical, opaque call; inputs and outputs go through `black_box`.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mcpstore_errors::{
    Jitter, RetryConfig, RetryManager, RetryStrategy, Sleeper, VirtualSleeper, collect_errors,
    fallback, retry,
};

#[derive(Debug)]
struct Flaky;

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaky")
    }
}

impl std::error::Error for Flaky {}

impl mcpstore_errors::Classify for Flaky {}

/// The trivial operation every success-path variant runs. It fails for zero, which no bench
/// passes: were it infallible, the compiler would see through `#[inline(never)]` and delete
/// every wrapper's error handling.
#[inline(never)]
fn succeed(x: u64) -> Result<u64, Flaky> {
    let x = black_box(x);
    if x == 0 {
        Err(Flaky)
    } else {
        Ok(x.wrapping_mul(31))
    }
}

// Each annotated function, and its plain twin, is `#[inline(never)]`: the figures compare
// what a call costs, prologue included, not what is left once inlined into the bench loop.

#[inline(never)]
fn plain(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

#[retry]
#[inline(never)]
fn with_retry(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

#[fallback(default)]
#[inline(never)]
fn with_fallback(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

#[collect_errors]
#[inline(never)]
fn with_collect_errors(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

#[collect_errors]
#[fallback(default)]
#[retry]
#[inline(never)]
fn with_all_three(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

/// The body of every "trivial body" variant: the benchmark has the annotated function
/// itself do the trivial work (no call to an opaque function), so what a wrapper adds is not
/// hidden behind, nor blamed on, a second call.
macro_rules! trivial_body {
    ($x:expr) => {{
        let x = black_box($x);
        if x == 0 {
            Err(Flaky)
        } else {
            Ok(x.wrapping_mul(31))
        }
    }};
}

#[inline(never)]
fn plain_trivial(x: u64) -> Result<u64, Flaky> {
    trivial_body!(x)
}

#[retry]
#[inline(never)]
fn retry_trivial(x: u64) -> Result<u64, Flaky> {
    trivial_body!(x)
}

#[collect_errors]
#[fallback(default)]
#[retry]
#[inline(never)]
fn all_three_trivial(x: u64) -> Result<u64, Flaky> {
    trivial_body!(x)
}

fn success_path_trivial_body(c: &mut Criterion) {
    let mut group = c.benchmark_group("success_path_trivial_body");
    group.bench_function("plain", |b| b.iter(|| plain_trivial(black_box(7))));
    group.bench_function("retry", |b| b.iter(|| retry_trivial(black_box(7))));
    group.bench_function("all_three", |b| b.iter(|| all_three_trivial(black_box(7))));
    group.finish();
}

fn success_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("success_path");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    group.bench_function("retry", |b| b.iter(|| with_retry(black_box(7))));
    group.bench_function("fallback_default", |b| {
        b.iter(|| with_fallback(black_box(7)))
    });
    group.bench_function("collect_errors", |b| {
        b.iter(|| with_collect_errors(black_box(7)))
    });
    group.bench_function("all_three", |b| b.iter(|| with_all_three(black_box(7))));

    let manager = RetryManager::new(RetryConfig::new());
    group.bench_function("RetryManager_execute", |b| {
        b.iter(|| manager.execute(|| succeed(black_box(7))))
    });

    group.bench_function("backon", |b| {
        use backon::{BlockingRetryable, ExponentialBuilder};
        b.iter(|| {
            (|| succeed(black_box(7)))
                .retry(ExponentialBuilder::default().with_jitter())
                .sleep(std::thread::sleep)
                .call()
        })
    });
    group.finish();
}

/// `delay_for(5)` with the default random source, as a user's policy would draw.
fn delay_math(c: &mut Criterion) {
    let mut group = c.benchmark_group("delay_for");
    let jitters = [
        ("none", Jitter::None),
        ("proportional", Jitter::Proportional(0.25)),
        ("full", Jitter::Full),
        ("equal", Jitter::Equal),
        ("decorrelated", Jitter::Decorrelated),
    ];
    for strategy in RetryStrategy::ALL {
        for (jitter_name, jitter) in jitters {
            let config = RetryConfig::new().strategy(strategy).jitter(jitter);
            let id = BenchmarkId::new(format!("{strategy:?}"), jitter_name);
            group.bench_function(id, |b| b.iter(|| config.delay_for(black_box(5))));
        }
    }
    group.finish();
}

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// Fails on its first two calls since `CALLS` was reset, then succeeds.
#[inline(never)]
fn fail_twice() -> Result<u32, Flaky> {
    CALLS.with(|calls| {
        calls.set(calls.get() + 1);
        if calls.get() <= 2 {
            Err(Flaky)
        } else {
            Ok(calls.get())
        }
    })
}

/// Every failure-path variant sleeps its zero delays through this one virtual sleeper.
static SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(|| Arc::new(VirtualSleeper::new()));

fn zero_delay_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(Duration::ZERO)
        .jitter(Jitter::None)
        .sleeper(SLEEPER.clone())
}

#[retry(config = zero_delay_policy())]
fn fail_twice_with_retry() -> Result<u32, Flaky> {
    fail_twice()
}

/// Resets the failing function before each call. The virtual sleeper records every delay,
/// so its record is emptied every 1024 calls to keep it small; all variants pay the same.
#[derive(Default)]
struct FreshCall {
    calls: u32,
}

impl FreshCall {
    #[inline]
    fn prepare(&mut self) {
        self.calls = self.calls.wrapping_add(1);
        if self.calls % 1024 == 0 {
            SLEEPER.clear();
        }
        CALLS.with(|calls| calls.set(0));
    }
}

fn failure_path(c: &mut Criterion) {
    let manager = RetryManager::new(zero_delay_policy());
    let with_manager = || manager.execute(fail_twice);
    let with_backon = || {
        use backon::{BlockingRetryable, ConstantBuilder};
        fail_twice
            .retry(
                ConstantBuilder::default()
                    .with_delay(Duration::ZERO)
                    .with_max_times(2),
            )
            .sleep(|delay| SLEEPER.sleep(delay))
            .call()
    };

    // Each variant must really make three calls and sleep twice.
    check_fails_twice("retry", fail_twice_with_retry);
    check_fails_twice("RetryManager_execute", with_manager);
    check_fails_twice("backon", with_backon);

    let mut group = c.benchmark_group("fail_twice");
    group.bench_function("retry", |b| {
        let mut fresh = FreshCall::default();
        b.iter(|| {
            fresh.prepare();
            fail_twice_with_retry()
        })
    });
    group.bench_function("RetryManager_execute", |b| {
        let mut fresh = FreshCall::default();
        b.iter(|| {
            fresh.prepare();
            with_manager()
        })
    });
    group.bench_function("backon", |b| {
        let mut fresh = FreshCall::default();
        b.iter(|| {
            fresh.prepare();
            with_backon()
        })
    });
    group.finish();
}

fn check_fails_twice(name: &str, run: impl Fn() -> Result<u32, Flaky>) {
    SLEEPER.clear();
    CALLS.with(|calls| calls.set(0));
    let outcome = run();
    assert!(
        matches!(outcome, Ok(3)),
        "{name}: expected success on the third call, got {outcome:?}"
    );
    assert_eq!(
        SLEEPER.delays(),
        [Duration::ZERO; 2],
        "{name}: expected two zero delays"
    );
    SLEEPER.clear();
}

criterion_group!(
    benches,
    success_path,
    success_path_trivial_body,
    delay_math,
    failure_path
);
criterion_main!(benches);

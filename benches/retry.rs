//! Retry: the success path against peers, the delay math, and the failure path.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mcpstore_errors::{
    Jitter, RetryConfig, RetryManager, RetryStrategy, SeededRandom, VirtualSleeper,
};

#[derive(Debug)]
struct Flaky;

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaky")
    }
}

impl std::error::Error for Flaky {}

#[inline(never)]
fn succeed(x: u64) -> Result<u64, Flaky> {
    Ok(black_box(x).wrapping_mul(31))
}

fn success_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("success_path");
    group.bench_function("plain", |b| b.iter(|| succeed(black_box(7))));

    let manager = RetryManager::new(RetryConfig::new());
    group.bench_function("RetryManager::execute", |b| {
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

    group.bench_function("backoff", |b| {
        b.iter(|| {
            backoff::retry(backoff::ExponentialBackoff::default(), || {
                succeed(black_box(7)).map_err(backoff::Error::transient)
            })
        })
    });
    group.finish();
}

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
            let config = RetryConfig::new()
                .strategy(strategy)
                .jitter(jitter)
                .random(Arc::new(SeededRandom::new(1)));
            group.bench_function(format!("{strategy:?}/{jitter_name}"), |b| {
                b.iter(|| config.delay_for(black_box(20)))
            });
        }
    }
    group.finish();
}

fn failure_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("fail_twice_then_succeed");
    let manager = RetryManager::new(
        RetryConfig::new()
            .base_delay(Duration::ZERO)
            .jitter(Jitter::None)
            .sleeper(Arc::new(VirtualSleeper::new())),
    );
    group.bench_function("RetryManager::execute", |b| {
        b.iter(|| {
            let calls = Cell::new(0u32);
            manager.execute(|| fail_twice(&calls))
        })
    });
    group.bench_function("backon", |b| {
        use backon::{BlockingRetryable, ConstantBuilder};
        b.iter(|| {
            let calls = Cell::new(0u32);
            (|| fail_twice(&calls))
                .retry(
                    ConstantBuilder::default()
                        .with_delay(Duration::ZERO)
                        .with_max_times(2),
                )
                .sleep(|_| {})
                .call()
        })
    });
    group.finish();
}

fn fail_twice(calls: &Cell<u32>) -> Result<u32, Flaky> {
    calls.set(calls.get() + 1);
    if calls.get() <= 2 {
        Err(Flaky)
    } else {
        Ok(calls.get())
    }
}

criterion_group!(benches, success_path, delay_math, failure_path);
criterion_main!(benches);

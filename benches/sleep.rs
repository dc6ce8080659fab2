//! The async sleep outside any runtime (the process-wide timer thread): the cost of a sleep
//! that is created, polled once and dropped, with none or 10,000 other sleeps pending (a
//! retry storm), and the wall time of a 1 ms sleep awaited to the end (how late it wakes).
//! Then the success path of an attempt timeout: a call that finishes in its first poll, plain,
//! under `#[timeout]`, and through `race_timeout_with` and `race_timeout` (no clock read).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mcpstore_errors::{
    McpStoreError, RealSleeper, SleepFuture, Sleeper, race_timeout, race_timeout_with, timeout,
};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on(future: impl Future<Output = ()>) {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    while future.as_mut().poll(&mut cx).is_pending() {
        std::thread::park();
    }
}

/// `count` sleeps, each polled once so it waits in the timer's queue.
fn pending(count: usize) -> Vec<SleepFuture> {
    let mut cx = Context::from_waker(Waker::noop());
    (0..count)
        .map(|_| {
            let mut sleep = RealSleeper.sleep_async(Duration::from_secs(3600));
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
            sleep
        })
        .collect()
}

fn register_and_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("async_sleep");
    for others in [0, 10_000] {
        let background = pending(others);
        group.bench_with_input(
            BenchmarkId::new("register_and_drop", others),
            &others,
            |b, _| {
                let mut cx = Context::from_waker(Waker::noop());
                b.iter(|| {
                    let mut sleep = RealSleeper.sleep_async(black_box(Duration::from_secs(1)));
                    assert_eq!(sleep.as_mut().poll(&mut cx), Poll::Pending);
                })
            },
        );
        drop(background);
    }
    group.finish();
}

fn one_millisecond(c: &mut Criterion) {
    let mut group = c.benchmark_group("async_sleep");
    group.sample_size(20);
    group.bench_function("sleep_1ms_wall", |b| {
        b.iter(|| block_on(RealSleeper.sleep_async(Duration::from_millis(1))))
    });
    group.finish();
}

/// The opaque operation every timeout variant awaits; it fails for zero, which none passes.
#[inline(never)]
fn succeed(x: u64) -> Result<u64, McpStoreError> {
    match black_box(x) {
        0 => Err(McpStoreError::connection("refused")),
        x => Ok(x.wrapping_mul(31)),
    }
}

async fn plain(x: u64) -> Result<u64, McpStoreError> {
    succeed(x)
}

#[timeout("2s")]
async fn timed(x: u64) -> Result<u64, McpStoreError> {
    succeed(x)
}

/// Polls `future` once, which must finish it.
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("every variant finishes in its first poll"),
    }
}

fn timeout_success_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("timeout_success_path");
    let after = Duration::from_secs(2);
    group.bench_function("plain", |b| b.iter(|| ready(plain(black_box(7)))));
    group.bench_function("attribute", |b| b.iter(|| ready(timed(black_box(7)))));
    group.bench_function("race_timeout_with", |b| {
        b.iter(|| ready(race_timeout_with(plain(black_box(7)), after, &RealSleeper)))
    });
    group.bench_function("race_timeout", |b| {
        b.iter(|| {
            ready(race_timeout(plain(black_box(7)), after, |d| {
                RealSleeper.sleep_async(d)
            }))
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    register_and_drop,
    one_millisecond,
    timeout_success_path
);
criterion_main!(benches);

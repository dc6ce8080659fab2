//! The async sleep outside any runtime (the process-wide timer thread): the cost of a sleep
//! that is created, polled once and dropped, with none or 10,000 other sleeps pending (a
//! retry storm), and the wall time of a 1 ms sleep awaited to the end (how late it wakes).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mcpstore_errors::{RealSleeper, SleepFuture, Sleeper};

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

criterion_group!(benches, register_and_drop, one_millisecond);
criterion_main!(benches);

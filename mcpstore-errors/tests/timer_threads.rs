//! The default async sleep outside any runtime: however many sleeps are pending, the process
//! gains at most one thread. Its own test binary, so no other test's threads blur the count.

#![cfg(target_os = "linux")]

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mcpstore_errors::{RealSleeper, Sleeper};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task lists this process's threads")
        .count()
}

#[test]
fn two_thousand_pending_sleeps_add_at_most_one_thread_and_dropping_them_adds_none() {
    let before = threads();
    let mut sleeps: Vec<_> = (0..2000)
        .map(|_| RealSleeper.sleep_async(Duration::from_secs(2)))
        .collect();
    let mut cx = Context::from_waker(Waker::noop());
    for sleep in &mut sleeps {
        assert_eq!(sleep.as_mut().poll(&mut cx), Poll::Pending);
    }
    let pending = threads();
    assert!(
        pending <= before + 1,
        "{before} threads before, {pending} with 2000 sleeps pending"
    );
    drop(sleeps);
    // A second wave reuses the thread the first one started.
    let mut again = RealSleeper.sleep_async(Duration::from_secs(2));
    assert_eq!(again.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(threads(), pending);
}

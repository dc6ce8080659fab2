//! A task's waker is user code: its clone, wake and drop may use the timer that holds it (poll
//! a new sleep, drop a pending one). The runtime-agnostic timer behind the default
//! `Sleeper::sleep_async` (outside a tokio runtime) must not run any of them under its lock, or
//! such a waker deadlocks the process's timer. Each scenario runs on its own thread and fails
//! if it does not return within a second.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::time::Duration;

use mcpstore_errors::{RealSleeper, SleepFuture, Sleeper};
use mcpstore_errors_tests::finishes_within;

/// Long enough never to fire during a test.
const MINUTE: Duration = Duration::from_secs(60);

/// Fails the test if `body` has not returned within a second: a deadlock fails it instead of
/// hanging it.
fn completes(what: &str, body: impl FnOnce() + Send + 'static) {
    finishes_within(Duration::from_secs(1), what, body);
}

fn poll(sleep: &mut SleepFuture, waker: &Waker) -> Poll<()> {
    sleep.as_mut().poll(&mut Context::from_waker(waker))
}

/// A sleep of the process's timer, with its entry in the queue.
fn pending_sleep() -> SleepFuture {
    let mut sleep = RealSleeper.sleep_async(MINUTE);
    assert!(poll(&mut sleep, Waker::noop()).is_pending());
    sleep
}

/// Uses the timer as a waker's user code may: drops a pending sleep (its entry leaves the
/// queue) and polls a new one (an entry goes in), then drops that one too.
fn use_the_timer(held: Option<SleepFuture>) {
    drop(held);
    drop(pending_sleep());
}

/// A waker whose last drop (and wake) uses the timer.
struct UsesTimerOnDrop {
    held: Mutex<Option<SleepFuture>>,
    dropped: Arc<AtomicUsize>,
}

impl UsesTimerOnDrop {
    fn waker(dropped: &Arc<AtomicUsize>) -> Waker {
        Waker::from(Arc::new(UsesTimerOnDrop {
            held: Mutex::new(Some(pending_sleep())),
            dropped: Arc::clone(dropped),
        }))
    }
}

impl Wake for UsesTimerOnDrop {
    fn wake(self: Arc<Self>) {
        use_the_timer(None);
    }
}

impl Drop for UsesTimerOnDrop {
    fn drop(&mut self) {
        let held = self
            .held
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        use_the_timer(held);
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_waker_replaced_by_a_later_poll_may_use_the_timer_in_its_drop() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&dropped);
    completes("replacing the waker", move || {
        let mut sleep = RealSleeper.sleep_async(MINUTE);
        let waker = UsesTimerOnDrop::waker(&count);
        assert!(poll(&mut sleep, &waker).is_pending());
        drop(waker); // the queue now holds the last clone
        assert!(poll(&mut sleep, Waker::noop()).is_pending()); // replaces and drops it
        drop(sleep);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_pending_sleep_dropped_may_drop_a_waker_that_uses_the_timer() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&dropped);
    completes("dropping the sleep", move || {
        let mut sleep = RealSleeper.sleep_async(MINUTE);
        let waker = UsesTimerOnDrop::waker(&count);
        assert!(poll(&mut sleep, &waker).is_pending());
        drop(waker);
        drop(sleep); // takes its entry out, and the last clone of the waker with it
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_fired_waker_may_use_the_timer_when_woken_and_dropped() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&dropped);
    completes("firing the sleep", move || {
        let mut sleep = RealSleeper.sleep_async(Duration::from_millis(2));
        let waker = UsesTimerOnDrop::waker(&count);
        if poll(&mut sleep, &waker).is_pending() {
            drop(waker);
            // The timer thread wakes the task, then drops the waker: both use the timer.
            while count.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(poll(&mut sleep, Waker::noop()).is_ready());
        }
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

/// Whether [`RECORDING`]'s clone and drop use the timer; only the test that counts sets it.
static REENTERS: AtomicBool = AtomicBool::new(false);
static CLONES: AtomicUsize = AtomicUsize::new(0);
static DROPS: AtomicUsize = AtomicUsize::new(0);

/// A waker whose clone and drop (not only its last one, as `Wake` gives) use the timer. The
/// data pointer is never read: the state is in statics.
static RECORDING: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

fn clone(_: *const ()) -> RawWaker {
    if REENTERS.load(Ordering::SeqCst) {
        use_the_timer(None);
        CLONES.fetch_add(1, Ordering::SeqCst);
    }
    RawWaker::new(std::ptr::null(), &RECORDING)
}

fn wake(data: *const ()) {
    drop_waker(data);
}

fn wake_by_ref(_: *const ()) {}

fn drop_waker(_: *const ()) {
    if REENTERS.load(Ordering::SeqCst) {
        use_the_timer(None);
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_waker_whose_every_clone_and_drop_uses_the_timer() {
    #[allow(unsafe_code)]
    // SAFETY: the vtable's functions never read the data pointer and are thread-safe.
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &RECORDING)) };
    REENTERS.store(true, Ordering::SeqCst);
    completes("registering, refreshing and dropping", move || {
        let mut sleep = RealSleeper.sleep_async(MINUTE);
        assert!(poll(&mut sleep, &waker).is_pending()); // the queue keeps a clone
        assert!(poll(&mut sleep, &waker).is_pending());
        assert!(poll(&mut sleep, Waker::noop()).is_pending()); // replaces it: dropped
        assert!(poll(&mut sleep, &waker).is_pending()); // a clone again
        drop(sleep); // dropped with the entry
        drop(waker);
    });
    REENTERS.store(false, Ordering::SeqCst);
    assert!(CLONES.load(Ordering::SeqCst) >= 2, "the timer keeps clones");
    assert_eq!(
        CLONES.load(Ordering::SeqCst) + 1,
        DROPS.load(Ordering::SeqCst),
        "every clone, and the original, dropped"
    );
}

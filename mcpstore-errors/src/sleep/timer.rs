//! The runtime-agnostic timer: one thread, one queue of deadlines, shared by every sleep.
//!
//! A [`Sleep`] fixes its deadline when created, puts its waker in the queue on its first poll,
//! keeps that waker current on later polls and takes its entry out when dropped, so memory and
//! threads stay bounded however many sleeps are pending or abandoned. The thread is started on
//! the first sleep that has to wait, waits on a condition variable until the earliest deadline,
//! and wakes every entry that is due.
//!
//! If the thread cannot be started (a process or memory limit), the wait is never skipped: the
//! task polling the sleep serves as the timer itself. It blocks its own thread until the earliest
//! deadline in the queue (or until an earlier one arrives), wakes what is due, and asks to be
//! polled again, at which point starting the thread is tried anew. A stand-in whose sleep ends
//! (or is dropped) wakes the next earliest sleep to take over, so no entry is left unserved.
//! Blocking an executor thread is a real cost, but a retry loop that hammers an overloaded
//! service is a worse one.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The name of the timer thread, as debuggers and `/proc` show it.
const THREAD_NAME: &str = "mcpstore-errors-timer";

/// A queue entry: the deadline first, so the map iterates in firing order; the id breaks ties.
type Key = (Instant, u64);

/// Starts a thread running the given body. A seam: tests make it fail or count its calls.
type Spawn = Box<dyn Fn(Box<dyn FnOnce() + Send>) -> io::Result<()> + Send + Sync>;

static GLOBAL: LazyLock<Timer> = LazyLock::new(|| {
    Timer::with_spawn(Box::new(|body| {
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(body)
            .map(drop)
    }))
});

/// A future completing after `delay`, served by the process-wide timer thread.
pub(super) fn sleep(delay: Duration) -> Sleep {
    GLOBAL.sleep(delay)
}

/// A timer: the process-wide one, or a private one in tests.
pub(super) struct Timer {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Mutex<Queue>,
    /// Signalled when an entry becomes the earliest, or the timer shuts down.
    changed: Condvar,
    spawn: Spawn,
}

#[derive(Default)]
struct Queue {
    wakers: BTreeMap<Key, Waker>,
    next_id: u64,
    /// A thread is serving this queue (or is being started to).
    running: bool,
    /// The owning [`Timer`] is gone: the thread leaves once the queue is empty.
    shutdown: bool,
    /// Failed attempts to start the thread since it last started; reported once per streak.
    spawn_failures: u64,
    /// What the timer thread waits for: a new entry wakes it only if it is due sooner.
    watch: Watch,
}

#[derive(Clone, Copy, Default)]
enum Watch {
    /// Not waiting: the thread looks at the queue before it waits again.
    #[default]
    Busy,
    Until(Instant),
    Forever,
}

impl Timer {
    fn with_spawn(spawn: Spawn) -> Self {
        Timer {
            inner: Arc::new(Inner {
                queue: Mutex::new(Queue::default()),
                changed: Condvar::new(),
                spawn,
            }),
        }
    }

    /// A future completing `delay` from now. A delay past what `Instant` can represent never
    /// completes, as such a sleep would not within the life of the process either.
    pub(super) fn sleep(&self, delay: Duration) -> Sleep {
        Sleep {
            inner: Arc::clone(&self.inner),
            deadline: Instant::now().checked_add(delay),
            id: None,
        }
    }

    /// How many sleeps are waiting in the queue.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.inner.lock().wakers.len()
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.inner.lock().shutdown = true;
        self.inner.changed.notify_all();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every update of the queue is a single map operation: a panic cannot leave it torn.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts or refreshes the entry `(deadline, id)` and makes sure someone serves the queue.
    fn register(self: &Arc<Self>, deadline: Instant, id: &mut Option<u64>, waker: &Waker) -> bool {
        // A waker's clone and drop are user code that may use this timer: cloned before
        // locking, and the one left over (replaced, or this clone unneeded) dropped after.
        let waker = waker.clone();
        let mut queue = self.lock();
        let id = *id.get_or_insert_with(|| {
            let id = queue.next_id;
            queue.next_id += 1;
            id
        });
        let unused = match queue.wakers.entry((deadline, id)) {
            Entry::Occupied(entry) if entry.get().will_wake(&waker) => Some(waker),
            Entry::Occupied(mut entry) => Some(entry.insert(waker)),
            // The first poll, or a poll after the timer took the entry out but before the
            // deadline as this thread reads the clock (cannot happen with a monotonic clock,
            // but putting it back is always safe).
            Entry::Vacant(entry) => {
                entry.insert(waker);
                None
            }
        };
        let wake_thread = match queue.watch {
            Watch::Busy => false,
            Watch::Until(at) => deadline < at,
            Watch::Forever => true,
        };
        // Without a thread, stand-ins wait on the same condition: wake them for a new earliest.
        let wake_stand_ins = !queue.running
            && queue.wakers.first_key_value().map(|(key, _)| *key) == Some((deadline, id));
        if wake_thread || wake_stand_ins {
            self.changed.notify_all();
        }
        let running = std::mem::replace(&mut queue.running, true);
        drop(queue);
        drop(unused);
        running || self.start()
    }

    /// Starts the timer thread; on failure, says so and returns false.
    fn start(self: &Arc<Self>) -> bool {
        let inner = Arc::clone(self);
        let Err(error) = (self.spawn)(Box::new(move || inner.run())) else {
            self.lock().spawn_failures = 0;
            return true;
        };
        let mut queue = self.lock();
        queue.running = false;
        queue.spawn_failures += 1;
        let failures = queue.spawn_failures;
        drop(queue);
        if failures == 1 {
            tracing::warn!(
                target: "mcpstore_errors::sleep",
                %error,
                "cannot start the timer thread; the polling thread waits in its place"
            );
        } else {
            tracing::debug!(
                target: "mcpstore_errors::sleep",
                %error,
                failures,
                "still cannot start the timer thread"
            );
        }
        false
    }

    /// The timer thread's loop: serve the queue until the timer is dropped and the queue empty.
    fn run(self: Arc<Self>) {
        // Should the loop ever unwind, the next sleep starts a new thread instead of hanging.
        struct Unwinding<'a>(&'a Inner);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.lock().running = false;
                }
            }
        }
        let _unwinding = Unwinding(&self);
        let mut queue = self.lock();
        loop {
            if queue.shutdown && queue.wakers.is_empty() {
                // Under the lock, so a sleep registering now sees that it must start a thread.
                queue.running = false;
                return;
            }
            let due;
            (queue, due) = self.wait_for_due(queue, None, true);
            drop(queue);
            wake_all(due);
            queue = self.lock();
        }
    }

    /// Waits until the earliest deadline (or `until`, if sooner), or until the queue changes,
    /// then takes out every entry that is due. The lock is released while waiting. `thread`:
    /// the caller is the timer thread, which publishes what it waits for.
    fn wait_for_due<'a>(
        &'a self,
        queue: MutexGuard<'a, Queue>,
        until: Option<Instant>,
        thread: bool,
    ) -> (MutexGuard<'a, Queue>, Vec<Waker>) {
        let earliest = queue.wakers.first_key_value().map(|(key, _)| key.0);
        let earliest = match (earliest, until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let now = Instant::now();
        let mut queue = match earliest {
            Some(deadline) if deadline <= now => queue,
            None if queue.shutdown => queue,
            earliest => {
                let mut queue = queue;
                if thread {
                    queue.watch = earliest.map_or(Watch::Forever, Watch::Until);
                }
                let mut queue = self.wait(queue, earliest.map(|deadline| deadline - now));
                if thread {
                    queue.watch = Watch::Busy;
                }
                queue
            }
        };
        let now = Instant::now();
        // Every key at or before `now` sorts below `(now, u64::MAX)`; ids never get that high.
        let later = queue.wakers.split_off(&(now, u64::MAX));
        let due = std::mem::replace(&mut queue.wakers, later);
        (queue, due.into_values().collect())
    }

    fn wait<'a>(
        &'a self,
        queue: MutexGuard<'a, Queue>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, Queue> {
        match timeout {
            Some(timeout) => match self.changed.wait_timeout(queue, timeout) {
                Ok((queue, _)) => queue,
                Err(poisoned) => poisoned.into_inner().0,
            },
            None => self.changed.wait(queue).unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Stands in for the timer thread once, waiting no later than `deadline` (another stand-in
    /// may already have taken that entry out): the fallback when the thread cannot be started.
    fn serve_once(&self, deadline: Instant) {
        let (queue, due) = self.wait_for_due(self.lock(), Some(deadline), false);
        drop(queue);
        wake_all(due);
    }
}

/// Wakes each task outside the lock; a waker that panics cannot take the timer down with it.
fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for waker in wakers {
        if catch_unwind(AssertUnwindSafe(|| waker.wake())).is_err() {
            tracing::error!(target: "mcpstore_errors::sleep", "a task's waker panicked");
        }
    }
}

/// A future completing at its deadline, returned by [`sleep`] and [`Timer::sleep`].
pub(super) struct Sleep {
    inner: Arc<Inner>,
    /// `None`: beyond what `Instant` can represent, so never.
    deadline: Option<Instant>,
    /// Set once the sleep has an entry in the queue (the entry may since have fired).
    id: Option<u64>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline else {
            return Poll::Pending;
        };
        if Instant::now() >= deadline {
            this.deregister();
            return Poll::Ready(());
        }
        if !this.inner.register(deadline, &mut this.id, cx.waker()) {
            this.inner.serve_once(deadline);
            if Instant::now() >= deadline {
                this.deregister();
                return Poll::Ready(());
            }
            // Polled again at once: by then someone may be able to start the thread.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Sleep {
    /// Takes the entry out. With no thread serving the queue, this task may have been the one
    /// standing in for it: the next earliest task is woken to take over, or it would never be.
    fn deregister(&mut self) {
        let (Some(deadline), Some(id)) = (self.deadline, self.id.take()) else {
            return;
        };
        let mut queue = self.inner.lock();
        let removed = queue.wakers.remove(&(deadline, id));
        // Taken out rather than cloned (a clone is user code, and this holds the lock): woken,
        // the successor finds its entry gone and puts it back, as after the timer fired it.
        let successor = match queue.running {
            true => None,
            false => queue.wakers.pop_first().map(|(_, waker)| waker),
        };
        drop(queue);
        // A waker's drop is user code too, which may use this timer.
        drop(removed);
        wake_all(successor);
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::Wake;
    use std::thread::Thread;

    /// Wakes a parked thread; enough of an executor for one future.
    struct Unpark(Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    }

    fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    /// A timer whose spawner counts its calls and fails for the first `failures` of them.
    fn counting_timer(failures: usize) -> (Timer, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let timer = Timer::with_spawn(Box::new(move |body| {
            if counter.fetch_add(1, Ordering::SeqCst) < failures {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "process limit"));
            }
            std::thread::Builder::new().spawn(body).map(drop)
        }));
        (timer, calls)
    }

    /// Records the order in which tasks are woken.
    struct Recorder {
        index: usize,
        woken: Arc<Mutex<Vec<usize>>>,
    }

    impl Wake for Recorder {
        fn wake(self: Arc<Self>) {
            self.woken.lock().unwrap().push(self.index);
        }
    }

    /// The test thread was held up past a sleep's deadline before its first poll, as happens
    /// on a loaded machine: the scenario proves nothing and is run again with longer delays.
    #[derive(Debug)]
    struct Stalled;

    /// Polls a sleep that must still be pending.
    fn poll_pending(sleep: &mut Sleep, waker: &Waker) -> Result<(), Stalled> {
        match poll_once(sleep, waker) {
            Poll::Pending => Ok(()),
            Poll::Ready(()) => {
                let due = sleep.deadline.expect("only a representable deadline fires");
                assert!(Instant::now() >= due, "a sleep fired before its deadline");
                Err(Stalled)
            }
        }
    }

    /// Runs a scenario with its delays multiplied by 1, then 4, 16 and 64 while it stalls.
    fn unless_stalled(mut scenario: impl FnMut(u32) -> Result<(), Stalled>) {
        for scale in [1, 4, 16, 64] {
            if scenario(scale).is_ok() {
                return;
            }
        }
        panic!("held up past every deadline");
    }

    /// Runs a new sleep to completion, unless it is already due before its first poll, which
    /// then never reaches the timer (no entry, no thread).
    fn block_on_unless_due(sleep: Sleep) -> Result<(), Stalled> {
        let due = sleep.deadline.expect("a representable deadline");
        if Instant::now() >= due {
            return Err(Stalled);
        }
        block_on(sleep);
        Ok(())
    }

    fn wait_until(mut done: impl FnMut() -> bool) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < give_up, "timed out");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_sleep_completes_no_earlier_than_its_delay() {
        let start = Instant::now();
        block_on(sleep(Duration::from_millis(5)));
        assert!(start.elapsed() >= Duration::from_millis(5));
    }

    #[test]
    fn a_zero_delay_is_ready_at_once_without_a_thread() {
        let (timer, spawns) = counting_timer(0);
        let mut sleep = timer.sleep(Duration::ZERO);
        assert_eq!(poll_once(&mut sleep, Waker::noop()), Poll::Ready(()));
        assert_eq!(spawns.load(Ordering::SeqCst), 0);
        assert_eq!(timer.pending(), 0);
    }

    #[test]
    fn two_thousand_pending_sleeps_share_one_thread_and_leave_the_queue_when_dropped() {
        let (timer, spawns) = counting_timer(0);
        let mut sleeps: Vec<Sleep> = (0..2000)
            .map(|_| timer.sleep(Duration::from_secs(60)))
            .collect();
        for sleep in &mut sleeps {
            assert_eq!(poll_once(sleep, Waker::noop()), Poll::Pending);
        }
        assert_eq!(spawns.load(Ordering::SeqCst), 1);
        assert_eq!(timer.pending(), 2000);
        // A second poll refreshes the entry rather than adding one.
        assert_eq!(poll_once(&mut sleeps[0], Waker::noop()), Poll::Pending);
        assert_eq!(timer.pending(), 2000);
        sleeps.truncate(500);
        assert_eq!(timer.pending(), 500);
        drop(sleeps);
        assert_eq!(timer.pending(), 0);
        assert_eq!(spawns.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_completed_sleep_leaves_nothing_in_the_queue() {
        let (timer, _) = counting_timer(0);
        block_on(timer.sleep(Duration::from_millis(2)));
        assert_eq!(timer.pending(), 0);
    }

    #[test]
    fn deadlines_fire_in_order() {
        unless_stalled(|scale| {
            let (timer, _) = counting_timer(0);
            let woken = Arc::new(Mutex::new(Vec::new()));
            // Delays 1..=40 ms in a scrambled order (7 and 40 are coprime).
            let delays: Vec<u64> = (0..40).map(|i| (i * 7) % 40 + 1).collect();
            let mut sleeps: Vec<(Sleep, Waker)> = delays
                .iter()
                .enumerate()
                .map(|(index, &ms)| {
                    let waker = Waker::from(Arc::new(Recorder {
                        index,
                        woken: Arc::clone(&woken),
                    }));
                    (timer.sleep(Duration::from_millis(ms) * scale), waker)
                })
                .collect();
            for (sleep, waker) in &mut sleeps {
                poll_pending(sleep, waker)?;
            }
            // Ids follow the polling order, so ties go to the lower index.
            let mut expected: Vec<usize> = (0..delays.len()).collect();
            expected.sort_by_key(|&i| (sleeps[i].0.deadline, i));
            wait_until(|| woken.lock().unwrap().len() == delays.len());
            assert_eq!(*woken.lock().unwrap(), expected);
            for (sleep, waker) in &mut sleeps {
                assert_eq!(poll_once(sleep, waker), Poll::Ready(()));
            }
            assert_eq!(timer.pending(), 0);
            Ok(())
        });
    }

    #[test]
    fn a_sleep_due_before_the_one_the_thread_waits_for_wakes_it() {
        let (timer, _) = counting_timer(0);
        let mut far = timer.sleep(Duration::from_secs(60));
        assert_eq!(poll_once(&mut far, Waker::noop()), Poll::Pending);
        wait_until(|| matches!(timer.inner.lock().watch, Watch::Until(_)));
        let woken = Arc::new(Mutex::new(Vec::new()));
        let waker = Waker::from(Arc::new(Recorder {
            index: 0,
            woken: Arc::clone(&woken),
        }));
        unless_stalled(|scale| {
            let mut near = timer.sleep(Duration::from_millis(2) * scale);
            poll_pending(&mut near, &waker)?;
            // Were the thread left asleep until the far deadline, this would time out.
            wait_until(|| !woken.lock().unwrap().is_empty());
            assert_eq!(poll_once(&mut near, &waker), Poll::Ready(()));
            assert_eq!(timer.pending(), 1);
            Ok(())
        });
    }

    #[test]
    fn the_latest_waker_is_the_one_woken() {
        unless_stalled(|scale| {
            let (timer, _) = counting_timer(0);
            let woken = Arc::new(Mutex::new(Vec::new()));
            let waker = |index| {
                Waker::from(Arc::new(Recorder {
                    index,
                    woken: Arc::clone(&woken),
                }))
            };
            let mut sleep = timer.sleep(Duration::from_millis(3) * scale);
            poll_pending(&mut sleep, &waker(1))?;
            poll_pending(&mut sleep, &waker(2))?;
            wait_until(|| !woken.lock().unwrap().is_empty());
            assert_eq!(*woken.lock().unwrap(), [2]);
            Ok(())
        });
    }

    #[test]
    fn when_the_thread_cannot_start_the_polling_thread_still_waits() {
        unless_stalled(|scale| {
            let (timer, spawns) = counting_timer(usize::MAX);
            let start = Instant::now();
            block_on_unless_due(timer.sleep(Duration::from_millis(5) * scale))?;
            assert!(start.elapsed() >= Duration::from_millis(5) * scale);
            assert!(spawns.load(Ordering::SeqCst) >= 1);
            assert_eq!(timer.pending(), 0);
            Ok(())
        });
    }

    #[test]
    fn a_failed_start_is_retried_on_a_later_poll() {
        unless_stalled(|scale| {
            let (timer, spawns) = counting_timer(1);
            block_on_unless_due(timer.sleep(Duration::from_millis(3) * scale))?;
            // The first attempt failed and the polling thread waited in the thread's place; the
            // next sleep tries again, starts the thread, and is served by it.
            assert_eq!(spawns.load(Ordering::SeqCst), 1);
            block_on_unless_due(timer.sleep(Duration::from_millis(3) * scale))?;
            assert_eq!(spawns.load(Ordering::SeqCst), 2);
            Ok(())
        });
    }

    #[test]
    fn a_sleep_registered_while_the_thread_fails_to_start_is_handed_the_watch() {
        // The spawner polls a second sleep while the first poll's attempt is under way, so the
        // second sees the thread "starting" and does not stand in itself.
        unless_stalled(|scale| {
            let woken = Arc::new(Mutex::new(Vec::new()));
            let later: Arc<Mutex<Option<(Sleep, Waker)>>> = Arc::new(Mutex::new(None));
            // Whether the spawner polled the second sleep, and whether it found it due.
            let (polled, late) = (
                Arc::new(AtomicBool::new(false)),
                Arc::new(AtomicBool::new(false)),
            );
            let (slot, polled_flag, late_flag) =
                (Arc::clone(&later), Arc::clone(&polled), Arc::clone(&late));
            let timer = Timer::with_spawn(Box::new(move |_| {
                if let Some((sleep, waker)) = slot.lock().unwrap().as_mut() {
                    polled_flag.store(true, Ordering::SeqCst);
                    if poll_pending(sleep, waker).is_err() {
                        late_flag.store(true, Ordering::SeqCst);
                    }
                }
                Err(io::Error::new(io::ErrorKind::WouldBlock, "process limit"))
            }));
            let waker = Waker::from(Arc::new(Recorder {
                index: 1,
                woken: Arc::clone(&woken),
            }));
            let created = Instant::now();
            let second = timer.sleep(Duration::from_millis(10) * scale);
            let second_due = second.deadline.expect("a representable deadline");
            *later.lock().unwrap() = Some((second, waker));
            block_on(timer.sleep(Duration::from_millis(2) * scale));
            // The first sleep is done; the second must have been told to take over. A first
            // poll past the first sleep's deadline never tried to start the thread, and past
            // the second's, the stand-in may have fired it itself: both prove nothing.
            let (handed, pending) = (woken.lock().unwrap().clone(), timer.pending());
            let stalled = !polled.load(Ordering::SeqCst) || late.load(Ordering::SeqCst);
            if stalled || Instant::now() >= second_due {
                // Breaks the cycle timer -> spawner -> slot -> sleep -> timer.
                later.lock().unwrap().take();
                return Err(Stalled);
            }
            assert_eq!(handed, [1]);
            // Handed over as a fired entry is: taken out and woken (its poll puts it back).
            assert_eq!(pending, 0);
            let (mut sleep, waker) = later.lock().unwrap().take().unwrap();
            drop(later);
            block_on(std::future::poll_fn(|cx| Pin::new(&mut sleep).poll(cx)));
            assert!(created.elapsed() >= Duration::from_millis(10) * scale);
            drop(waker);
            Ok(())
        });
    }

    #[test]
    fn a_panicking_waker_does_not_stop_the_timer() {
        struct Panics;
        impl Wake for Panics {
            fn wake(self: Arc<Self>) {
                panic!("waker bug");
            }
        }
        let (timer, spawns) = counting_timer(0);
        unless_stalled(|scale| {
            let mut bad = timer.sleep(Duration::from_millis(1) * scale);
            poll_pending(&mut bad, &Waker::from(Arc::new(Panics)))?;
            wait_until(|| timer.pending() == 0);
            Ok(())
        });
        block_on(timer.sleep(Duration::from_millis(2)));
        assert_eq!(spawns.load(Ordering::SeqCst), 1);
    }

    /// The timer [`probing_waker`]'s clones and drops look at; set by the one test using it.
    static PROBED: Mutex<Option<Arc<Inner>>> = Mutex::new(None);
    static PROBE_RAN: AtomicUsize = AtomicUsize::new(0);
    static PROBE_UNDER_LOCK: AtomicUsize = AtomicUsize::new(0);
    static PROBE_WOKEN: AtomicUsize = AtomicUsize::new(0);

    /// A clone or drop of the probing waker (user code): was the timer's queue locked?
    fn probe_look(_: *const ()) {
        if let Some(inner) = PROBED.lock().unwrap().as_ref() {
            PROBE_RAN.fetch_add(1, Ordering::SeqCst);
            if inner.queue.try_lock().is_err() {
                PROBE_UNDER_LOCK.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    static PROBING: std::task::RawWakerVTable = std::task::RawWakerVTable::new(
        |data| {
            probe_look(data);
            std::task::RawWaker::new(data, &PROBING)
        },
        |data| {
            PROBE_WOKEN.fetch_add(1, Ordering::SeqCst);
            probe_look(data);
        },
        |_| {
            PROBE_WOKEN.fetch_add(1, Ordering::SeqCst);
        },
        probe_look,
    );

    /// A waker whose every clone and drop runs [`probe_look`] (a `Wake` impl's clone is the
    /// `Arc`'s, no user code).
    fn probing_waker() -> Waker {
        #[allow(unsafe_code)]
        // SAFETY: the vtable's functions never read the data pointer and are thread-safe.
        unsafe {
            Waker::from_raw(std::task::RawWaker::new(std::ptr::null(), &PROBING))
        }
    }

    #[test]
    fn wakers_are_cloned_and_dropped_with_the_queue_unlocked() {
        // Started as far as the queue knows, but nothing serves it: no thread touches it.
        let timer = Timer::with_spawn(Box::new(|_body| Ok(())));
        *PROBED.lock().unwrap() = Some(Arc::clone(&timer.inner));
        let probe = probing_waker();
        let mut first = timer.sleep(Duration::from_secs(60));
        assert_eq!(poll_once(&mut first, &probe), Poll::Pending); // the queue keeps a clone
        assert_eq!(poll_once(&mut first, &probe), Poll::Pending); // the same waker: kept
        assert_eq!(poll_once(&mut first, Waker::noop()), Poll::Pending); // replaced: dropped
        assert_eq!(poll_once(&mut first, &probe), Poll::Pending);
        let mut second = timer.sleep(Duration::from_secs(120));
        assert_eq!(poll_once(&mut second, Waker::noop()), Poll::Pending);
        // As after a failed start: a dropped sleep hands the watch to the earliest, `first`.
        timer.inner.lock().running = false;
        drop(second);
        assert_eq!(
            PROBE_WOKEN.load(Ordering::SeqCst),
            1,
            "the successor was woken"
        );
        // Woken, it puts its entry back.
        assert_eq!(poll_once(&mut first, Waker::noop()), Poll::Pending);
        assert_eq!(timer.pending(), 1);
        timer.inner.lock().running = true; // no stand-in: this poll must not block
        assert_eq!(poll_once(&mut first, &probe), Poll::Pending);
        drop(first); // the clone leaves with the entry
        drop(probe);
        *PROBED.lock().unwrap() = None;
        assert!(PROBE_RAN.load(Ordering::SeqCst) >= 6);
        assert_eq!(PROBE_UNDER_LOCK.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_unrepresentable_delay_never_completes_and_takes_no_entry() {
        let (timer, spawns) = counting_timer(0);
        let mut sleep = timer.sleep(Duration::MAX);
        assert_eq!(poll_once(&mut sleep, Waker::noop()), Poll::Pending);
        assert_eq!(timer.pending(), 0);
        assert_eq!(spawns.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_thread_leaves_when_its_timer_is_dropped() {
        unless_stalled(|scale| {
            let handle = Arc::new(Mutex::new(None));
            let slot = Arc::clone(&handle);
            let timer = Timer::with_spawn(Box::new(move |body| {
                *slot.lock().unwrap() = Some(std::thread::Builder::new().spawn(body)?);
                Ok(())
            }));
            block_on_unless_due(timer.sleep(Duration::from_millis(1) * scale))?;
            drop(timer);
            let thread = handle.lock().unwrap().take().expect("a thread was started");
            thread.join().expect("the timer thread ends cleanly");
            Ok(())
        });
    }
}

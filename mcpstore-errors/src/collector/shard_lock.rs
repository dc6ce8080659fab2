//! The lock of one shard. Its owning thread takes it on every collect; another thread only
//! now and then, to read or reset. A `std::sync::Mutex` releases with a second atomic
//! read-modify-write (to learn whether a parked thread must be woken), which costs a collect
//! as much as taking the lock; this lock is released by a plain store, and its waiters, never
//! parked, spin, then yield, then sleep in short steps until it is free. (`spin`'s mutex also
//! releases by a store, but its waiters spin or yield without end: a collect waiting on an
//! export would keep a core busy for milliseconds.)

// The crate's one use of `unsafe`: a lock must hand out `&mut` to the data it guards.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Spins before the first yield: a collect holds the lock for tens of nanoseconds.
const SPINS: u32 = 64;
/// Yields before the first sleep: a reader copying a large history may hold it for
/// milliseconds, and a waiter should not keep a core busy all that time.
const YIELDS: u32 = 16;
/// One sleep's length, which bounds how late a sleeping waiter sees the lock free.
const NAP: Duration = Duration::from_micros(20);

pub(super) struct ShardLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, and one guard at most exists at a time
// (`locked` is set by a successful compare-exchange and cleared when the guard drops).
unsafe impl<T: Send> Send for ShardLock<T> {}
unsafe impl<T: Send> Sync for ShardLock<T> {}

impl<T> ShardLock<T> {
    pub(super) fn new(data: T) -> Self {
        ShardLock {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(data),
        }
    }

    /// Waits until the lock is free and takes it.
    #[inline]
    pub(super) fn lock(&self) -> ShardGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ShardGuard { lock: self }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut waits = 0u32;
        loop {
            // Read until free before trying again: a failed compare-exchange would take
            // the line from the holder.
            while self.locked.load(Ordering::Relaxed) {
                if waits < SPINS {
                    std::hint::spin_loop();
                } else if waits < SPINS + YIELDS {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(NAP);
                }
                waits = waits.saturating_add(1);
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl<T: Default> Default for ShardLock<T> {
    fn default() -> Self {
        ShardLock::new(T::default())
    }
}

impl<T> fmt::Debug for ShardLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardLock")
            .field("locked", &self.locked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The lock held: released when dropped, also while unwinding (a panic under the lock
/// leaves the data as it was left, which every user of a shard tolerates: no poisoning).
pub(super) struct ShardGuard<'a, T> {
    lock: &'a ShardLock<T>,
}

impl<T> Deref for ShardGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for ShardGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for ShardGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn threads_that_take_the_lock_in_turn_never_overlap_and_lose_no_update() {
        let lock = Arc::new(ShardLock::new((0u64, false)));
        let threads = 4;
        let rounds = 20_000;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..rounds {
                        let mut guard = lock.lock();
                        assert!(!guard.1, "another thread is inside");
                        guard.1 = true;
                        // A read-modify-write split in two: a lost update if two overlap.
                        let seen = guard.0;
                        std::hint::black_box(&mut *guard);
                        guard.0 = seen + 1;
                        guard.1 = false;
                    }
                });
            }
        });
        assert_eq!(lock.lock().0, threads * rounds);
    }

    #[test]
    fn a_waiter_gets_the_lock_once_a_long_holder_releases_it() {
        let lock = ShardLock::new(Vec::new());
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let lock = &lock;
            scope.spawn(move || {
                let mut guard = lock.lock();
                held_tx.send(()).unwrap();
                // Past the spins and yields: the waiter is asleep by now, or soon.
                let _ = release_rx.recv();
                guard.push("holder");
            });
            held_rx.recv().unwrap();
            let waiter = scope.spawn(move || lock.lock().push("waiter"));
            std::thread::sleep(Duration::from_millis(2));
            release_tx.send(()).unwrap();
            waiter.join().unwrap();
        });
        assert_eq!(*lock.lock(), ["holder", "waiter"]);
    }

    #[test]
    fn a_panic_under_the_lock_releases_it() {
        let lock = ShardLock::new(1);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut guard = lock.lock();
            *guard = 2;
            panic!("under the lock");
        }));
        assert!(panicked.is_err());
        assert_eq!(*lock.lock(), 2);
    }
}

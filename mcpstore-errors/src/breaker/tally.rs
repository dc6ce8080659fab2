//! A time window's successes, counted without the breaker's lock while the window holds no
//! failure and no slow call (so that no success can trip it): a count for one time slice,
//! moved into the window by the next holder of the lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Low bits of `count`: successes; high bits: how many times it was taken, so that an
/// increment prepared before a take always fails.
const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// On lines of its own: every success of a time window writes it, while every call reads the
/// breaker's state word.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Tally {
    /// `takes << COUNT_BITS | successes`.
    count: AtomicU64,
    /// Nanoseconds after the breaker's origin at which the tallied slice ends; 0 while closed.
    until: AtomicU64,
}

impl Tally {
    /// Whether successes may be tallied (a hint: [`add`](Self::add) decides).
    #[inline]
    pub(super) fn is_open(&self) -> bool {
        self.until.load(Ordering::Relaxed) != 0
    }

    /// Counts one success at `at` nanoseconds after the origin, if the tally is open, `at` is
    /// inside its slice and `current` holds for the breaker's state word read after the tally
    /// (the caller's generation is the breaker's, and it is closed). `false`: report it under
    /// the lock.
    ///
    /// Why the order of the loads makes this exact: [`take`](Self::take) closes `until` before
    /// it bumps `count`, and [`open`](Self::open) runs after the state word is published. A
    /// `count` read after a take therefore sees `until` closed or reopened, and a reopened
    /// `until` means the state word read next is the one published with it.
    #[inline]
    pub(super) fn add(&self, at: u64, current: impl Fn() -> bool) -> bool {
        let mut count = self.count.load(Ordering::Acquire);
        loop {
            let until = self.until.load(Ordering::Acquire);
            if at >= until || count & COUNT_MASK == COUNT_MASK || !current() {
                return false;
            }
            match self.count.compare_exchange_weak(
                count,
                count + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(changed) => count = changed,
            }
        }
    }

    /// Closes the tally and returns the successes counted since it was opened. Under the
    /// breaker's lock.
    pub(super) fn take(&self) -> u64 {
        self.until.store(0, Ordering::Relaxed);
        // One step: a zero count under a new take number, so that an `add` that read the
        // old value fails.
        let next = |count: u64| Some(((count >> COUNT_BITS) + 1) << COUNT_BITS);
        let taken = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, next)
            .unwrap_or_else(|count| count);
        taken & COUNT_MASK
    }

    /// Opens the tally for a slice ending `until` nanoseconds after the origin (not 0). Under
    /// the breaker's lock, after a [`take`](Self::take) and after the state word is
    /// published.
    pub(super) fn open(&self, until: u64) {
        self.until.store(until, Ordering::Release);
    }
}

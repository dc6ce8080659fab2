//! The sliding windows that count recent calls: a ring of the last N, or time buckets.

use std::time::{Duration, Instant};

use super::config::SlidingWindow;

const FAILED: u8 = 1;
const SLOW: u8 = 2;

/// One counted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub failed: bool,
    pub slow: bool,
}

/// Totals over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub calls: u64,
    pub failures: u64,
    pub slow: u64,
}

#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    pub fn new(kind: SlidingWindow, origin: Instant) -> Self {
        match kind {
            SlidingWindow::Count(size) => Window::Count(CountWindow {
                ring: vec![0; size as usize].into_boxed_slice(),
                next: 0,
                totals: Totals::default(),
            }),
            SlidingWindow::Time { length, buckets } => {
                let slice = (length / buckets).max(Duration::from_nanos(1));
                let mut window = TimeWindow {
                    buckets: vec![Totals::default(); buckets as usize].into_boxed_slice(),
                    slice_nanos: slice.as_nanos(),
                    origin,
                    newest: 0,
                    newest_slot: 0,
                    newest_end: None,
                    totals: Totals::default(),
                };
                window.set_newest(0);
                Window::Time(window)
            }
        }
    }

    pub fn record(&mut self, outcome: Outcome, now: Instant) {
        match self {
            Window::Count(ring) => ring.record(outcome),
            Window::Time(buckets) => buckets.record(outcome, now),
        }
    }

    pub fn totals(&mut self, now: Instant) -> Totals {
        match self {
            Window::Count(ring) => ring.totals,
            Window::Time(buckets) => {
                buckets.expire(now);
                buckets.totals
            }
        }
    }

    pub fn clear(&mut self, now: Instant) {
        match self {
            Window::Count(ring) => {
                ring.ring.fill(0);
                ring.next = 0;
                ring.totals = Totals::default();
            }
            Window::Time(buckets) => {
                buckets.buckets.fill(Totals::default());
                buckets.totals = Totals::default();
                buckets.set_newest(buckets.index(now));
            }
        }
    }

    /// For a time window holding no failure and no slow call (where no success can trip the
    /// breaker): its newest slice and when that slice ends.
    pub fn tally_slice(&self) -> Option<(u128, Instant)> {
        match self {
            Window::Time(buckets) if buckets.totals.failures == 0 && buckets.totals.slow == 0 => {
                Some((buckets.newest, buckets.newest_end?))
            }
            _ => None,
        }
    }

    /// Adds `count` plain successes made during slice `slice` of a time window, unless that
    /// slice has left the window by `now`.
    pub fn add_successes(&mut self, slice: u128, count: u64, now: Instant) {
        if let Window::Time(buckets) = self {
            buckets.expire(now);
            let len = buckets.buckets.len() as u128;
            if slice <= buckets.newest && buckets.newest - slice < len {
                buckets.buckets[(slice % len) as usize].calls += count;
                buckets.totals.calls += count;
            }
        }
    }

    /// Whether a success would leave the window as it is: a full ring of plain successes.
    pub fn is_full_of_successes(&self) -> bool {
        match self {
            Window::Count(ring) => {
                ring.totals.calls == ring.ring.len() as u64
                    && ring.totals.failures == 0
                    && ring.totals.slow == 0
            }
            Window::Time(_) => false,
        }
    }
}

/// The last `ring.len()` calls; `totals.calls` counts the filled slots.
#[derive(Debug)]
pub(crate) struct CountWindow {
    ring: Box<[u8]>,
    next: usize,
    totals: Totals,
}

impl CountWindow {
    fn record(&mut self, outcome: Outcome) {
        let full = self.totals.calls == self.ring.len() as u64;
        if full {
            let evicted = self.ring[self.next];
            self.totals.failures -= u64::from(evicted & FAILED != 0);
            self.totals.slow -= u64::from(evicted & SLOW != 0);
        } else {
            self.totals.calls += 1;
        }
        let bits = if outcome.failed { FAILED } else { 0 } | if outcome.slow { SLOW } else { 0 };
        self.ring[self.next] = bits;
        self.totals.failures += u64::from(outcome.failed);
        self.totals.slow += u64::from(outcome.slow);
        self.next = (self.next + 1) % self.ring.len();
    }
}

/// Calls per time slice; slice `n` covers `[origin + n·slice, origin + (n+1)·slice)`.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Totals]>,
    slice_nanos: u128,
    origin: Instant,
    /// The slice number of the newest bucket.
    newest: u128,
    /// `newest % buckets.len()`.
    newest_slot: usize,
    /// When the newest slice ends (`None`: later than an `Instant` reaches), so that a call
    /// within it needs no division to find its bucket.
    newest_end: Option<Instant>,
    totals: Totals,
}

impl TimeWindow {
    fn index(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.origin).as_nanos() / self.slice_nanos
    }

    fn set_newest(&mut self, index: u128) {
        self.newest = index;
        self.newest_slot = (index % self.buckets.len() as u128) as usize;
        let end = (index + 1).saturating_mul(self.slice_nanos);
        self.newest_end = u64::try_from(end / 1_000_000_000).ok().and_then(|secs| {
            let nanos = (end % 1_000_000_000) as u32;
            self.origin.checked_add(Duration::new(secs, nanos))
        });
    }

    /// Empties the buckets whose slices have left the window.
    #[inline]
    fn expire(&mut self, now: Instant) {
        match self.newest_end {
            Some(end) if now >= end => self.rotate(now),
            _ => {}
        }
    }

    #[cold]
    fn rotate(&mut self, now: Instant) {
        let current = self.index(now);
        if current <= self.newest {
            return;
        }
        let len = self.buckets.len() as u128;
        // At most one pass over the ring, however long the pause.
        let stale = (current - self.newest).min(len);
        for step in 1..=stale {
            let slot = ((self.newest + step) % len) as usize;
            let old = std::mem::take(&mut self.buckets[slot]);
            self.totals.calls -= old.calls;
            self.totals.failures -= old.failures;
            self.totals.slow -= old.slow;
        }
        self.set_newest(current);
    }

    fn record(&mut self, outcome: Outcome, now: Instant) {
        self.expire(now);
        let bucket = &mut self.buckets[self.newest_slot];
        bucket.calls += 1;
        bucket.failures += u64::from(outcome.failed);
        bucket.slow += u64::from(outcome.slow);
        self.totals.calls += 1;
        self.totals.failures += u64::from(outcome.failed);
        self.totals.slow += u64::from(outcome.slow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAIL: Outcome = Outcome {
        failed: true,
        slow: false,
    };
    const OK: Outcome = Outcome {
        failed: false,
        slow: false,
    };

    #[test]
    fn the_call_after_a_full_ring_pushes_out_the_first() {
        let now = Instant::now();
        let mut window = Window::new(SlidingWindow::Count(3), now);
        for outcome in [FAIL, OK, OK] {
            window.record(outcome, now);
        }
        assert_eq!(
            window.totals(now),
            Totals {
                calls: 3,
                failures: 1,
                slow: 0
            }
        );
        window.record(OK, now);
        assert_eq!(
            window.totals(now),
            Totals {
                calls: 3,
                failures: 0,
                slow: 0
            }
        );
        assert!(window.is_full_of_successes());
    }

    #[test]
    fn time_buckets_count_exactly_the_calls_of_the_last_slices() {
        // Against the definition: a call at `t` counts at `now` while their slice numbers
        // differ by less than the number of buckets. Slices of 7 ns, steps of 0 to 29 ns,
        // so calls land on, just before and just after slice edges.
        let start = Instant::now();
        let mut window = Window::new(
            SlidingWindow::Time {
                length: Duration::from_nanos(70),
                buckets: 10,
            },
            start,
        );
        let slice = |t: u64| t / 7;
        let mut calls: Vec<(u64, Outcome)> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut now = 0;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            now += seed % 30;
            let at = start + Duration::from_nanos(now);
            if seed % 3 == 0 {
                let outcome = if seed % 2 == 0 { FAIL } else { OK };
                window.record(outcome, at);
                calls.push((now, outcome));
            }
            let live = calls
                .iter()
                .filter(|(t, _)| slice(now) - slice(*t) < 10)
                .map(|(_, outcome)| *outcome);
            let expected = live.fold(Totals::default(), |mut totals, outcome| {
                totals.calls += 1;
                totals.failures += u64::from(outcome.failed);
                totals
            });
            assert_eq!(window.totals(at), expected, "at {now} ns");
        }
    }

    #[test]
    fn a_slice_longer_than_an_instant_reaches_never_expires() {
        let start = Instant::now();
        let mut window = Window::new(
            SlidingWindow::Time {
                length: Duration::MAX,
                buckets: 1,
            },
            start,
        );
        window.record(FAIL, start);
        let late = start + Duration::from_secs(u64::from(u32::MAX));
        assert_eq!(window.totals(late).failures, 1);
    }

    #[test]
    fn time_buckets_expire_whole_slices_even_after_a_long_pause() {
        let start = Instant::now();
        let length = Duration::from_secs(10);
        let mut window = Window::new(
            SlidingWindow::Time {
                length,
                buckets: 10,
            },
            start,
        );
        window.record(FAIL, start);
        window.record(OK, start + Duration::from_millis(5500));
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert_eq!(window.totals(at(9)).calls, 2);
        assert_eq!(
            window.totals(at(10)),
            Totals {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        assert_eq!(window.totals(at(16)).calls, 0);
        window.record(FAIL, at(1_000_000));
        assert_eq!(window.totals(at(1_000_000)).failures, 1);
    }
}

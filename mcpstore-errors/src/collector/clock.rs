//! Where the collector reads the wall-clock time.
//!
//! The system clock costs a third of a collect here (~30 ns through the vDSO). Without an
//! injected clock, each thread reads it once per [`REANCHOR`] instead, and between two reads
//! derives the time from the CPU's counter (`quanta`: the TSC, ~18 ns; where the counter is
//! unusable, quanta reads the monotonic clock and nothing is gained or lost). A step of the
//! system clock, forwards or back, is followed within `REANCHOR`.
//!
//! Times are kept as [`Stamp`]s, integers: `SystemTime`'s arithmetic and comparisons are
//! calls into std, several per collect.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::Clock;

#[derive(Debug, Clone)]
pub(super) enum TimeSource {
    System,
    Custom(Arc<dyn Clock>),
}

impl TimeSource {
    #[inline]
    pub(super) fn now(&self) -> Stamp {
        match self {
            TimeSource::System => system_now(),
            TimeSource::Custom(clock) => Stamp::of(clock.system_time()),
        }
    }

    /// Calibrates the counter (once per process: 0.65 ms on the 2-core VM the benches run
    /// on, at most 200 ms) when the collector is built, rather than in its first collect.
    pub(super) fn warm_up(&self) {
        if let TimeSource::System = self {
            counter();
        }
    }
}

/// How long a thread derives the wall time from the counter before reading the system clock
/// again: how late a step of the system clock may be followed. At 20 million collects a
/// second, one in 20,000 reads the system clock.
const REANCHOR: Duration = Duration::from_millis(1);

/// A step back smaller than this, found when re-anchoring, is taken for the counter's error
/// and absorbed: the thread's time stands still until the system clock catches up, so one
/// thread's times never go back and its records keep their collect order. The counter's
/// rate is quanta's estimate, which a calibration preempted on a loaded machine can put
/// several percent off; a time derived from an anchor never runs more than `REANCHOR` past
/// it, so a step back under `REANCHOR` is the counter's error whatever its size. A larger
/// step back is the clock being set, and is followed.
const ABSORBED: Duration = REANCHOR;

/// A wall-clock time in nanoseconds after the Unix epoch (negative before it), from 1677 to
/// 2262: a time outside is taken as the nearest end (as [`ManualClock`](crate::ManualClock)
/// keeps its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Stamp(i64);

impl Stamp {
    pub(super) fn of(time: SystemTime) -> Stamp {
        Stamp(match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        })
    }

    /// Nanoseconds after the Unix epoch.
    pub(super) fn nanos(self) -> i64 {
        self.0
    }

    /// The `SystemTime` (every stamp is one).
    pub(super) fn time(self) -> SystemTime {
        let nanos = Duration::from_nanos(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH + nanos
        } else {
            UNIX_EPOCH - nanos
        }
    }
}

static COUNTER: OnceLock<quanta::Clock> = OnceLock::new();

fn counter() -> &'static quanta::Clock {
    COUNTER.get_or_init(quanta::Clock::new)
}

thread_local! {
    static ANCHOR: Anchor = const { Anchor::new() };
}

/// The system clock's time, derived from this thread's anchor.
#[inline]
fn system_now() -> Stamp {
    let counter = counter();
    ANCHOR
        .try_with(|anchor| anchor.now(counter, SystemTime::now))
        // Unreachable (no destructor to have run), but costs nothing to handle.
        .unwrap_or_else(|_| Stamp::of(SystemTime::now()))
}

/// One thread's last reading of the wall clock, with the counter's reading at that moment.
/// In cells, so that a collect reads and writes only the fields it needs.
#[derive(Debug)]
struct Anchor {
    wall: Cell<Stamp>,
    /// `u64::MAX` until the first reading: no counter reading exceeds it.
    ticks: Cell<u64>,
    /// The last time given out: times given out never go back by less than `ABSORBED`.
    last: Cell<Stamp>,
}

/// `REANCHOR` and `ABSORBED` in nanoseconds.
const REANCHOR_NANOS: u64 = REANCHOR.as_nanos() as u64;
const ABSORBED_NANOS: i64 = ABSORBED.as_nanos() as i64;

impl Anchor {
    const fn new() -> Self {
        Anchor {
            wall: Cell::new(Stamp(0)),
            ticks: Cell::new(u64::MAX),
            last: Cell::new(Stamp(0)),
        }
    }

    /// The wall time: the anchor's plus the counter's time since, while the anchor is
    /// younger than `REANCHOR` and the counter moved forward; otherwise `wall()`, anchored.
    #[inline]
    fn now(&self, counter: &quanta::Clock, wall: impl FnMut() -> SystemTime) -> Stamp {
        let ticks = counter.raw();
        let anchored = self.ticks.get();
        if ticks > anchored {
            let elapsed = counter.delta_as_nanos(anchored, ticks);
            if elapsed < REANCHOR_NANOS {
                // Below a millisecond: fits, and adds to any stamp but the last millisecond's.
                if let Some(now) = self.wall.get().0.checked_add(elapsed as i64) {
                    let now = Stamp(now).max(self.last.get());
                    self.last.set(now);
                    return now;
                }
            }
        }
        self.reanchor(counter, wall)
    }

    #[cold]
    fn reanchor(&self, counter: &quanta::Clock, mut wall: impl FnMut() -> SystemTime) -> Stamp {
        let (ticks, wall) = paired(counter, &mut wall);
        let anchored = self.ticks.get() != u64::MAX;
        let last = self.last.get();
        let absorbed = anchored && last >= wall && last.0 - wall.0 < ABSORBED_NANOS;
        let now = if absorbed { last } else { wall };
        self.wall.set(wall);
        self.ticks.set(ticks);
        self.last.set(now);
        now
    }
}

/// How far apart the counter's readings around a read of the wall clock may be for the two
/// to be taken as one moment; a thread preempted in between reads again.
const PAIRED_WITHIN_NANOS: u64 = 20_000;

/// Reads of the wall clock tried before the last is kept, however far apart its counter's.
const PAIRING_TRIES: usize = 4;

/// A reading of the wall clock and the counter's at the same moment. The counter is read
/// after the wall clock, so a thread preempted in between gets an anchor that runs behind the
/// wall clock, never ahead: an anchor ahead would give out times the next anchor must go back
/// from, out of collect order.
fn paired(counter: &quanta::Clock, wall: &mut impl FnMut() -> SystemTime) -> (u64, Stamp) {
    let mut tries = 0;
    loop {
        tries += 1;
        let before = counter.raw();
        let time = Stamp::of(wall());
        let after = counter.raw();
        let close = after >= before && counter.delta_as_nanos(before, after) <= PAIRED_WITHIN_NANOS;
        if close || tries == PAIRING_TRIES {
            return (after, time);
        }
    }
}

/// Whether `then` lies within `window` before `now`; a `then` after `now` (the clock stepped
/// back) counts as within.
#[inline]
pub(super) fn within(now: Stamp, then: Stamp, window: Duration) -> bool {
    i128::from(now.0) - i128::from(then.0) < window.as_nanos() as i128
}

/// The time after which a time lies within `window` before `now`; `None` when every time
/// does (`now - window` precedes the range of stamps). With [`inside`], `within` with the
/// subtraction done once for many times.
#[inline]
pub(super) fn cutoff(now: Stamp, window: Duration) -> Option<Stamp> {
    let window = i64::try_from(window.as_nanos()).ok()?;
    now.0.checked_sub(window).map(Stamp)
}

/// Whether `then` lies after `cutoff`: `within(now, then, window)` for `cutoff(now, window)`.
#[inline]
pub(super) fn inside(then: Stamp, cutoff: Option<Stamp>) -> bool {
    cutoff.is_none_or(|cutoff| then > cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn inside_the_cutoff_agrees_with_within() {
        let base = UNIX_EPOCH + Duration::from_secs(10);
        let windows = [0, 1, 999, 1_000, 1_001, 10_000, u64::MAX].map(Duration::from_millis);
        let ends = [Stamp(i64::MIN), Stamp(i64::MAX)];
        let nows = [UNIX_EPOCH, base, base + Duration::from_millis(1)].map(Stamp::of);
        for now in nows.into_iter().chain(ends) {
            let thens = [0, 8_999, 9_000, 9_001, 10_000, 10_001, 20_000]
                .map(|millis| Stamp::of(UNIX_EPOCH + Duration::from_millis(millis)));
            for then in thens.into_iter().chain(ends) {
                for window in windows {
                    assert_eq!(
                        inside(then, cutoff(now, window)),
                        within(now, then, window),
                        "{now:?} {then:?} {window:?}"
                    );
                }
            }
        }
    }

    /// A counter and a wall clock under the test's control, and how often the wall clock was
    /// read.
    struct Rig {
        counter: quanta::Clock,
        ticks: Arc<quanta::Mock>,
        wall: ManualClock,
        reads: Cell<usize>,
        anchor: Anchor,
    }

    impl Rig {
        fn new() -> Self {
            let (counter, ticks) = quanta::Clock::mock();
            ticks.increment(Duration::from_secs(5));
            Rig {
                counter,
                ticks,
                wall: ManualClock::new(),
                reads: Cell::new(0),
                anchor: Anchor::new(),
            }
        }

        fn now(&self) -> SystemTime {
            let (wall, reads) = (&self.wall, &self.reads);
            self.anchor
                .now(&self.counter, || {
                    reads.set(reads.get() + 1);
                    wall.system_time()
                })
                .time()
        }

        /// Time passes on both clocks.
        fn pass(&self, by: Duration) {
            self.ticks.increment(by);
            self.wall.advance(by);
        }
    }

    #[test]
    fn between_anchors_the_time_comes_from_the_counter_alone() {
        let rig = Rig::new();
        let start = rig.now();
        assert_eq!(start, rig.wall.system_time());
        for step in 1..10 {
            rig.pass(Duration::from_micros(100));
            assert_eq!(rig.now(), start + Duration::from_micros(100 * step));
        }
        assert_eq!(rig.reads.get(), 1, "the wall clock was read once");
        rig.pass(REANCHOR);
        assert_eq!(rig.now(), rig.wall.system_time());
        assert_eq!(
            rig.reads.get(),
            2,
            "an anchor older than REANCHOR is renewed"
        );
    }

    #[test]
    fn a_stepped_clock_is_followed_within_the_period() {
        for step_back in [false, true] {
            let rig = Rig::new();
            let start = rig.now();
            let stepped = if step_back {
                start - Duration::from_secs(3600)
            } else {
                start + Duration::from_secs(3600)
            };
            rig.wall.set_system_time(stepped);
            // Until the anchor is a period old, the counter still rules.
            rig.pass(REANCHOR / 2);
            assert_eq!(rig.now(), start + REANCHOR / 2);
            rig.pass(REANCHOR / 2);
            assert_eq!(
                rig.now(),
                stepped + REANCHOR,
                "followed once the period ends"
            );
            rig.pass(Duration::from_micros(10));
            assert_eq!(rig.now(), stepped + REANCHOR + Duration::from_micros(10));
        }
    }

    #[test]
    fn a_small_step_back_is_absorbed_and_a_thread_times_never_go_back() {
        let rig = Rig::new();
        let start = rig.now();
        // The counter runs 90 µs fast over 900 µs (as against a slewed system clock).
        rig.ticks.increment(Duration::from_micros(990));
        rig.wall.advance(Duration::from_micros(900));
        let ahead = start + Duration::from_micros(990);
        assert_eq!(rig.now(), ahead);
        // The period is over: the wall clock is read, 70 µs behind the last time given out.
        rig.pass(Duration::from_micros(20));
        assert_eq!(rig.now(), ahead, "stands still rather than going back");
        assert_eq!(rig.reads.get(), 2);
        rig.pass(Duration::from_micros(20));
        assert_eq!(rig.now(), ahead, "still behind: stands still");
        rig.pass(Duration::from_micros(80));
        assert_eq!(
            rig.now(),
            start + Duration::from_micros(1_020),
            "caught up: moves with the wall clock again"
        );
    }

    #[test]
    fn a_thread_preempted_before_it_reads_the_wall_clock_is_not_put_ahead_of_it() {
        let rig = Rig::new();
        rig.now();
        rig.pass(REANCHOR);
        // Renewing the anchor, the thread loses the processor for 500 µs just before it
        // reads the wall clock.
        let preempted = Cell::new(true);
        let renewed = rig.anchor.now(&rig.counter, || {
            if preempted.replace(false) {
                rig.pass(Duration::from_micros(500));
            }
            rig.wall.system_time()
        });
        assert_eq!(renewed.time(), rig.wall.system_time());
        rig.pass(Duration::from_micros(200));
        assert_eq!(
            rig.now(),
            rig.wall.system_time(),
            "derived from an anchor taken at one moment"
        );
        // Were the anchor 500 µs ahead, the next one would step back by more than is
        // absorbed, and this thread's records would go out of collect order.
        rig.pass(REANCHOR);
        assert_eq!(rig.now(), rig.wall.system_time());
    }

    #[test]
    fn a_thread_preempted_after_it_reads_the_wall_clock_reads_it_again() {
        let rig = Rig::new();
        rig.now();
        rig.pass(REANCHOR);
        let reads = Cell::new(0);
        let renewed = rig.anchor.now(&rig.counter, || {
            reads.set(reads.get() + 1);
            let time = rig.wall.system_time();
            if reads.get() == 1 {
                rig.pass(Duration::from_micros(500));
            }
            time
        });
        assert_eq!(
            reads.get(),
            2,
            "the first reading was too far from the counter's"
        );
        assert_eq!(renewed.time(), rig.wall.system_time());
        rig.pass(Duration::from_micros(200));
        assert_eq!(rig.now(), rig.wall.system_time(), "not 500 µs behind");
    }

    #[test]
    fn a_thread_preempted_at_every_reading_keeps_the_last_and_runs_behind_not_ahead() {
        let rig = Rig::new();
        rig.now();
        rig.pass(REANCHOR);
        let reads = Cell::new(0);
        let renewed = rig.anchor.now(&rig.counter, || {
            reads.set(reads.get() + 1);
            let time = rig.wall.system_time();
            rig.pass(Duration::from_micros(100));
            time
        });
        assert_eq!(reads.get(), PAIRING_TRIES, "bounded");
        let behind = Duration::from_micros(100);
        assert_eq!(renewed.time() + behind, rig.wall.system_time());
        rig.pass(Duration::from_micros(200));
        assert_eq!(rig.now() + behind, rig.wall.system_time());
    }

    #[test]
    fn a_counter_whose_rate_is_off_never_takes_a_threads_times_back() {
        for (counter_micros, wall_micros) in [(13, 10), (20, 10), (10, 13), (3, 1)] {
            let rig = Rig::new();
            let mut last = rig.now();
            for _ in 0..2_000 {
                rig.ticks.increment(Duration::from_micros(counter_micros));
                rig.wall.advance(Duration::from_micros(wall_micros));
                let now = rig.now();
                assert!(now >= last, "{counter_micros}:{wall_micros}: went back");
                let wall = rig.wall.system_time();
                assert!(now + REANCHOR >= wall && now <= wall + REANCHOR);
                last = now;
            }
            assert!(rig.reads.get() > 1, "the anchor was renewed");
        }
    }

    #[test]
    fn a_counter_that_goes_back_or_stands_still_renews_the_anchor() {
        let rig = Rig::new();
        rig.now();
        rig.wall.advance(Duration::from_secs(1));
        rig.ticks.decrement(Duration::from_millis(1));
        assert_eq!(rig.now(), rig.wall.system_time());
        assert_eq!(rig.reads.get(), 2);
        rig.wall.advance(Duration::from_secs(1));
        assert_eq!(rig.now(), rig.wall.system_time(), "the counter stood still");
        assert_eq!(rig.reads.get(), 3);
    }

    #[test]
    fn the_system_source_stays_close_to_the_system_clock_and_never_goes_back() {
        let source = TimeSource::System;
        source.warm_up();
        let mut last = source.now().time();
        for _ in 0..10_000 {
            let before = SystemTime::now();
            let now = source.now().time();
            let after = SystemTime::now();
            assert!(now >= last, "{now:?} after {last:?}");
            // Within a period plus the absorbed drift of the system clock's reads around it.
            let slack = REANCHOR + ABSORBED;
            assert!(now + slack >= before && now <= after + slack);
            last = now;
        }
    }

    #[test]
    fn a_stamp_is_the_time_to_the_nanosecond_and_clamps_beyond_its_range() {
        let year = Duration::from_secs(365 * 86_400);
        for time in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_767_225_600, 123_456_789),
            UNIX_EPOCH - Duration::new(1, 500_000_000),
            UNIX_EPOCH + 200 * year,
            UNIX_EPOCH - 200 * year,
        ] {
            assert_eq!(Stamp::of(time).time(), time);
        }
        assert!(Stamp::of(UNIX_EPOCH - Duration::new(1, 0)) < Stamp::of(UNIX_EPOCH));
        assert_eq!(Stamp::of(UNIX_EPOCH + 300 * year), Stamp(i64::MAX));
        assert_eq!(Stamp::of(UNIX_EPOCH - 300 * year), Stamp(i64::MIN));
        assert_eq!(
            Stamp(i64::MIN).time(),
            UNIX_EPOCH - Duration::from_nanos(1 << 63)
        );
    }
}

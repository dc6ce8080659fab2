//! Time, injectable: every layer that reads the time (cache TTLs, collector windows, circuit
//! breakers, retry budgets, deadlines) reads it from a [`Clock`], so tests run on virtual time.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A source of time: a monotonic instant for durations and a wall-clock time for timestamps.
///
/// [`SystemClock`] reads the operating system; [`ManualClock`] moves only when told to;
/// `TokioClock` (feature `tokio`) follows tokio's time, paused and advanced in tests.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// A monotonic instant: never goes backwards, used for every elapsed-time measure.
    fn now(&self) -> Instant;

    /// The wall-clock time, used for timestamps; may step backwards like the system's.
    fn system_time(&self) -> SystemTime;
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[inline]
    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to: [`advance`](ManualClock::advance) moves both of its
/// times; [`set_system_time`](ManualClock::set_system_time) steps the wall clock alone, in
/// either direction, as an operating system's clock may.
///
/// `const`-constructible, so it can live in a `static`; its monotonic origin is the first
/// moment it is read.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now() - start, Duration::from_secs(90));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    origin: OnceLock<Instant>,
    elapsed_nanos: AtomicU64,
    /// Nanoseconds after the Unix epoch.
    wall_nanos: AtomicI64,
}

/// 2026-01-01T00:00:00Z, where a new [`ManualClock`]'s wall clock starts.
const DEFAULT_WALL_SECS: i64 = 1_767_225_600;

impl ManualClock {
    /// A clock whose wall time starts at 2026-01-01T00:00:00Z.
    pub const fn new() -> Self {
        ManualClock {
            origin: OnceLock::new(),
            elapsed_nanos: AtomicU64::new(0),
            wall_nanos: AtomicI64::new(DEFAULT_WALL_SECS * 1_000_000_000),
        }
    }

    /// A clock whose wall time starts at `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        let clock = ManualClock::new();
        clock.set_system_time(start);
        clock
    }

    /// Moves both times forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .elapsed_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(nanos))
            });
        let nanos = i64::try_from(nanos).unwrap_or(i64::MAX);
        let _ = self
            .wall_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(nanos))
            });
    }

    /// Steps the wall clock to `time`, forwards or backwards; the monotonic time is unchanged.
    pub fn set_system_time(&self, time: SystemTime) {
        let nanos = match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos())
                .map(|n| -n)
                .unwrap_or(i64::MIN),
        };
        self.wall_nanos.store(nanos, Ordering::SeqCst);
    }

    /// How far the monotonic time has been advanced.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let origin = *self.origin.get_or_init(Instant::now);
        let elapsed = self.elapsed();
        origin
            .checked_add(elapsed)
            // Instants cannot reach arbitrarily far; stop at about 136 years ahead.
            .or_else(|| origin.checked_add(Duration::from_secs(u32::MAX.into())))
            .unwrap_or(origin)
    }

    fn system_time(&self) -> SystemTime {
        let nanos = self.wall_nanos.load(Ordering::SeqCst);
        let offset = Duration::from_nanos(nanos.unsigned_abs());
        let time = if nanos >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(offset)
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(offset)
        };
        time.unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// Tokio's clock (feature `tokio`): inside a runtime whose time is paused
/// (`#[tokio::test(start_paused = true)]`), it moves only as tokio's time is advanced, so
/// breakers, budgets, caches and collectors given it pass time with the retries' async waits.
/// Its wall-clock time is the system's at its first reading, moved on with its monotonic
/// time since.
///
/// Read it inside one runtime only: outside a paused runtime tokio reads the system's clock,
/// which is ahead of the paused one.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{CircuitBreakerConfig, Clock, TokioClock};
///
/// // In a test: #[tokio::test(start_paused = true)]
/// let config = CircuitBreakerConfig::new().clock(Arc::new(TokioClock::new()));
/// # let _ = config;
/// let clock = TokioClock::new();
/// let start = clock.now();
/// assert!(clock.now() >= start);
/// ```
#[cfg(feature = "tokio")]
#[derive(Debug, Default)]
pub struct TokioClock {
    origin: OnceLock<(Instant, SystemTime)>,
}

#[cfg(feature = "tokio")]
impl TokioClock {
    /// A clock on tokio's time; `const`, so it can live in a `static`.
    pub const fn new() -> Self {
        TokioClock {
            origin: OnceLock::new(),
        }
    }

    fn origin(&self, now: Instant) -> (Instant, SystemTime) {
        *self.origin.get_or_init(|| (now, SystemTime::now()))
    }
}

#[cfg(feature = "tokio")]
impl Clock for TokioClock {
    fn now(&self) -> Instant {
        let now = tokio::time::Instant::now().into_std();
        self.origin(now);
        now
    }

    fn system_time(&self) -> SystemTime {
        let now = tokio::time::Instant::now().into_std();
        let (instant, wall) = self.origin(now);
        wall.checked_add(now.saturating_duration_since(instant))
            .unwrap_or(wall)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    #[inline]
    fn now(&self) -> Instant {
        (**self).now()
    }

    #[inline]
    fn system_time(&self) -> SystemTime {
        (**self).system_time()
    }
}

/// `duration` in whole milliseconds, as an event's field: `u64::MAX` for one longer than that
/// (a `Retry-After` or an uncapped delay may be as long as a `Duration` gets).
pub(crate) fn millis_field(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_both_times_and_a_step_back_moves_only_the_wall_clock() {
        let clock = ManualClock::new();
        let (instant, wall) = (clock.now(), clock.system_time());
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now() - instant, Duration::from_secs(5));
        assert_eq!(
            clock.system_time().duration_since(wall).unwrap(),
            Duration::from_secs(5)
        );
        clock.set_system_time(wall - Duration::from_secs(60));
        assert_eq!(clock.now() - instant, Duration::from_secs(5));
        assert!(clock.system_time() < wall);
    }

    #[test]
    fn times_before_the_epoch_and_huge_advances_do_not_panic() {
        let clock = ManualClock::starting_at(SystemTime::UNIX_EPOCH - Duration::from_secs(10));
        assert!(clock.system_time() < SystemTime::UNIX_EPOCH);
        clock.advance(Duration::MAX);
        let _ = (clock.now(), clock.system_time());
    }
}

//! The monotonic time a cache ages its entries by: the real one, or one a test moves by hand.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The monotonic clock a cache ages its entries by, to decide whether one is younger than its
/// TTL. Monotonic, unlike wall-clock time: setting the system clock never revives or expires
/// an entry.
///
/// [`MonotonicClock`] is the real one; [`ManualCacheClock`] only moves when told to, so tests of
/// expiry never wait.
///
/// ```
/// use std::time::Instant;
/// use mcpstore_errors::{CacheClock, MonotonicClock};
///
/// let before = Instant::now();
/// assert!(MonotonicClock.now() >= before);
/// ```
pub trait CacheClock: fmt::Debug + Send + Sync {
    /// The current instant; never earlier than a previous reading.
    fn now(&self) -> Instant;
}

/// The real monotonic clock, [`Instant::now`].
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{MonotonicClock, ResponseCache};
///
/// let cache: ResponseCache<u32> =
///     ResponseCache::with_clock(Duration::from_secs(60), 10, Arc::new(MonotonicClock));
/// cache.insert("key", 7);
/// assert_eq!(cache.get("key"), Some(7));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl CacheClock for MonotonicClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`advance`](Self::advance)d. `const`, so it can live in a
/// `static` next to a cache that reads it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{ManualCacheClock, ResponseCache};
///
/// let clock = Arc::new(ManualCacheClock::new());
/// let cache = ResponseCache::with_clock(Duration::from_secs(600), 100, clock.clone());
/// cache.insert("filesystem", vec!["read"]);
///
/// clock.advance(Duration::from_secs(599));
/// assert_eq!(cache.get("filesystem"), Some(vec!["read"]));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(cache.get("filesystem"), None); // ten minutes old: expired
/// ```
#[derive(Debug, Default)]
pub struct ManualCacheClock {
    origin: OnceLock<Instant>,
    elapsed_nanos: AtomicU64,
}

impl ManualCacheClock {
    /// A clock at its origin; the origin is fixed by the first reading.
    pub const fn new() -> Self {
        ManualCacheClock {
            origin: OnceLock::new(),
            elapsed_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward by `by` (saturating at about 584 years past its origin).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update never fails when the closure always returns Some.
        let _ = self
            .elapsed_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |nanos| {
                Some(nanos.saturating_add(by))
            });
    }

    /// How far the clock has been advanced since its origin.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos.load(Ordering::SeqCst))
    }
}

impl CacheClock for ManualCacheClock {
    fn now(&self) -> Instant {
        let origin = *self.origin.get_or_init(Instant::now);
        // An Instant that far ahead is beyond the platform's range; stay at the last reachable
        // point rather than panic.
        let elapsed = self.elapsed();
        origin
            .checked_add(elapsed)
            .or_else(|| origin.checked_add(Duration::from_secs(u32::MAX.into())))
            .unwrap_or(origin)
    }
}

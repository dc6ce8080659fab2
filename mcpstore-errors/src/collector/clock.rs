//! Where the collector reads the time, so tests can move it by hand.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A source of wall-clock time for an [`ErrorCollector`](crate::ErrorCollector).
///
/// Timestamps of collected errors, the alert window and summary windows are all read from it.
/// The default is [`SystemClock`]; tests plug in a [`ManualClock`] to cover hours in
/// microseconds.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use mcpstore_errors::Clock;
///
/// #[derive(Debug)]
/// struct Frozen(SystemTime);
///
/// impl Clock for Frozen {
///     fn now(&self) -> SystemTime {
///         self.0
///     }
/// }
///
/// let clock = Frozen(SystemTime::UNIX_EPOCH + Duration::from_secs(60));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(60));
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock, [`SystemTime::now`].
///
/// ```
/// use mcpstore_errors::{Clock, SystemClock};
///
/// assert!(SystemClock.now() > std::time::SystemTime::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use mcpstore_errors::{Clock, ManualClock};
///
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let clock = ManualClock::new(start);
/// let handle = clock.clone();
/// handle.advance(Duration::from_secs(300));
/// assert_eq!(clock.now(), start + Duration::from_secs(300));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward by `by` (saturating at the largest representable time).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(later) = now.checked_add(by) {
            *now = later;
        }
    }

    /// Sets the clock to `time`, forwards or backwards.
    pub fn set(&self, time: SystemTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = time;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The collector's clock: the system clock read directly (the hot path), or a plugged-in one.
#[derive(Debug, Clone)]
pub(super) enum TimeSource {
    System,
    Custom(Arc<dyn Clock>),
}

impl TimeSource {
    #[inline]
    pub(super) fn now(&self) -> SystemTime {
        match self {
            TimeSource::System => SystemTime::now(),
            TimeSource::Custom(clock) => clock.now(),
        }
    }
}

/// Whether `then` lies less than `window` before `now`. A `then` in the future (a clock set
/// back, or another thread's newer reading) counts as inside.
#[inline]
pub(super) fn within(now: SystemTime, then: SystemTime, window: Duration) -> bool {
    match now.duration_since(then) {
        Ok(age) => age < window,
        Err(_) => true,
    }
}

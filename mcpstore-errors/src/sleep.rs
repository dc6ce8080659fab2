//! Waiting between attempts: real sleep by default, virtual sleep for tests.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod timer;

/// A boxed, `Send` future, as returned by [`Sleeper::sleep_async`].
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Waits between attempts. Plug one in with
/// [`RetryConfig::sleeper`](crate::RetryConfig::sleeper).
///
/// Both methods have defaults: [`sleep`](Self::sleep) blocks the thread, and
/// [`sleep_async`](Self::sleep_async) uses tokio's timer inside a tokio runtime (feature `tokio`,
/// on by default) and otherwise one timer thread shared by the whole process (started on first
/// use; a dropped future leaves its queue at once; if the thread cannot be started, the polling
/// thread waits in its place, so a delay is never skipped). Tokio offers no way to ask whether a runtime was
/// built with its timer, and its timer panics without one: inside such a runtime, configure a
/// sleeper (or enable the timer with `enable_time()`). Override `sleep_async` to use another runtime's
/// timer:
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{Sleeper, SleepFuture};
///
/// #[derive(Debug)]
/// struct MyRuntimeSleep;
///
/// impl Sleeper for MyRuntimeSleep {
///     fn sleep_async(&self, delay: Duration) -> SleepFuture {
///         // e.g. Box::pin(async_io::Timer::after(delay)) with async-io
///         Box::pin(async move { let _ = delay; })
///     }
/// }
/// ```
pub trait Sleeper: fmt::Debug + Send + Sync {
    /// Blocks the current thread for `delay`.
    fn sleep(&self, delay: Duration) {
        std::thread::sleep(delay);
    }

    /// A future that completes after `delay`.
    fn sleep_async(&self, delay: Duration) -> SleepFuture {
        default_sleep_async(delay)
    }

    /// The time on the clock this sleeper's delays pass on, if it has one. A timeout
    /// ([`race_timeout_with`](crate::race_timeout_with), `#[timeout]`, an attempt timeout)
    /// then counts the time an attempt spends before it first waits; without one (the
    /// default), it counts from that first wait.
    fn now(&self) -> Option<Instant> {
        None
    }

    /// The time on the clock this sleeper's blocking [`sleep`](Self::sleep) passes on, which
    /// a sync call's deadline is measured on; by default [`now`](Self::now)'s.
    fn blocking_now(&self) -> Option<Instant> {
        self.now()
    }
}

/// The default sleeper: `std::thread::sleep`, and tokio's timer (or a timer thread) for async.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealSleeper;

impl Sleeper for RealSleeper {
    /// Tokio's clock (paused with the runtime's time, in tests) with the feature `tokio`,
    /// else the system's monotonic clock.
    fn now(&self) -> Option<Instant> {
        #[cfg(feature = "tokio")]
        return Some(tokio::time::Instant::now().into_std());
        #[cfg(not(feature = "tokio"))]
        return Some(Instant::now());
    }

    /// The system's monotonic clock: `std::thread::sleep` does not move a paused tokio clock.
    fn blocking_now(&self) -> Option<Instant> {
        Some(Instant::now())
    }
}

fn default_sleep_async(delay: Duration) -> SleepFuture {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return Box::pin(tokio::time::sleep(delay));
    }
    Box::pin(timer::sleep(delay))
}

/// A sleeper that does not wait: it records each requested delay and advances a virtual clock.
///
/// Its async sleep is ready at once, so a timeout it times (an attempt timeout, `#[timeout]`,
/// `race_timeout`) lapses the first time the raced future is pending: an attempt that
/// completes without ever being pending beats it, any other loses. That makes a hung call
/// testable in no time; a call that must finish within its timeout needs a real timer.
///
/// It keeps the last [`MAX_RECORDED_DELAYS`](Self::MAX_RECORDED_DELAYS) delays, so a long
/// simulation stays within bounded memory; the count and the sum stay exact.
///
/// Share it (it is `Sync`) between the policy under test and the test's assertions:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{Jitter, RetryConfig, RetryManager, RetryStrategy, VirtualSleeper};
///
/// let sleeper = Arc::new(VirtualSleeper::new());
/// let config = RetryConfig::new()
///     .max_attempts(4)
///     .strategy(RetryStrategy::Linear)
///     .base_delay(Duration::from_millis(100))
///     .jitter(Jitter::None)
///     .sleeper(sleeper.clone());
///
/// let result: Result<(), &str> = RetryManager::new(config).execute(|| Err("down"));
/// assert_eq!(result, Err("down"));
/// assert_eq!(sleeper.delays(), [100, 200, 300].map(Duration::from_millis));
/// assert_eq!(sleeper.elapsed(), Duration::from_millis(600));
/// ```
#[derive(Debug, Default)]
pub struct VirtualSleeper {
    record: Mutex<SleepRecord>,
    clock: Option<std::sync::Arc<crate::ManualClock>>,
}

#[derive(Debug, Default)]
struct SleepRecord {
    recent: VecDeque<Duration>,
    sleeps: u64,
    elapsed: Duration,
}

impl VirtualSleeper {
    /// How many of the latest delays [`delays`](Self::delays) keeps.
    pub const MAX_RECORDED_DELAYS: usize = 1 << 16;

    /// A sleeper with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sleeper that also moves `clock` forward by each delay, so deadlines, breakers and
    /// budgets reading that clock see the virtual time pass.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use mcpstore_errors::{Clock, ManualClock, Sleeper, VirtualSleeper};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let start = clock.now();
    /// VirtualSleeper::advancing(clock.clone()).sleep(Duration::from_secs(3));
    /// assert_eq!(clock.now() - start, Duration::from_secs(3));
    /// ```
    pub fn advancing(clock: std::sync::Arc<crate::ManualClock>) -> Self {
        VirtualSleeper {
            record: Mutex::default(),
            clock: Some(clock),
        }
    }

    /// The delays requested so far, in order: all of them, or the latest
    /// [`MAX_RECORDED_DELAYS`](Self::MAX_RECORDED_DELAYS) once there were more.
    pub fn delays(&self) -> Vec<Duration> {
        self.lock().recent.iter().copied().collect()
    }

    /// How many sleeps were requested, recorded or no longer.
    pub fn sleeps(&self) -> u64 {
        self.lock().sleeps
    }

    /// The virtual time slept: the sum of all delays (saturating), recorded or no longer.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    /// Forgets every recorded delay, the count and the sum.
    pub fn clear(&self) {
        *self.lock() = SleepRecord::default();
    }

    fn record(&self, delay: Duration) {
        {
            let mut record = self.lock();
            if record.recent.len() == Self::MAX_RECORDED_DELAYS {
                record.recent.pop_front();
            }
            record.recent.push_back(delay);
            record.sleeps += 1;
            record.elapsed = record.elapsed.saturating_add(delay);
        }
        if let Some(clock) = &self.clock {
            clock.advance(delay);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SleepRecord> {
        // Every update leaves the record consistent, so a panic elsewhere cannot spoil it.
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Sleeper for VirtualSleeper {
    fn sleep(&self, delay: Duration) {
        self.record(delay);
    }

    fn sleep_async(&self, delay: Duration) -> SleepFuture {
        self.record(delay);
        Box::pin(std::future::ready(()))
    }

    /// The clock it advances, if any: [`advancing`](Self::advancing)'s.
    fn now(&self) -> Option<Instant> {
        self.clock.as_ref().map(|clock| crate::Clock::now(&**clock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_sleeper_keeps_the_latest_delays_and_exact_totals() {
        let sleeper = VirtualSleeper::new();
        let extra = 10;
        let total = VirtualSleeper::MAX_RECORDED_DELAYS as u64 + extra;
        for nanos in 0..total {
            sleeper.sleep(Duration::from_nanos(nanos));
        }
        let delays = sleeper.delays();
        assert_eq!(delays.len(), VirtualSleeper::MAX_RECORDED_DELAYS);
        assert_eq!(delays.first(), Some(&Duration::from_nanos(extra)));
        assert_eq!(delays.last(), Some(&Duration::from_nanos(total - 1)));
        assert_eq!(sleeper.sleeps(), total);
        assert_eq!(
            sleeper.elapsed(),
            Duration::from_nanos(total * (total - 1) / 2)
        );

        sleeper.clear();
        assert_eq!((sleeper.delays(), sleeper.sleeps()), (vec![], 0));
        assert_eq!(sleeper.elapsed(), Duration::ZERO);
    }
}

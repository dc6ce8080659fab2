//! The rate alert: raised once when a type's errors exceed the threshold within the window,
//! raised again only after the rate has dropped back.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime};

use super::ErrorCollector;
use super::clock::Stamp;

/// A burst of errors of one type: more than `threshold` within `window`.
///
/// Delivered to [`on_alert`](crate::ErrorCollector::on_alert) callbacks and as a `tracing`
/// warning, once per burst.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use mcpstore_errors::{ErrorCollector, McpStoreError, RateAlert};
///
/// let collector = ErrorCollector::new(100);
/// let seen = Arc::new(Mutex::new(Vec::<RateAlert>::new()));
/// let sink = Arc::clone(&seen);
/// collector.on_alert(move |alert| sink.lock().unwrap().push(alert.clone()));
/// for _ in 0..11 {
///     collector.collect(&McpStoreError::connection("refused"), serde_json::Value::Null);
/// }
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen.len(), 1);
/// assert_eq!(seen[0].error_type, "ConnectionError");
/// assert_eq!(seen[0].count, 11);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateAlert {
    /// The type whose errors came too fast, as in [`ErrorRecord::error_type`](crate::ErrorRecord::error_type).
    pub error_type: String,
    /// How many errors of that type fell within the window when the alert was raised, as far
    /// as the type's trend reaches (it keeps at least `threshold + 1` timestamps per thread).
    pub count: usize,
    /// The configured threshold: the alert fires when `count` exceeds it.
    pub threshold: usize,
    /// The configured window.
    pub window: Duration,
    /// When the error that raised the alert was collected.
    pub at: SystemTime,
}

/// One type's alert state, shared by every shard that saw the type.
#[derive(Debug)]
pub(super) struct AlertState {
    /// Raised for the current burst; read lock-free on every collect.
    firing: AtomicBool,
    /// The sum of the counts within the window the shards last published for this type: an
    /// upper bound of the true count, exact when no shard's count changed since.
    window_count: AtomicUsize,
    /// The latest time (a [`Stamp`]'s nanoseconds) at which a shard changed its published
    /// count: only while the clock reads no earlier is the sum an upper bound.
    latest_change: AtomicI64,
    /// Serializes the decisions that count every shard, so a burst fires once.
    gate: Mutex<()>,
}

impl Default for AlertState {
    fn default() -> Self {
        AlertState {
            firing: AtomicBool::new(false),
            window_count: AtomicUsize::new(0),
            latest_change: AtomicI64::new(i64::MIN),
            gate: Mutex::new(()),
        }
    }
}

impl AlertState {
    #[inline]
    pub(super) fn is_firing(&self) -> bool {
        self.firing.load(Ordering::Relaxed)
    }

    /// Replaces a shard's published count `old`, counted at `at`, by `new`; returns the sum
    /// over shards, and whether it is an upper bound of the count at `at` (no shard's count
    /// changed at a later time).
    #[inline]
    pub(super) fn change_window_count(&self, old: usize, new: usize, at: Stamp) -> (usize, bool) {
        // The time before the count, and read after it: a sum that holds a later count is
        // then seen with its time.
        if new != old {
            self.latest_change.fetch_max(at.nanos(), Ordering::SeqCst);
        }
        let sum = self.sum_after_change(old, new);
        (sum, at.nanos() >= self.latest_change.load(Ordering::SeqCst))
    }

    /// Takes a shard's published count `old` out of the sum (its trend was emptied).
    pub(super) fn withdraw(&self, old: usize) {
        self.sum_after_change(old, 0);
    }

    fn sum_after_change(&self, old: usize, new: usize) -> usize {
        use std::cmp::Ordering as Order;
        match new.cmp(&old) {
            Order::Equal => self.window_count.load(Ordering::SeqCst),
            Order::Greater => {
                let delta = new - old;
                self.window_count
                    .fetch_add(delta, Ordering::SeqCst)
                    .wrapping_add(delta)
            }
            Order::Less => {
                let delta = old - new;
                self.window_count
                    .fetch_sub(delta, Ordering::SeqCst)
                    .wrapping_sub(delta)
            }
        }
    }

    pub(super) fn gate(&self) -> MutexGuard<'_, ()> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Given the count within the window (taken under the gate), whether this error starts a
    /// burst. At or below the threshold the alert re-arms.
    pub(super) fn update(&self, count: usize, threshold: usize) -> bool {
        if count > threshold {
            !self.firing.swap(true, Ordering::Relaxed)
        } else {
            self.firing.store(false, Ordering::Relaxed);
            false
        }
    }

    pub(super) fn rearm(&self) {
        self.firing.store(false, Ordering::Relaxed);
    }
}

/// Takes the collector by reference, so a callback never needs to own it (an owning clone
/// inside the collector's own callback list would be a reference cycle).
pub(super) type Callback = Arc<dyn Fn(&RateAlert, &ErrorCollector) + Send + Sync + 'static>;

/// The registered alert callbacks.
#[derive(Default)]
pub(super) struct Callbacks(RwLock<Vec<Callback>>);

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.read().unwrap_or_else(|e| e.into_inner()).len();
        f.debug_struct("Callbacks").field("count", &count).finish()
    }
}

impl Callbacks {
    pub(super) fn add(&self, callback: Callback) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(callback);
    }

    /// Emits the alert as a `tracing` warning, then calls each callback outside every lock. A
    /// callback that panics is reported as a `tracing` error; the others still run.
    pub(super) fn deliver(&self, alert: &RateAlert, collector: &ErrorCollector) {
        crate::metrics::rate_alert(&alert.error_type);
        tracing::warn!(
            target: "mcpstore_errors::collector",
            error_type = %alert.error_type,
            count = alert.count,
            threshold = alert.threshold,
            window_secs = alert.window.as_secs_f64(),
            "error rate too high: {} errors of {} within {:?}",
            alert.count,
            alert.error_type,
            alert.window,
        );
        let callbacks: Vec<Callback> = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        for callback in callbacks {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(alert, collector))) {
                tracing::error!(
                    target: "mcpstore_errors::collector",
                    error_type = %alert.error_type,
                    panic = panic_message(panic.as_ref()),
                    "an alert callback panicked; the collector carries on"
                );
            }
        }
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "(not a string)"
    }
}

#[cfg(test)]
mod tests {
    use super::AlertState;

    #[test]
    fn a_burst_starts_above_the_threshold_fires_once_and_rearms_at_or_below_it() {
        let alert = AlertState::default();
        assert!(!alert.update(10, 10), "at the threshold: no burst");
        assert!(alert.update(11, 10), "one above: the burst starts");
        assert!(!alert.update(12, 10), "the same burst fires once");
        assert!(!alert.update(10, 10), "back at the threshold: re-armed");
        assert!(alert.update(11, 10), "a new burst fires again");
    }
}

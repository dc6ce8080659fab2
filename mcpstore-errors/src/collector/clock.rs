//! Where the collector reads the wall-clock time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

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
            TimeSource::Custom(clock) => clock.system_time(),
        }
    }
}

/// Whether `then` lies within `window` before `now`; a `then` after `now` (the clock stepped
/// back) counts as within.
#[inline]
pub(super) fn within(now: SystemTime, then: SystemTime, window: Duration) -> bool {
    match now.duration_since(then) {
        Ok(age) => age < window,
        Err(_) => true,
    }
}

/// The time after which a time lies within `window` before `now`; `None` when every time
/// does (`now - window` precedes the clock's range). With [`inside`], `within` with the
/// subtraction done once for many times.
#[inline]
pub(super) fn cutoff(now: SystemTime, window: Duration) -> Option<SystemTime> {
    now.checked_sub(window)
}

/// Whether `then` lies after `cutoff`: `within(now, then, window)` for `cutoff(now, window)`.
#[inline]
pub(super) fn inside(then: SystemTime, cutoff: Option<SystemTime>) -> bool {
    cutoff.is_none_or(|cutoff| then > cutoff)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn inside_the_cutoff_agrees_with_within() {
        let base = UNIX_EPOCH + Duration::from_secs(10);
        let windows = [0, 1, 999, 1_000, 1_001, 10_000, u64::MAX].map(Duration::from_millis);
        for now in [UNIX_EPOCH, base, base + Duration::from_millis(1)] {
            for then_millis in [0, 8_999, 9_000, 9_001, 10_000, 10_001, 20_000] {
                let then = UNIX_EPOCH + Duration::from_millis(then_millis);
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
}

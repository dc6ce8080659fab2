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

//! The fallback engine: what happens at each step of a chain once the primary failed. Both
//! [`FallbackChain`](crate::FallbackChain) and `#[fallback]` report through it, so they emit
//! the same events for the same steps.

use std::fmt::Display;

use crate::retry::engine::Description;

use super::events::{CacheMiss, fallback_exhausted, fallback_served, fallback_strategy_failed};

/// One run of a fallback chain after the primary failed. Each report names the primary's
/// error (so that an async chain holds no reference to it across an `.await`).
#[derive(Debug, Clone, Copy)]
pub struct FallbackRun<'a> {
    operation: &'a str,
}

impl<'a> FallbackRun<'a> {
    /// The chain of `operation`.
    #[inline(always)]
    pub fn new(operation: &'a str) -> Self {
        FallbackRun { operation }
    }

    /// The cache step: the cached value, reported as served, or a miss, reported as a failed
    /// step.
    #[inline]
    pub fn cache<T>(&self, cached: Option<T>, error: &dyn Display) -> Option<T> {
        match cached {
            Some(value) => {
                self.served("cache", error);
                Some(value)
            }
            None => {
                self.failed("cache", &CacheMiss);
                None
            }
        }
    }

    /// The default step: always serves `value`.
    #[inline]
    pub fn default<T>(&self, value: T, error: &dyn Display) -> T {
        self.served("default", error);
        value
    }

    /// The default step as the chain's last: serves `value` in place of `error`, which is
    /// described by `describe` and dropped here, out of line, instead of in each annotated
    /// function.
    #[cold]
    #[inline(never)]
    pub fn default_for<T, E>(
        self,
        value: T,
        error: E,
        describe: for<'e> fn(&'e E) -> Description<'e>,
    ) -> T {
        self.served("default", &describe(&error));
        value
    }

    /// `strategy` served the call after the primary failed with `error`.
    #[cold]
    #[inline(never)]
    pub fn served(&self, strategy: &str, error: &dyn Display) {
        fallback_served(self.operation, strategy, error);
        crate::metrics::fallback_step(self.operation, strategy, true);
    }

    /// `strategy` failed with `reason`; the chain goes on.
    #[cold]
    #[inline(never)]
    pub fn failed(&self, strategy: &str, reason: &dyn Display) {
        fallback_strategy_failed(self.operation, strategy, reason);
        crate::metrics::fallback_step(self.operation, strategy, false);
    }

    /// Every step failed; the primary's `error` is returned.
    #[cold]
    #[inline(never)]
    pub fn exhausted(&self, error: &dyn Display) {
        fallback_exhausted(self.operation, error);
        crate::metrics::fallback_exhausted(self.operation);
    }
}

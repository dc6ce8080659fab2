//! Fallback chains: what to serve when an operation fails. The chain ([`FallbackChain`]), its
//! strategies ([`FallbackStrategy`], [`ServedBy`]), the cache they share with
//! `#[fallback(cache(..))]` ([`ResponseCache`], [`FnCache`]), and the clock that ages it.

mod cache;
mod chain;
mod clock;
mod events;
mod fn_cache;
mod store;
mod strategy;

pub use cache::ResponseCache;
pub use chain::FallbackChain;
pub use clock::{CacheClock, ManualCacheClock, MonotonicClock};
pub use events::{fallback_exhausted, fallback_served, fallback_strategy_failed};
pub use fn_cache::{FnCache, set_fn_cache_clock};
pub use strategy::{FallbackStrategy, Served, ServedBy};

//! Fallback chains: what to serve when an operation fails. The chain ([`FallbackChain`]), its
//! strategies ([`FallbackStrategy`], [`ServedBy`]), the cache they share with
//! `#[fallback(cache(..))]` ([`ResponseCache`], [`FnCache`]); they age by the crate's [`Clock`](crate::Clock).

mod cache;
mod chain;
mod events;
mod fn_cache;
mod owned_copy;
mod runner;
mod store;
mod strategy;

pub use cache::ResponseCache;
pub use chain::{ChainKey, FallbackChain};
pub use fn_cache::{CacheIdentity, FnCache, FnKey, set_fn_cache_clock};
pub use owned_copy::OwnedCopy;
pub use runner::FallbackRun;
pub use strategy::{FallbackStrategy, Served, ServedBy};

//! What attribute-generated code calls. Not public API: no semver guarantees.

pub use serde_json;
pub use tracing;

pub use crate::fallback::{
    FnCache, fallback_exhausted, fallback_served, fallback_strategy_failed, set_fn_cache_clock,
};
pub use crate::retry::RetryState;

//! The `tracing` events of a fallback: which strategy served, which failed, and when none did.
//! Shared by [`FallbackChain`](super::FallbackChain) and attribute-generated code.

use std::fmt::Display;

use crate::secret_text::Masked;

/// A strategy served the call after the primary failed with `error`: a `WARN` event on target
/// `mcpstore_errors::fallback` with fields `operation`, `strategy` and `error`.
pub(crate) fn fallback_served(operation: &str, strategy: &str, error: &dyn Display) {
    tracing::warn!(
        target: "mcpstore_errors::fallback",
        operation,
        strategy,
        error = %Masked(error),
        "{operation} failed; served by fallback strategy {strategy}",
    );
}

/// A strategy could not serve; `error` says why (its own failure, not the primary's). An
/// `INFO` event on target `mcpstore_errors::fallback`; the next strategy is tried.
pub(crate) fn fallback_strategy_failed(operation: &str, strategy: &str, error: &dyn Display) {
    tracing::info!(
        target: "mcpstore_errors::fallback",
        operation,
        strategy,
        error = %Masked(error),
        "fallback strategy {strategy} failed",
    );
}

/// Every strategy failed; the primary's `error` is returned. A `WARN` event on target
/// `mcpstore_errors::fallback`.
pub(crate) fn fallback_exhausted(operation: &str, error: &dyn Display) {
    tracing::warn!(
        target: "mcpstore_errors::fallback",
        operation,
        error = %Masked(error),
        "{operation} failed and every fallback strategy failed",
    );
}

/// Why the cache strategy did not serve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheMiss;

impl Display for CacheMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no fresh cached value")
    }
}

impl std::error::Error for CacheMiss {}

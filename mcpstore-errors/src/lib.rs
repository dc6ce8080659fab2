//! Typed errors, retry with backoff, fallback chains and error collection for MCPStore, applied
//! with one attribute.
//!
//! ```
//! use std::time::Duration;
//! use mcpstore_errors::{Jitter, McpStoreError, RetryConfig, RetryManager};
//!
//! let manager = RetryManager::new(RetryConfig::new().base_delay(Duration::ZERO).jitter(Jitter::None));
//! let mut calls = 0;
//! let started = manager.execute(|| {
//!     calls += 1;
//!     if calls < 3 { Err(McpStoreError::service_start_failed("fs", "port busy")) } else { Ok("running") }
//! });
//! assert_eq!(started.unwrap(), "running");
//! ```
#![deny(missing_docs)]

mod backoff;
mod classify;
mod collector;
mod error;
mod fallback;
mod kind;
mod random;
mod retry;
mod sleep;

#[doc(hidden)]
pub mod __private;

pub use backoff::{Backoff, Jitter, RetryConfig, RetryStrategy};
pub use classify::Classify;
pub use collector::{
    Clock, DEFAULT_ALERT_THRESHOLD, DEFAULT_ALERT_WINDOW, DEFAULT_MAX_ERRORS, DEFAULT_TREND_LENGTH,
    ErrorCollector, ErrorCollectorBuilder, ErrorRecord, ErrorSummary, ManualClock, RateAlert,
    SystemClock, global_collector,
};
pub use error::{BoxError, McpStoreError};
pub use fallback::{
    CacheClock, FallbackChain, FallbackStrategy, ManualCacheClock, MonotonicClock, ResponseCache,
    Served, ServedBy,
};
pub use kind::{ErrorKind, KindSet};
pub use random::{RandomSource, SeededRandom, ThreadRandom};
pub use retry::{
    AcceptAny, AnyError, ErrorFilter, NoHook, ResultFilter, RetryHook, RetryManager, RetryState,
    Retryable,
};
pub use sleep::{RealSleeper, SleepFuture, Sleeper, VirtualSleeper};

#[doc(inline)]
pub use mcpstore_errors_macros::{collect_errors, fallback, retry};

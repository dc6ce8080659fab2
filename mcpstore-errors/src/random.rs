//! Where jitter's randomness comes from: the thread RNG, or a seeded source for tests.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A source of uniform numbers in `[0, 1)` for jitter. Plug one in with
/// [`RetryConfig::random`](crate::RetryConfig::random).
pub trait RandomSource: fmt::Debug + Send + Sync {
    /// A uniformly distributed number in `[0, 1)`.
    fn next_f64(&self) -> f64;
}

/// The default source: the thread-local RNG of the `rand` crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn next_f64(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// A deterministic, thread-safe source: the same seed gives the same sequence.
///
/// ```
/// use mcpstore_errors::{RandomSource, SeededRandom};
///
/// let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
/// assert_eq!(a.next_f64(), b.next_f64());
/// assert_eq!(a.draws(), 1);
/// ```
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<StdRng>,
    draws: AtomicU64,
}

impl SeededRandom {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            draws: AtomicU64::new(0),
        }
    }

    /// How many numbers have been drawn.
    pub fn draws(&self) -> u64 {
        self.draws.load(Ordering::Relaxed)
    }
}

impl RandomSource for SeededRandom {
    fn next_f64(&self) -> f64 {
        self.draws.fetch_add(1, Ordering::Relaxed);
        // The RNG's state stays valid whatever panicked while it was held.
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.random::<f64>()
    }
}

//! The bounds a literal attribute value must respect, checked at compile time.
//!
//! Generated code passes a literal through these in a `const` item of its own, in a call
//! spanned on the user's token, so an out-of-range value fails the build there, with the
//! rule in the message. At
//! run time the same values are clamped by the setters (`RetryConfig::max_attempts`,
//! `ResponseCache::new`, `Jitter::Proportional`); the rules live here, next to them.

use std::time::Duration;

use crate::RetryStrategy;

/// A literal `max_attempts`: it counts calls, the first included, so it is at least 1.
///
/// # Panics
/// On 0; meant for a `const` item, where that is a compile error.
pub const fn max_attempts(value: u32) -> u32 {
    if value == 0 {
        panic!("`max_attempts` must be at least 1: it counts calls, the first included");
    }
    value
}

/// A literal cache `capacity`: a cache that holds nothing is a mistake, not a way to turn
/// it off.
///
/// # Panics
/// On 0; meant for a `const` item, where that is a compile error.
pub const fn cache_capacity(value: usize) -> usize {
    if value == 0 {
        panic!("a cache `capacity` must be at least 1");
    }
    value
}

/// A literal cache `ttl`: entries that are stale as soon as they are stored are never served.
///
/// # Panics
/// On zero; meant for a `const` item, where that is a compile error.
pub const fn cache_ttl(ttl: Duration) -> Duration {
    if ttl.is_zero() {
        panic!("a cache `ttl` must be longer than zero: entries would be stale as soon as stored");
    }
    ttl
}

/// A literal timeout (`#[timeout("2s")]`, `attempt_timeout = "2s"`): a zero one fails every
/// call that waits at all.
///
/// # Panics
/// On zero; meant for a `const` item, where that is a compile error.
pub const fn timeout(timeout: Duration) -> Duration {
    if timeout.is_zero() {
        panic!("a timeout must be longer than zero: every call that waits at all would fail");
    }
    timeout
}

/// A literal `deadline = "30s"`: a zero one lets the first attempt run and no retry start.
///
/// # Panics
/// On zero; meant for a `const` item, where that is a compile error.
pub const fn deadline(deadline: Duration) -> Duration {
    if deadline.is_zero() {
        panic!("a deadline must be longer than zero: no retry could ever start");
    }
    deadline
}

/// A literal `delay` beside its cap (the given `max_delay`, else the default one): a delay
/// over the cap would be cut to it, every time.
///
/// # Panics
/// When `delay` exceeds `max_delay`; meant for a `const` item, where that is a compile error.
pub const fn base_delay(delay: Duration, max_delay: Duration) -> Duration {
    if delay.as_nanos() > max_delay.as_nanos() {
        panic!(
            "`delay` is longer than `max_delay` (60 s unless given), which caps every delay: raise `max_delay` or lower `delay` (a bare number is seconds: `delay = \"100ms\"` for milliseconds)"
        );
    }
    delay
}

/// A literal `jitter = 0.25`: a fraction of the delay.
///
/// # Panics
/// Outside `0.0..=1.0`; meant for a `const` item, where that is a compile error.
pub const fn jitter_fraction(value: f64) -> f64 {
    if !(value >= 0.0 && value <= 1.0) {
        panic!("a jitter fraction is between 0.0 and 1.0 (0.25 = ±25 %)");
    }
    value
}

/// A literal `backoff = 2.0`: the exponential strategy's factor per attempt, a finite
/// number, at least 0 ([`RetryConfig::validate`](crate::RetryConfig::validate)'s rule).
///
/// # Panics
/// Below 0 or not finite; meant for a `const` item, where that is a compile error.
pub const fn multiplier(value: f64) -> f64 {
    if !(value.is_finite() && value >= 0.0) {
        panic!("`backoff` is the factor each delay grows by: a finite number, at least 0.0");
    }
    value
}

/// A literal `strategy = name` written beside `backoff = ..`: only the exponential strategy
/// grows by a factor, so with any other the factor would be silently ignored.
///
/// # Panics
/// On a strategy other than exponential; meant for a `const` item, where that is a compile
/// error.
pub const fn grown_by_backoff(strategy: RetryStrategy) -> RetryStrategy {
    match strategy {
        RetryStrategy::Exponential => strategy,
        RetryStrategy::Fixed => panic!(
            "`backoff` has no effect with `strategy = fixed`: only `exponential` grows by a factor"
        ),
        RetryStrategy::Linear => panic!(
            "`backoff` has no effect with `strategy = linear` (it adds `delay` each attempt): only `exponential` grows by a factor"
        ),
        RetryStrategy::Fibonacci => panic!(
            "`backoff` has no effect with `strategy = fibonacci`: only `exponential` grows by a factor"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_range_pass_through() {
        assert_eq!(max_attempts(1), 1);
        assert_eq!(max_attempts(u32::MAX), u32::MAX);
        assert_eq!(cache_capacity(1), 1);
        assert_eq!(cache_ttl(Duration::from_nanos(1)), Duration::from_nanos(1));
        assert_eq!(timeout(Duration::from_nanos(1)), Duration::from_nanos(1));
        let second = Duration::from_secs(1);
        assert_eq!(base_delay(second, second), second);
        // `base_delay`'s message names the default cap.
        assert_eq!(crate::backoff::DEFAULT_MAX_DELAY, Duration::from_secs(60));
        assert_eq!(
            crate::RetryConfig::attribute_default().get_max_delay(),
            crate::backoff::DEFAULT_MAX_DELAY
        );
        assert!(std::panic::catch_unwind(|| cache_ttl(Duration::ZERO)).is_err());
        assert_eq!(jitter_fraction(0.0), 0.0);
        assert_eq!(jitter_fraction(1.0), 1.0);
        assert_eq!(multiplier(0.0), 0.0);
        assert_eq!(multiplier(2.0), 2.0);
        assert_eq!(
            grown_by_backoff(RetryStrategy::Exponential),
            RetryStrategy::Exponential
        );
    }

    #[test]
    fn a_backoff_beside_a_strategy_without_a_factor_is_refused() {
        for strategy in RetryStrategy::ALL {
            let refused = std::panic::catch_unwind(|| grown_by_backoff(strategy)).is_err();
            assert_eq!(
                refused,
                strategy != RetryStrategy::Exponential,
                "{strategy:?}"
            );
        }
    }

    #[test]
    fn a_negative_or_infinite_multiplier_is_refused() {
        for value in [-2.0, -0.0001, f64::NAN, f64::INFINITY] {
            assert!(
                std::panic::catch_unwind(|| multiplier(value)).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn values_out_of_range_are_refused() {
        assert!(std::panic::catch_unwind(|| max_attempts(0)).is_err());
        assert!(std::panic::catch_unwind(|| cache_capacity(0)).is_err());
        assert!(std::panic::catch_unwind(|| timeout(Duration::ZERO)).is_err());
        let second = Duration::from_secs(1);
        assert!(std::panic::catch_unwind(|| base_delay(second * 2, second)).is_err());
        for fraction in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
            assert!(
                std::panic::catch_unwind(|| jitter_fraction(fraction)).is_err(),
                "{fraction}"
            );
        }
    }
}

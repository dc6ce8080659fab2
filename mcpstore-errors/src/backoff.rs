//! Backoff math: strategies, jitter, and the [`RetryConfig`] that combines them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::McpStoreError;
use crate::clock::Clock;
use crate::random::{RandomSource, ThreadRandom};
use crate::sleep::{RealSleeper, SleepFuture, Sleeper};

/// How the delay grows with each failed attempt `n` (0-based), before the cap and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetryStrategy {
    /// `base`, every time.
    Fixed,
    /// `base * (n + 1)`.
    Linear,
    /// `base * multiplier^n`.
    #[default]
    Exponential,
    /// `base * fib(n)` with fib = 1, 1, 2, 3, 5, 8, …
    Fibonacci,
}

impl Jitter {
    /// The jitter of a bare `#[retry]`, and what `jitter = true` means: ±25 %.
    pub const ATTRIBUTE_DEFAULT: Jitter = Jitter::Proportional(0.25);
}

impl RetryStrategy {
    /// Every strategy.
    pub const ALL: [RetryStrategy; 4] = [
        RetryStrategy::Fixed,
        RetryStrategy::Linear,
        RetryStrategy::Exponential,
        RetryStrategy::Fibonacci,
    ];
}

/// Randomness added to a delay so that many clients do not retry in lockstep.
///
/// With `d` the capped delay of the strategy, `cap` the `max_delay`, `base` the `base_delay` and
/// `u` uniform in `[0, 1)` (formulas of the AWS Architecture Blog, "Exponential Backoff And
/// Jitter"):
///
/// | variant | delay |
/// |---|---|
/// | `None` | `d` |
/// | `Proportional(f)` | `d * (1 + f * (2u - 1))`, i.e. `d ± f·d` (the seed's jitter) |
/// | `Full` | `d * u` |
/// | `Equal` | `d/2 + d/2 * u` |
/// | `Decorrelated` | `base + (min(cap, 3 * previous) - base) * u` |
///
/// Every result is then clamped to `[0, cap]`. `f` is clamped to `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    /// No randomness.
    #[default]
    None,
    /// Plus or minus this fraction of the delay (`0.25` = ±25 %).
    Proportional(f64),
    /// Anywhere between zero and the delay.
    Full,
    /// Half the delay, plus up to another half.
    Equal,
    /// Between `base` and three times the previous delay; the retry loop carries the previous
    /// delay from one attempt to the next.
    Decorrelated,
}

/// The cap of every delay unless a policy sets its own.
pub(crate) const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);

/// A retry policy: how many attempts, how long to wait between them, and with what jitter.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{Jitter, RetryConfig, RetryStrategy};
///
/// let config = RetryConfig::new()
///     .max_attempts(5)
///     .strategy(RetryStrategy::Fibonacci)
///     .base_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_millis(400))
///     .jitter(Jitter::None);
///
/// let delays: Vec<_> = (0..5).map(|n| config.delay_for(n)).collect();
/// assert_eq!(delays, [100, 100, 200, 300, 400].map(Duration::from_millis));
/// ```
#[derive(Clone)]
pub struct RetryConfig {
    max_attempts: u32,
    strategy: RetryStrategy,
    base_delay: Duration,
    max_delay: Duration,
    multiplier: f64,
    // Set by `multiplier()`, so `validate` can tell a factor the strategy ignores.
    multiplier_given: bool,
    jitter: Jitter,
    sleeper: Option<Arc<dyn Sleeper>>,
    random: Option<Arc<dyn RandomSource>>,
    clock: Option<Arc<dyn Clock>>,
    deadline: Option<Duration>,
    attempt_timeout: Option<Duration>,
}

impl fmt::Debug for RetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryConfig")
            .field("max_attempts", &self.max_attempts)
            .field("strategy", &self.strategy)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("multiplier", &self.multiplier)
            .field("jitter", &self.jitter)
            .field("sleeper", &self.sleeper)
            .field("random", &self.random)
            .field("clock", &self.clock)
            .field("deadline", &self.deadline)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryConfig {
    /// The seed's `RetryManager` defaults: 3 attempts, exponential (×2), 1 s base, 60 s cap,
    /// ±10 % jitter.
    pub const fn new() -> Self {
        RetryConfig {
            max_attempts: 3,
            strategy: RetryStrategy::Exponential,
            base_delay: Duration::from_secs(1),
            max_delay: DEFAULT_MAX_DELAY,
            multiplier: 2.0,
            multiplier_given: false,
            jitter: Jitter::Proportional(0.1),
            sleeper: None,
            random: None,
            clock: None,
            deadline: None,
            attempt_timeout: None,
        }
    }

    /// The seed's `@retry` decorator defaults, used by a bare `#[retry]`: 3 attempts,
    /// exponential (×2), 1 s base, ±25 % jitter; capped at 60 s (the seed's decorator has no
    /// cap, which only matters beyond 6 attempts).
    pub const fn attribute_default() -> Self {
        Self::new().jitter(Jitter::ATTRIBUTE_DEFAULT)
    }

    /// No attempt starts and no wait ends after `deadline`, measured on the policy's
    /// [`Clock`] from the start of the first attempt: when the next attempt would start at or
    /// after it, the call stops with [`StopReason::Deadline`](crate::StopReason::Deadline)
    /// and returns the last error, rather than sleeping into the deadline. Judged when the
    /// retry is scheduled: time an `on_retry` hook then takes is not foreseen.
    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Each attempt of an async call is raced against `timeout`; one still running then is
    /// dropped (cancelled) and fails as a `ServiceTimeout` error, retried like one. Honoured
    /// by [`RetryManager`](crate::RetryManager)'s async calls and by an async `#[retry]`
    /// (written as `attempt_timeout = ..` or carried by its `config =`), for error types that
    /// can express a timeout: with `RetryManager` and `config =`, those whose
    /// [`Classify::timed_out`](crate::Classify::timed_out) makes one (`io::Error` and
    /// `Box<dyn Error>` among them), or `From<McpStoreError>` ones under the attribute; an
    /// attempt whose error type cannot runs on past it, with a `warn` event. (Written as the
    /// `attempt_timeout` key, an error type other than `io::Error` or a `From<McpStoreError>`
    /// one is a compile error.) Sync calls cannot be cut off: use a deadline (a sync call
    /// retried under a policy with an attempt timeout says so in a `warn` event at each retry).
    pub const fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The clock deadlines and statistics are measured on. By default, that of the
    /// [sleeper](Self::sleeper) when it keeps one (a [`VirtualSleeper::advancing`]'s, or, for
    /// an async call, tokio's, paused in tests, with the feature `tokio`), so that waits and
    /// the deadline pass on the same time; else the system's (a sync call's blocking sleep
    /// passes on it, even inside a paused tokio runtime).
    ///
    /// [`VirtualSleeper::advancing`]: crate::VirtualSleeper::advancing
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The deadline, if any.
    pub const fn get_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The per-attempt timeout, if any.
    pub const fn get_attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// The monotonic time on the policy's clock (see [`clock`](Self::clock)), as an async
    /// call measures it.
    pub fn now(&self) -> std::time::Instant {
        match &self.clock {
            Some(clock) => clock.now(),
            None => self.timer().now().unwrap_or_else(std::time::Instant::now),
        }
    }

    /// The monotonic time as a sync call measures it: the policy's clock, else the clock the
    /// sleeper's blocking sleep passes on ([`Sleeper::blocking_now`]), else the system's. Not
    /// tokio's, paused in a test, which `std::thread::sleep` does not move.
    ///
    /// [`Sleeper::blocking_now`]: crate::Sleeper::blocking_now
    pub fn blocking_now(&self) -> std::time::Instant {
        match &self.clock {
            Some(clock) => clock.now(),
            None => self
                .timer()
                .blocking_now()
                .unwrap_or_else(std::time::Instant::now),
        }
    }

    /// How many calls in all, the first included (3 = one call and up to two retries).
    /// Zero is treated as one.
    pub const fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = if max_attempts == 0 { 1 } else { max_attempts };
        self
    }

    /// How the delay grows.
    pub const fn strategy(mut self, strategy: RetryStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The first delay (and the unit of every strategy).
    pub const fn base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// No delay exceeds this, jitter and server-suggested delays included.
    pub const fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// The growth factor of [`RetryStrategy::Exponential`]. A negative or NaN value counts as 1.
    /// The other strategies ignore it, and [`validate`](Self::validate) says so.
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self.multiplier_given = true;
        self
    }

    /// The jitter applied to each delay.
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Where the retry loop sleeps; [`VirtualSleeper`](crate::VirtualSleeper) makes tests
    /// instant.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = Some(sleeper);
        self
    }

    /// Where jitter draws its numbers; [`SeededRandom`](crate::SeededRandom) makes delays
    /// reproducible.
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = Some(random);
        self
    }

    /// The configured number of attempts.
    pub const fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The configured strategy.
    pub const fn get_strategy(&self) -> RetryStrategy {
        self.strategy
    }

    /// The configured base delay.
    pub const fn get_base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The configured cap.
    pub const fn get_max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The configured multiplier.
    pub const fn get_multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The configured jitter.
    pub const fn get_jitter(&self) -> Jitter {
        self.jitter
    }

    /// Checks for values that the builder accepts but that are surely mistakes: a multiplier
    /// that is negative, NaN or infinite, a multiplier given to a strategy other than
    /// exponential (which would ignore it), a base delay over the cap, a zero deadline or
    /// attempt timeout, and a jitter fraction outside `[0, 1]`.
    ///
    /// ```
    /// use mcpstore_errors::{ErrorKind, RetryConfig};
    ///
    /// assert!(RetryConfig::new().validate().is_ok());
    /// let err = RetryConfig::new().multiplier(f64::NAN).validate().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Configuration);
    /// ```
    pub fn validate(&self) -> Result<(), McpStoreError> {
        if !(self.multiplier.is_finite() && self.multiplier >= 0.0) {
            return Err(McpStoreError::configuration(format!(
                "retry multiplier must be a finite number >= 0, got {}",
                self.multiplier
            ))
            .with_detail("multiplier", self.multiplier.to_string()));
        }
        if self.multiplier_given && !matches!(self.strategy, RetryStrategy::Exponential) {
            return Err(McpStoreError::configuration(format!(
                "a multiplier only shapes the exponential strategy; {:?} ignores {}",
                self.strategy, self.multiplier
            ))
            .with_detail("multiplier", self.multiplier.to_string())
            .with_detail("strategy", format!("{:?}", self.strategy)));
        }
        if self.base_delay > self.max_delay {
            return Err(McpStoreError::configuration(format!(
                "base delay {:?} is longer than max delay {:?}, which caps every delay",
                self.base_delay, self.max_delay
            ))
            .with_detail("base_delay", format!("{:?}", self.base_delay))
            .with_detail("max_delay", format!("{:?}", self.max_delay)));
        }
        if self.deadline == Some(Duration::ZERO) {
            return Err(McpStoreError::configuration(
                "a deadline must be longer than zero: no retry could ever start",
            ));
        }
        if self.attempt_timeout == Some(Duration::ZERO) {
            return Err(McpStoreError::configuration(
                "an attempt timeout must be longer than zero: every attempt that waits at all would fail",
            ));
        }
        if let Jitter::Proportional(fraction) = self.jitter {
            if !(0.0..=1.0).contains(&fraction) {
                return Err(McpStoreError::configuration(format!(
                    "jitter fraction must be between 0 and 1, got {fraction}"
                ))
                .with_detail("jitter", fraction.to_string()));
            }
        }
        Ok(())
    }

    /// The delay after failed attempt `attempt` (0-based), jitter included.
    ///
    /// For [`Jitter::Decorrelated`], which depends on the previous delay, this takes the
    /// strategy's un-jittered delay of `attempt - 1` as the previous one; the retry loop (and
    /// [`backoff`](Self::backoff)) carry the real previous delay instead.
    pub fn delay_for(&self, attempt: u32) -> Duration {
        let previous = match (self.jitter, attempt) {
            (Jitter::Decorrelated, 1..) => self.nominal_delay(attempt - 1),
            _ => self.base_delay,
        };
        self.jittered_delay(attempt, previous)
    }

    /// The delay after failed attempt `attempt` without jitter: the strategy's formula, capped.
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let base = self.base_delay.as_nanos();
        let cap = self.max_delay.as_nanos();
        // Zero times anything is zero, even a multiplier power that overflows to infinity.
        if base == 0 {
            return Duration::ZERO;
        }
        let nanos = match self.strategy {
            RetryStrategy::Fixed => base,
            RetryStrategy::Linear => base.saturating_mul(u128::from(attempt) + 1),
            RetryStrategy::Exponential => exponential_nanos(base, self.multiplier, attempt, cap),
            RetryStrategy::Fibonacci => fibonacci_nanos(base, attempt, cap),
        };
        nanos_to_duration(nanos.min(cap))
    }

    /// The delays a retry loop would sleep, one per retry (`max_attempts - 1` of them), with
    /// the previous delay carried for [`Jitter::Decorrelated`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::{Jitter, RetryConfig};
    ///
    /// let config = RetryConfig::new().max_attempts(5).jitter(Jitter::None);
    /// let delays: Vec<_> = config.backoff().collect();
    /// assert_eq!(delays, [1, 2, 4, 8].map(Duration::from_secs));
    /// ```
    pub fn backoff(&self) -> Backoff<'_> {
        Backoff {
            config: self,
            attempt: 0,
            previous: self.base_delay,
        }
    }

    pub(crate) fn jittered_delay(&self, attempt: u32, previous: Duration) -> Duration {
        let nominal = self.nominal_delay(attempt);
        let delay = match self.jitter {
            Jitter::None => nominal,
            Jitter::Proportional(fraction) => {
                let fraction = if fraction.is_nan() {
                    0.0
                } else {
                    fraction.clamp(0.0, 1.0)
                };
                if fraction == 0.0 || nominal.is_zero() {
                    nominal
                } else {
                    let factor = 1.0 + fraction * (2.0 * self.uniform() - 1.0);
                    secs_to_duration(nominal.as_secs_f64() * factor, self.max_delay)
                }
            }
            Jitter::Full => scale(nominal, self.uniform()),
            Jitter::Equal => {
                let half = nominal / 2;
                half + scale(half, self.uniform())
            }
            Jitter::Decorrelated => {
                let low = self.base_delay.min(self.max_delay);
                let high = previous.saturating_mul(3).min(self.max_delay).max(low);
                low + scale(high - low, self.uniform())
            }
        };
        delay.min(self.max_delay)
    }

    /// Adjusts a computed delay for a server-suggested one: wait at least that long, never
    /// beyond `max_delay`.
    pub(crate) fn honour_retry_after(
        &self,
        delay: Duration,
        retry_after: Option<Duration>,
    ) -> Duration {
        match retry_after {
            Some(suggested) => delay.max(suggested).min(self.max_delay),
            None => delay,
        }
    }

    /// A number in `[0, 1]`, whatever the configured source returns.
    fn uniform(&self) -> f64 {
        match &self.random {
            Some(random) => crate::random::unit_draw(&**random),
            None => crate::random::unit_draw(&ThreadRandom),
        }
    }

    /// Blocks for `delay` with the configured sleeper.
    ///
    /// A configured sleeper sees every delay, zero included, so a
    /// [`VirtualSleeper`](crate::VirtualSleeper) records the whole schedule.
    pub(crate) fn sleep(&self, delay: Duration) {
        match &self.sleeper {
            Some(sleeper) => sleeper.sleep(delay),
            None if delay.is_zero() => {}
            None => RealSleeper.sleep(delay),
        }
    }

    /// The configured sleeper, or the real one: what an attempt timeout's timer runs on.
    pub(crate) fn timer(&self) -> &dyn Sleeper {
        match &self.sleeper {
            Some(sleeper) => &**sleeper,
            None => &RealSleeper,
        }
    }

    /// Waits for `delay` with the configured sleeper.
    pub(crate) fn sleep_async(&self, delay: Duration) -> SleepFuture {
        match &self.sleeper {
            Some(sleeper) => sleeper.sleep_async(delay),
            None if delay.is_zero() => Box::pin(std::future::ready(())),
            None => RealSleeper.sleep_async(delay),
        }
    }
}

/// The delays of a retry loop, one per retry; made by [`RetryConfig::backoff`].
#[derive(Debug, Clone)]
pub struct Backoff<'a> {
    config: &'a RetryConfig,
    attempt: u32,
    previous: Duration,
}

impl Backoff<'_> {
    /// How many delays have been handed out.
    pub fn retries(&self) -> u32 {
        self.attempt
    }
}

impl Iterator for Backoff<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.attempt.saturating_add(1) >= self.config.max_attempts {
            return None;
        }
        let delay = self.config.jittered_delay(self.attempt, self.previous);
        self.attempt += 1;
        self.previous = delay;
        Some(delay)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self
            .config
            .max_attempts
            .saturating_sub(self.attempt.saturating_add(1)) as usize;
        (left, Some(left))
    }
}

fn exponential_nanos(base: u128, multiplier: f64, attempt: u32, cap: u128) -> u128 {
    let multiplier = if multiplier >= 0.0 { multiplier } else { 1.0 };
    if multiplier.fract() == 0.0 && multiplier <= u32::MAX as f64 {
        // Whole multipliers stay exact: 100 ms × 2^3 is 800 ms to the nanosecond.
        let factor = (multiplier as u128)
            .checked_pow(attempt)
            .unwrap_or(u128::MAX);
        return base.saturating_mul(factor);
    }
    let nanos = base as f64 * multiplier.powf(f64::from(attempt));
    if nanos.is_nan() || nanos >= cap as f64 {
        cap
    } else {
        nanos as u128
    }
}

fn fibonacci_nanos(base: u128, attempt: u32, cap: u128) -> u128 {
    let (mut current, mut next) = (1u128, 1u128);
    for _ in 0..attempt {
        if base.saturating_mul(current) >= cap {
            return cap;
        }
        (current, next) = (next, current.saturating_add(next));
    }
    base.saturating_mul(current)
}

fn nanos_to_duration(nanos: u128) -> Duration {
    // Dividing a u64 by a constant is a multiplication; a u128 division is a slow library call.
    if let Ok(nanos) = u64::try_from(nanos) {
        return Duration::from_nanos(nanos);
    }
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}

/// `delay * fraction` for a fraction in `[0, 1]`, never above `delay`. Unlike
/// `Duration::mul_f64` it cannot panic when rounding lifts the product past `Duration::MAX`.
fn scale(delay: Duration, fraction: f64) -> Duration {
    Duration::try_from_secs_f64(delay.as_secs_f64() * fraction).map_or(delay, |d| d.min(delay))
}

fn secs_to_duration(secs: f64, cap: Duration) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).map_or(cap, |d| d.min(cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_of_the_largest_duration_by_one_does_not_panic() {
        assert_eq!(scale(Duration::MAX, 1.0), Duration::MAX);
    }

    #[test]
    fn scale_never_exceeds_the_delay() {
        let delay = Duration::new(1, 1);
        for fraction in [0.0, 0.3, 0.999_999_999, 1.0] {
            assert!(scale(delay, fraction) <= delay, "{fraction}");
        }
        assert_eq!(scale(delay, 0.0), Duration::ZERO);
    }

    #[test]
    fn nanos_beyond_the_largest_duration_saturate_the_seconds() {
        assert_eq!(nanos_to_duration(u128::MAX).as_secs(), u64::MAX);
        assert_eq!(
            nanos_to_duration(1_500_000_000),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn float_seconds_outside_the_range_map_to_zero_or_the_cap() {
        let cap = Duration::from_secs(5);
        assert_eq!(secs_to_duration(f64::NAN, cap), Duration::ZERO);
        assert_eq!(secs_to_duration(-1.0, cap), Duration::ZERO);
        assert_eq!(secs_to_duration(1e300, cap), cap);
        assert_eq!(secs_to_duration(f64::INFINITY, cap), cap);
        assert_eq!(secs_to_duration(2.0, cap), Duration::from_secs(2));
    }

    #[test]
    fn whole_multipliers_are_exact_and_overflow_saturates() {
        assert_eq!(exponential_nanos(100, 2.0, 3, u128::MAX), 800);
        assert_eq!(exponential_nanos(1, 2.0, 200, 10), u128::MAX);
        assert_eq!(exponential_nanos(1, 0.0, 0, 10), 1);
        assert_eq!(exponential_nanos(1, 0.0, 5, 10), 0);
    }

    #[test]
    fn fibonacci_stops_counting_once_the_cap_is_reached() {
        assert_eq!(fibonacci_nanos(1, 6, u128::MAX), 13);
        assert_eq!(fibonacci_nanos(1, u32::MAX, 100), 100);
    }

    #[test]
    fn a_server_delay_is_a_floor_below_the_cap() {
        let config = RetryConfig::new().max_delay(Duration::from_secs(10));
        let second = Duration::from_secs(1);
        assert_eq!(config.honour_retry_after(second, None), second);
        assert_eq!(
            config.honour_retry_after(second, Some(3 * second)),
            3 * second
        );
        assert_eq!(
            config.honour_retry_after(3 * second, Some(second)),
            3 * second
        );
        assert_eq!(
            config.honour_retry_after(second, Some(60 * second)),
            10 * second
        );
    }
}

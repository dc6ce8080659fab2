//! Backoff math: the seed's formulas, the cap, jitter bands, extreme inputs, determinism, and
//! the `Backoff` iterator.

use std::sync::Arc;
use std::time::Duration;

use mcpstore_errors::{ErrorKind, Jitter, RandomSource, RetryConfig, RetryStrategy, SeededRandom};
use proptest::prelude::*;

const MS: Duration = Duration::from_millis(1);

/// A random source that always returns the same number, to hit the ends of jitter bands.
#[derive(Debug)]
struct Constant(f64);

impl RandomSource for Constant {
    fn next_f64(&self) -> f64 {
        self.0
    }
}

fn plain(strategy: RetryStrategy) -> RetryConfig {
    RetryConfig::new()
        .strategy(strategy)
        .base_delay(100 * MS)
        .max_delay(Duration::from_secs(3600))
        .jitter(Jitter::None)
}

fn first_delays(config: &RetryConfig, count: u32) -> Vec<Duration> {
    (0..count).map(|n| config.delay_for(n)).collect()
}

fn millis(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|&ms| Duration::from_millis(ms)).collect()
}

// ---- the seed's formulas, without jitter ----

#[test]
fn fixed_waits_the_base_delay_every_time() {
    let config = plain(RetryStrategy::Fixed);
    assert_eq!(first_delays(&config, 5), millis(&[100; 5]));
}

#[test]
fn linear_waits_base_times_attempt_plus_one() {
    let config = plain(RetryStrategy::Linear);
    assert_eq!(first_delays(&config, 5), millis(&[100, 200, 300, 400, 500]));
}

#[test]
fn exponential_doubles_by_default() {
    let config = plain(RetryStrategy::Exponential);
    assert_eq!(
        first_delays(&config, 5),
        millis(&[100, 200, 400, 800, 1600])
    );
}

#[test]
fn exponential_uses_the_configured_multiplier() {
    let config = plain(RetryStrategy::Exponential).multiplier(3.0);
    assert_eq!(first_delays(&config, 4), millis(&[100, 300, 900, 2700]));
    let config = plain(RetryStrategy::Exponential).multiplier(1.5);
    assert_eq!(
        first_delays(&config, 4),
        [100_000, 150_000, 225_000, 337_500].map(Duration::from_micros)
    );
}

#[test]
fn a_negative_or_nan_multiplier_counts_as_one() {
    for multiplier in [-2.0, f64::NAN] {
        let config = plain(RetryStrategy::Exponential).multiplier(multiplier);
        assert_eq!(first_delays(&config, 3), millis(&[100; 3]), "{multiplier}");
    }
}

#[test]
fn fibonacci_waits_base_times_fib_starting_1_1_2_3_5() {
    let config = plain(RetryStrategy::Fibonacci);
    assert_eq!(
        first_delays(&config, 8),
        millis(&[100, 100, 200, 300, 500, 800, 1300, 2100])
    );
}

#[test]
fn every_strategy_is_capped_at_max_delay() {
    let cases = [
        (RetryStrategy::Fixed, [250, 250, 250, 250, 250]),
        (RetryStrategy::Linear, [250, 500, 750, 1000, 1000]),
        (RetryStrategy::Exponential, [250, 500, 1000, 1000, 1000]),
        (RetryStrategy::Fibonacci, [250, 250, 500, 750, 1000]),
    ];
    for (strategy, expected) in cases {
        let config = plain(strategy).base_delay(250 * MS).max_delay(1000 * MS);
        assert_eq!(first_delays(&config, 5), millis(&expected), "{strategy:?}");
    }
}

#[test]
fn a_base_above_the_cap_is_capped() {
    let config = plain(RetryStrategy::Fixed)
        .base_delay(Duration::from_secs(10))
        .max_delay(Duration::from_secs(2));
    assert_eq!(config.delay_for(0), Duration::from_secs(2));
}

#[test]
fn nominal_delay_is_delay_for_without_jitter() {
    for strategy in RetryStrategy::ALL {
        let plain = plain(strategy);
        let jittered = plain.clone().jitter(Jitter::Full);
        for n in 0..10 {
            assert_eq!(
                jittered.nominal_delay(n),
                plain.delay_for(n),
                "{strategy:?} {n}"
            );
        }
    }
}

// ---- defaults ----

#[test]
fn new_has_the_seed_retry_manager_defaults() {
    let config = RetryConfig::new();
    assert_eq!(config.get_max_attempts(), 3);
    assert_eq!(config.get_strategy(), RetryStrategy::Exponential);
    assert_eq!(config.get_base_delay(), Duration::from_secs(1));
    assert_eq!(config.get_max_delay(), Duration::from_secs(60));
    assert_eq!(config.get_multiplier(), 2.0);
    assert_eq!(config.get_jitter(), Jitter::Proportional(0.1));
}

#[test]
fn attribute_default_has_the_seed_decorator_jitter() {
    let config = RetryConfig::attribute_default();
    assert_eq!(config.get_max_attempts(), 3);
    assert_eq!(config.get_base_delay(), Duration::from_secs(1));
    assert_eq!(config.get_multiplier(), 2.0);
    assert_eq!(config.get_jitter(), Jitter::Proportional(0.25));
}

#[test]
fn max_attempts_zero_is_treated_as_one() {
    assert_eq!(RetryConfig::new().max_attempts(0).get_max_attempts(), 1);
}

// ---- validate ----

#[test]
fn validate_accepts_the_defaults_and_a_zero_multiplier() {
    assert!(RetryConfig::new().validate().is_ok());
    assert!(RetryConfig::attribute_default().validate().is_ok());
    assert!(RetryConfig::new().multiplier(0.0).validate().is_ok());
    assert!(
        RetryConfig::new()
            .jitter(Jitter::Proportional(1.0))
            .validate()
            .is_ok()
    );
}

#[test]
fn validate_rejects_a_negative_nan_or_infinite_multiplier() {
    for multiplier in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = RetryConfig::new()
            .multiplier(multiplier)
            .validate()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{multiplier}");
        assert!(err.message().contains("multiplier"), "{}", err.message());
    }
}

#[test]
fn validate_rejects_a_multiplier_the_strategy_would_ignore() {
    for strategy in [
        RetryStrategy::Fixed,
        RetryStrategy::Linear,
        RetryStrategy::Fibonacci,
    ] {
        // Either order of the two builder calls: the factor is ignored all the same.
        for config in [
            RetryConfig::new().strategy(strategy).multiplier(3.0),
            RetryConfig::new().multiplier(3.0).strategy(strategy),
        ] {
            let err = config.validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Configuration, "{strategy:?}");
            assert!(err.message().contains("multiplier"), "{}", err.message());
            assert!(
                err.message().contains(&format!("{strategy:?}")),
                "{}",
                err.message()
            );
        }
        // Without a multiplier of its own, the strategy is fine.
        assert!(RetryConfig::new().strategy(strategy).validate().is_ok());
    }
    assert!(
        RetryConfig::new()
            .strategy(RetryStrategy::Exponential)
            .multiplier(3.0)
            .validate()
            .is_ok()
    );
}

#[test]
fn validate_rejects_a_base_delay_over_the_cap() {
    let err = RetryConfig::new()
        .base_delay(Duration::from_secs(2))
        .max_delay(Duration::from_secs(1))
        .validate()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("max delay"), "{}", err.message());
    let equal = RetryConfig::new()
        .base_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(1));
    assert!(equal.validate().is_ok());
}

#[test]
fn validate_rejects_a_zero_deadline() {
    let err = RetryConfig::new()
        .deadline(Duration::ZERO)
        .validate()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("deadline"), "{}", err.message());
    assert!(
        RetryConfig::new()
            .deadline(Duration::from_nanos(1))
            .validate()
            .is_ok()
    );
}

#[test]
fn validate_rejects_a_zero_attempt_timeout() {
    let err = RetryConfig::new()
        .attempt_timeout(Duration::ZERO)
        .validate()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("timeout"), "{}", err.message());
    assert!(
        RetryConfig::new()
            .attempt_timeout(Duration::from_nanos(1))
            .validate()
            .is_ok()
    );
}

#[test]
fn validate_rejects_a_jitter_fraction_outside_zero_to_one() {
    for fraction in [-0.1, 1.5, f64::NAN] {
        let err = RetryConfig::new()
            .jitter(Jitter::Proportional(fraction))
            .validate()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{fraction}");
        assert!(err.message().contains("jitter"), "{}", err.message());
    }
}

// ---- the Backoff iterator ----

#[test]
fn backoff_yields_one_delay_per_retry() {
    for attempts in [1, 2, 3, 7] {
        let config = plain(RetryStrategy::Fixed).max_attempts(attempts);
        let backoff = config.backoff();
        let left = attempts as usize - 1;
        assert_eq!(backoff.size_hint(), (left, Some(left)));
        assert_eq!(backoff.count(), attempts as usize - 1, "{attempts}");
    }
}

#[test]
fn backoff_of_zero_attempts_is_empty() {
    let config = plain(RetryStrategy::Fixed).max_attempts(0);
    assert_eq!(config.backoff().next(), None);
}

#[test]
fn backoff_follows_delay_for_without_jitter() {
    let config = plain(RetryStrategy::Fibonacci).max_attempts(6);
    let delays: Vec<_> = config.backoff().collect();
    assert_eq!(delays, first_delays(&config, 5));
}

#[test]
fn backoff_counts_the_delays_handed_out() {
    let config = plain(RetryStrategy::Fixed).max_attempts(4);
    let mut backoff = config.backoff();
    assert_eq!(backoff.retries(), 0);
    backoff.next();
    backoff.next();
    assert_eq!(backoff.retries(), 2);
    assert_eq!(backoff.size_hint(), (1, Some(1)));
}

#[test]
fn decorrelated_backoff_stays_between_base_and_three_times_the_previous_delay() {
    let config = plain(RetryStrategy::Exponential)
        .max_attempts(50)
        .max_delay(Duration::from_secs(20))
        .jitter(Jitter::Decorrelated)
        .random(Arc::new(SeededRandom::new(3)));
    let mut previous = config.get_base_delay();
    for delay in config.backoff() {
        assert!(delay >= config.get_base_delay(), "{delay:?}");
        assert!(
            delay <= (previous * 3).min(config.get_max_delay()),
            "{delay:?} after {previous:?}"
        );
        previous = delay;
    }
}

// ---- jitter at the ends of its band ----

fn with_random(jitter: Jitter, u: f64) -> RetryConfig {
    plain(RetryStrategy::Fixed)
        .base_delay(1000 * MS)
        .max_delay(1500 * MS)
        .jitter(jitter)
        .random(Arc::new(Constant(u)))
}

#[test]
fn proportional_jitter_spans_plus_or_minus_the_fraction() {
    assert_eq!(
        with_random(Jitter::Proportional(0.25), 0.0).delay_for(0),
        750 * MS
    );
    assert_eq!(
        with_random(Jitter::Proportional(0.25), 0.5).delay_for(0),
        1000 * MS
    );
    assert_eq!(
        with_random(Jitter::Proportional(0.25), 1.0).delay_for(0),
        1250 * MS
    );
}

#[test]
fn proportional_jitter_never_exceeds_the_cap() {
    assert_eq!(
        with_random(Jitter::Proportional(1.0), 1.0).delay_for(0),
        1500 * MS
    );
}

#[test]
fn proportional_jitter_of_the_whole_delay_reaches_zero_not_below() {
    assert_eq!(
        with_random(Jitter::Proportional(1.0), 0.0).delay_for(0),
        Duration::ZERO
    );
}

#[test]
fn full_jitter_spans_zero_to_the_delay() {
    assert_eq!(with_random(Jitter::Full, 0.0).delay_for(0), Duration::ZERO);
    assert_eq!(with_random(Jitter::Full, 1.0).delay_for(0), 1000 * MS);
}

#[test]
fn equal_jitter_spans_half_to_the_whole_delay() {
    assert_eq!(with_random(Jitter::Equal, 0.0).delay_for(0), 500 * MS);
    assert_eq!(with_random(Jitter::Equal, 1.0).delay_for(0), 1000 * MS);
}

#[test]
fn decorrelated_jitter_spans_base_to_the_cap() {
    assert_eq!(
        with_random(Jitter::Decorrelated, 0.0).delay_for(3),
        1000 * MS
    );
    assert_eq!(
        with_random(Jitter::Decorrelated, 1.0).delay_for(3),
        1500 * MS
    );
}

#[test]
fn decorrelated_jitter_reaches_three_times_the_previous_delay() {
    // A cap far above: the draw at its top gives 3 × the previous delay each time.
    let config = plain(RetryStrategy::Fixed)
        .max_attempts(4)
        .max_delay(Duration::from_secs(10))
        .jitter(Jitter::Decorrelated)
        .random(Arc::new(Constant(1.0)));
    let delays: Vec<Duration> = config.backoff().collect();
    assert_eq!(delays, millis(&[300, 900, 2700]));
    assert_eq!(config.delay_for(1), 300 * MS);
}

#[test]
fn out_of_range_random_numbers_are_clamped() {
    assert_eq!(with_random(Jitter::Full, 7.0).delay_for(0), 1000 * MS);
    assert_eq!(with_random(Jitter::Full, -3.0).delay_for(0), Duration::ZERO);
    assert_eq!(
        with_random(Jitter::Full, f64::NAN).delay_for(0),
        Duration::ZERO
    );
}

#[test]
fn no_jitter_draws_no_random_number() {
    let random = Arc::new(SeededRandom::new(1));
    let config = plain(RetryStrategy::Exponential).random(random.clone());
    first_delays(&config, 10);
    assert_eq!(random.draws(), 0);
}

#[test]
fn each_jittered_delay_draws_one_number() {
    let random = Arc::new(SeededRandom::new(1));
    let config = plain(RetryStrategy::Exponential)
        .jitter(Jitter::Full)
        .random(random.clone());
    first_delays(&config, 10);
    assert_eq!(random.draws(), 10);
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let delays = |seed| {
        let config = plain(RetryStrategy::Exponential)
            .max_attempts(10)
            .jitter(Jitter::Proportional(0.5))
            .random(Arc::new(SeededRandom::new(seed)));
        config.backoff().collect::<Vec<_>>()
    };
    assert_eq!(delays(42), delays(42));
    assert_ne!(delays(42), delays(43));
}

// ---- extreme inputs ----

const EXTREME_JITTERS: [Jitter; 6] = [
    Jitter::None,
    Jitter::Proportional(0.25),
    Jitter::Proportional(1.0),
    Jitter::Full,
    Jitter::Equal,
    Jitter::Decorrelated,
];

#[test]
fn extreme_attempts_multipliers_and_caps_give_a_capped_duration() {
    let bases = [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_secs(1),
    ];
    let caps = [Duration::ZERO, Duration::from_secs(60), Duration::MAX];
    let multipliers = [0.0, 1.0, 2.0, 1e300, f64::INFINITY, f64::NAN, -5.0];
    let attempts = [0, 1, 64, 1000, u32::MAX - 1, u32::MAX];
    for strategy in RetryStrategy::ALL {
        for jitter in EXTREME_JITTERS {
            for u in [0.0, 0.5, 1.0] {
                for base in bases {
                    for cap in caps {
                        for multiplier in multipliers {
                            let config = RetryConfig::new()
                                .strategy(strategy)
                                .jitter(jitter)
                                .base_delay(base)
                                .max_delay(cap)
                                .multiplier(multiplier)
                                .random(Arc::new(Constant(u)));
                            for attempt in attempts {
                                let delay = config.delay_for(attempt);
                                assert!(
                                    delay <= cap,
                                    "{delay:?} > {cap:?} for {config:?} at {attempt}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_zero_base_waits_nothing_whatever_the_strategy_and_attempt() {
    for strategy in RetryStrategy::ALL {
        for multiplier in [2.0, 1e300, f64::INFINITY] {
            let config = plain(strategy)
                .base_delay(Duration::ZERO)
                .multiplier(multiplier);
            for attempt in [0, 1, 2, 100, u32::MAX] {
                assert_eq!(
                    config.delay_for(attempt),
                    Duration::ZERO,
                    "{strategy:?} ×{multiplier} at {attempt}"
                );
            }
        }
    }
}

#[test]
fn a_huge_multiplier_reaches_the_cap_at_the_second_attempt() {
    let config = plain(RetryStrategy::Exponential).multiplier(1e300);
    assert_eq!(config.delay_for(0), 100 * MS);
    assert_eq!(config.delay_for(1), config.get_max_delay());
    assert_eq!(config.delay_for(u32::MAX), config.get_max_delay());
}

#[test]
fn growth_saturates_at_the_largest_duration() {
    for strategy in [
        RetryStrategy::Linear,
        RetryStrategy::Exponential,
        RetryStrategy::Fibonacci,
    ] {
        let config = plain(strategy)
            .base_delay(Duration::from_secs(u64::MAX / 2))
            .max_delay(Duration::MAX);
        assert_eq!(config.delay_for(u32::MAX), Duration::MAX, "{strategy:?}");
    }
}

// ---- laws ----

fn any_strategy() -> impl Strategy<Value = RetryStrategy> {
    prop::sample::select(RetryStrategy::ALL.to_vec())
}

fn growing_strategy() -> impl Strategy<Value = RetryStrategy> {
    prop::sample::select(vec![
        RetryStrategy::Linear,
        RetryStrategy::Exponential,
        RetryStrategy::Fibonacci,
    ])
}

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..=10_000_000_000).prop_map(Duration::from_nanos),
        (0u64..=u64::MAX, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn any_multiplier() -> impl Strategy<Value = f64> {
    prop_oneof![Just(2.0), 1.0f64..=10.0, 1.0f64..=1e300]
}

fn any_attempt() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..64, any::<u32>()]
}

fn any_jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        (0.0f64..=1.0).prop_map(Jitter::Proportional),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
    ]
}

/// Whether `actual` lies in `[low, high]` up to the rounding of an `f64` computation.
fn within(actual: Duration, low: f64, high: f64) -> bool {
    let actual = actual.as_secs_f64();
    let slack = 1e-9 + high.abs() * 1e-12;
    actual >= low - slack && actual <= high + slack
}

proptest! {
    #[test]
    fn without_jitter_growing_strategies_never_shrink(
        strategy in growing_strategy(),
        base in any_duration(),
        cap in any_duration(),
        multiplier in any_multiplier(),
        attempt in 0u32..u32::MAX,
    ) {
        let config = RetryConfig::new()
            .strategy(strategy)
            .base_delay(base)
            .max_delay(cap)
            .multiplier(multiplier)
            .jitter(Jitter::None);
        prop_assert!(config.delay_for(attempt) <= config.delay_for(attempt + 1));
    }

    #[test]
    fn every_delay_is_capped(
        strategy in any_strategy(),
        jitter in any_jitter(),
        base in any_duration(),
        cap in any_duration(),
        multiplier in any_multiplier(),
        attempt in any_attempt(),
        seed in any::<u64>(),
    ) {
        let config = RetryConfig::new()
            .strategy(strategy)
            .jitter(jitter)
            .base_delay(base)
            .max_delay(cap)
            .multiplier(multiplier)
            .random(Arc::new(SeededRandom::new(seed)));
        prop_assert!(config.delay_for(attempt) <= cap);
    }

    #[test]
    fn proportional_jitter_stays_within_the_fraction_of_the_delay(
        strategy in any_strategy(),
        fraction in 0.0f64..=1.0,
        base in any_duration(),
        cap in any_duration(),
        attempt in any_attempt(),
        seed in any::<u64>(),
    ) {
        let config = RetryConfig::new()
            .strategy(strategy)
            .base_delay(base)
            .max_delay(cap)
            .jitter(Jitter::Proportional(fraction))
            .random(Arc::new(SeededRandom::new(seed)));
        let d = config.nominal_delay(attempt).as_secs_f64();
        let cap = cap.as_secs_f64();
        let low = (d * (1.0 - fraction)).min(cap);
        let high = (d * (1.0 + fraction)).min(cap);
        let delay = config.delay_for(attempt);
        prop_assert!(within(delay, low, high), "{delay:?} not in [{low}, {high}]");
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_delay(
        strategy in any_strategy(),
        base in any_duration(),
        cap in any_duration(),
        attempt in any_attempt(),
        seed in any::<u64>(),
    ) {
        let config = RetryConfig::new()
            .strategy(strategy)
            .base_delay(base)
            .max_delay(cap)
            .jitter(Jitter::Full)
            .random(Arc::new(SeededRandom::new(seed)));
        prop_assert!(config.delay_for(attempt) <= config.nominal_delay(attempt));
    }

    #[test]
    fn equal_jitter_stays_between_half_and_the_whole_delay(
        strategy in any_strategy(),
        base in any_duration(),
        cap in any_duration(),
        attempt in any_attempt(),
        seed in any::<u64>(),
    ) {
        let config = RetryConfig::new()
            .strategy(strategy)
            .base_delay(base)
            .max_delay(cap)
            .jitter(Jitter::Equal)
            .random(Arc::new(SeededRandom::new(seed)));
        let d = config.nominal_delay(attempt);
        let delay = config.delay_for(attempt);
        prop_assert!(d / 2 <= delay && delay <= d, "{delay:?} not in [{:?}, {d:?}]", d / 2);
    }

    #[test]
    fn decorrelated_jitter_stays_between_the_base_and_the_cap(
        strategy in any_strategy(),
        base in any_duration(),
        cap in any_duration(),
        attempts in 1u32..40,
        seed in any::<u64>(),
    ) {
        let config = RetryConfig::new()
            .strategy(strategy)
            .base_delay(base)
            .max_delay(cap)
            .max_attempts(attempts)
            .jitter(Jitter::Decorrelated)
            .random(Arc::new(SeededRandom::new(seed)));
        let low = base.min(cap);
        for delay in config.backoff() {
            prop_assert!(low <= delay && delay <= cap, "{delay:?} not in [{low:?}, {cap:?}]");
        }
    }

    #[test]
    fn a_seeded_source_makes_jitter_deterministic(
        strategy in any_strategy(),
        jitter in any_jitter(),
        base in any_duration(),
        cap in any_duration(),
        attempts in 1u32..20,
        seed in any::<u64>(),
    ) {
        let delays = || {
            let config = RetryConfig::new()
                .strategy(strategy)
                .jitter(jitter)
                .base_delay(base)
                .max_delay(cap)
                .max_attempts(attempts)
                .random(Arc::new(SeededRandom::new(seed)));
            config.backoff().collect::<Vec<_>>()
        };
        prop_assert_eq!(delays(), delays());
    }

    #[test]
    fn backoff_length_is_max_attempts_minus_one(attempts in 0u32..200) {
        let config = RetryConfig::new().max_attempts(attempts).jitter(Jitter::None);
        prop_assert_eq!(config.backoff().count() as u32, attempts.max(1) - 1);
    }
}

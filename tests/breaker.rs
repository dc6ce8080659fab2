//! Circuit breakers: every transition, the windows, open periods, probes, operators, the
//! registry, events, a model-based property test and a concurrency test, on virtual time.

use std::collections::VecDeque;
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreaker, CircuitBreakerConfig, CircuitState, ErrorKind, KindSet,
    ManualClock, McpStoreError, RandomSource, SeededRandom, SlidingWindow, breakers,
};
use mcpstore_errors_tests::{CountingAllocator, allocations_during, capture_events};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const SECOND: Duration = Duration::from_secs(1);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new())
}

/// Last 10 calls, all 10 needed, opens at 50 %, 10 s then ×2 up to 80 s, no jitter.
fn config(clock: &Arc<ManualClock>) -> CircuitBreakerConfig {
    CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(10))
        .minimum_calls(10)
        .failure_rate(0.5)
        .open_duration(10 * SECOND)
        .max_open_duration(80 * SECOND)
        .jitter(0.0)
        .clock(clock.clone())
}

fn succeed(breaker: &CircuitBreaker) {
    breaker.try_acquire().expect("admitted").success();
}

fn fail(breaker: &CircuitBreaker) {
    breaker
        .try_acquire()
        .expect("admitted")
        .failure(Some(ErrorKind::Connection), None);
}

fn tripped(clock: &Arc<ManualClock>) -> CircuitBreaker {
    let breaker = CircuitBreaker::new("fs", config(clock));
    for _ in 0..10 {
        fail(&breaker);
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    breaker
}

fn refusal(breaker: &CircuitBreaker) -> McpStoreError {
    breaker.try_acquire().expect_err("refused")
}

// ---- closed ----

#[test]
fn closed_does_not_open_before_the_minimum_number_of_calls() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    for _ in 0..9 {
        fail(&breaker);
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    fail(&breaker);
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_share_of_point_six_opens_at_sixty_percent_and_not_below() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).failure_rate(0.6));
    for _ in 0..5 {
        fail(&breaker);
    }
    for _ in 0..5 {
        succeed(&breaker);
    }
    let metrics = breaker.metrics();
    assert_eq!((metrics.calls, metrics.failures), (10, 5));
    assert_eq!(breaker.state(), CircuitState::Closed, "50 % < 60 %");
    // The 11th call pushes out the first failure: still 5 in 10.
    fail(&breaker);
    assert_eq!(breaker.metrics().failures, 5);
    assert_eq!(breaker.state(), CircuitState::Closed);
    // The 12th pushes out the second failure too: 5 again; a success-for-failure swap makes 6.
    fail(&breaker);
    fail(&breaker);
    fail(&breaker);
    fail(&breaker);
    assert_eq!(breaker.metrics().failures, 5);
    fail(&breaker); // evicts the first success
    assert_eq!(breaker.state(), CircuitState::Open, "6 in 10 is 60 %");
}

#[test]
fn the_call_after_a_full_ring_pushes_out_exactly_the_first() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).minimum_calls(1000));
    fail(&breaker);
    for _ in 0..9 {
        succeed(&breaker);
    }
    assert_eq!(
        (breaker.metrics().calls, breaker.metrics().failures),
        (10, 1)
    );
    succeed(&breaker);
    assert_eq!(
        (breaker.metrics().calls, breaker.metrics().failures),
        (10, 0)
    );
}

#[test]
fn only_connection_timeout_and_start_failures_count_against_the_service() {
    let clock = clock();
    let alive = [
        ErrorKind::ToolNotFound,
        ErrorKind::Configuration,
        ErrorKind::ToolExecution,
    ];
    for kind in alive {
        let breaker = CircuitBreaker::new("fs", config(&clock));
        for _ in 0..20 {
            breaker.try_acquire().unwrap().failure(Some(kind), None);
        }
        assert_eq!(breaker.state(), CircuitState::Closed, "{kind:?}");
        assert_eq!(breaker.metrics().calls, 10, "{kind:?} counts as a success");
    }
    let down = [
        McpStoreError::connection("refused"),
        McpStoreError::service_timeout("fs", SECOND),
        McpStoreError::service_start_failed("fs", "port busy"),
    ];
    for error in down {
        let breaker = CircuitBreaker::new("fs", config(&clock));
        for _ in 0..10 {
            breaker.try_acquire().unwrap().record(&error);
        }
        assert_eq!(breaker.state(), CircuitState::Open, "{error}");
    }
}

#[test]
fn a_nested_circuit_open_error_is_not_counted_and_failure_kinds_are_configurable() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    let nested = McpStoreError::circuit_open("inner", CircuitState::Open, SECOND);
    for _ in 0..20 {
        breaker.try_acquire().unwrap().record(&nested);
    }
    assert_eq!(breaker.metrics().calls, 0);

    let strict = CircuitBreaker::new(
        "fs",
        config(&clock).failure_kinds(KindSet::of(&[ErrorKind::Tool])),
    );
    for _ in 0..10 {
        strict
            .try_acquire()
            .unwrap()
            .failure(Some(ErrorKind::ToolExecution), None);
    }
    assert_eq!(strict.state(), CircuitState::Open);
}

#[test]
fn the_closed_success_path_allocates_nothing() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    for _ in 0..10 {
        succeed(&breaker);
    }
    let ((), allocations) = allocations_during(|| {
        for _ in 0..1000 {
            succeed(&breaker);
        }
    });
    assert_eq!(allocations, 0);
}

#[test]
fn breakers_and_permits_cross_threads_and_await_points() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CircuitBreaker>();
    assert_send_sync::<mcpstore_errors::Permit<'static>>();
    assert_send_sync::<BreakerRegistry>();
}

#[test]
fn a_permit_taken_before_a_trip_does_not_count_after_it() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    let early = breaker.try_acquire().unwrap();
    for _ in 0..10 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    succeed(&breaker); // the probe closes it
    assert_eq!(breaker.state(), CircuitState::Closed);
    early.failure(Some(ErrorKind::Connection), None);
    assert_eq!(breaker.metrics().calls, 0, "a stale permit reports nothing");
}

// ---- open ----

#[test]
fn open_refuses_with_circuit_open_and_the_time_left_as_retry_after() {
    let clock = clock();
    let breaker = tripped(&clock);
    clock.advance(4 * SECOND);
    let error = refusal(&breaker);
    assert_eq!(error.kind(), ErrorKind::CircuitOpen);
    assert_eq!(error.code(), "CIRCUIT_OPEN");
    assert!(!error.is_retryable());
    assert_eq!(error.retry_after(), Some(6 * SECOND));
    assert_eq!(error.details()["service_name"], "fs");
    assert_eq!(error.details()["state"], "open");
    assert_eq!(error.details()["retry_after_ms"], 6000);
    assert_eq!(breaker.metrics().rejected, 1);
    assert_eq!(breaker.metrics().open_remaining, Some(6 * SECOND));
}

#[test]
fn an_open_period_that_is_over_reads_half_open_with_no_time_left() {
    let clock = clock();
    let breaker = tripped(&clock);
    clock.advance(10 * SECOND);
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::HalfOpen);
    assert_eq!(metrics.open_remaining, None);
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
}

#[test]
fn call_converts_the_refusal_and_records_the_outcome() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    for _ in 0..10 {
        let outcome: Result<(), McpStoreError> =
            breaker.call(|| Err(McpStoreError::connection("refused")));
        assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Connection);
    }
    let mut ran = false;
    let outcome: Result<(), McpStoreError> = breaker.call(|| {
        ran = true;
        Ok(())
    });
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::CircuitOpen);
    assert!(!ran, "a refused call is not made");
}

#[test]
fn a_retry_after_longer_than_the_open_period_keeps_it_open_that_long() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    for _ in 0..9 {
        fail(&breaker);
    }
    breaker
        .try_acquire()
        .unwrap()
        .failure(Some(ErrorKind::Connection), Some(25 * SECOND));
    assert_eq!(refusal(&breaker).retry_after(), Some(25 * SECOND));
    clock.advance(24 * SECOND);
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(SECOND);
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
}

#[test]
fn a_late_failure_asking_for_a_longer_pause_extends_the_open_period_up_to_its_bound() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).max_retry_after(60 * SECOND));
    let late = breaker.try_acquire().unwrap();
    for _ in 0..10 {
        fail(&breaker);
    }
    late.failure(Some(ErrorKind::Connection), Some(3600 * SECOND));
    assert_eq!(refusal(&breaker).retry_after(), Some(60 * SECOND));
}

#[test]
fn a_short_retry_after_does_not_shorten_the_open_period() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    for _ in 0..9 {
        fail(&breaker);
    }
    breaker
        .try_acquire()
        .unwrap()
        .failure(Some(ErrorKind::Connection), Some(SECOND));
    assert_eq!(refusal(&breaker).retry_after(), Some(10 * SECOND));
}

// ---- half-open ----

#[test]
fn after_the_open_period_one_probe_goes_through_and_its_success_closes() {
    let clock = clock();
    let breaker = tripped(&clock);
    clock.advance(10 * SECOND);
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    let probe = breaker.try_acquire().expect("the probe");
    assert!(probe.is_probe());
    let second = refusal(&breaker);
    assert_eq!(second.details()["state"], "half_open");
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
    let metrics = breaker.metrics();
    assert_eq!(
        (metrics.calls, metrics.trips),
        (0, 0),
        "closing starts afresh"
    );
}

#[test]
fn a_failed_probe_reopens_for_longer_each_time_up_to_the_maximum() {
    let clock = clock();
    let breaker = tripped(&clock);
    let mut periods = vec![refusal(&breaker).retry_after().unwrap()];
    for _ in 0..5 {
        clock.advance(*periods.last().unwrap());
        fail(&breaker); // the probe
        periods.push(refusal(&breaker).retry_after().unwrap());
    }
    let secs: Vec<u64> = periods.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [10, 20, 40, 80, 80, 80]);
    assert_eq!(breaker.metrics().trips, 6);
}

#[test]
fn jitter_moves_each_open_period_within_its_fraction() {
    let clock = clock();
    let breaker = CircuitBreaker::new(
        "fs",
        config(&clock)
            .jitter(0.5)
            .open_growth(1.0)
            .random(Arc::new(SeededRandom::new(3))),
    );
    for _ in 0..10 {
        fail(&breaker);
    }
    let mut periods = Vec::new();
    for _ in 0..50 {
        let period = refusal(&breaker).retry_after().unwrap();
        assert!(period >= 5 * SECOND && period <= 15 * SECOND, "{period:?}");
        periods.push(period);
        clock.advance(period);
        fail(&breaker);
    }
    periods.sort();
    periods.dedup();
    assert!(periods.len() > 40, "jittered periods differ");
}

#[test]
fn jitter_never_exceeds_the_maximum_open_period() {
    let clock = clock();
    let breaker = CircuitBreaker::new(
        "fs",
        config(&clock)
            .jitter(1.0)
            .max_open_duration(10 * SECOND)
            .random(Arc::new(SeededRandom::new(9))),
    );
    for _ in 0..10 {
        fail(&breaker);
    }
    for _ in 0..50 {
        let period = refusal(&breaker).retry_after().unwrap();
        assert!(period <= 10 * SECOND, "{period:?}");
        clock.advance(period);
        fail(&breaker);
    }
}

#[test]
fn a_dropped_probe_gives_its_permit_back_and_records_nothing() {
    let clock = clock();
    let breaker = tripped(&clock);
    clock.advance(10 * SECOND);
    let probe = breaker.try_acquire().unwrap();
    assert!(breaker.try_acquire().is_err());
    drop(probe);
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    breaker
        .try_acquire()
        .expect("the permit came back")
        .ignored();
    succeed(&breaker);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_probe_that_panics_gives_its_permit_back() {
    let clock = clock();
    let breaker = tripped(&clock);
    clock.advance(10 * SECOND);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        breaker.call(|| -> Result<(), McpStoreError> { panic!("the call panicked") })
    }));
    assert!(panicked.is_err());
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    succeed(&breaker);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_probe_from_an_earlier_half_open_cannot_add_a_permit_to_a_later_one() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).half_open_permits(2));
    for _ in 0..10 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    let stale = breaker.try_acquire().unwrap();
    fail(&breaker); // the second probe fails: open again for 20 s
    clock.advance(20 * SECOND);
    let first = breaker.try_acquire().unwrap();
    let second = breaker.try_acquire().unwrap();
    drop(stale);
    assert!(breaker.try_acquire().is_err(), "still two permits in all");
    drop((first, second));
}

#[test]
fn half_open_waits_at_most_its_limit_for_hung_probes() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).max_half_open_wait(30 * SECOND));
    for _ in 0..10 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    let hung = breaker.try_acquire().unwrap();
    clock.advance(29 * SECOND);
    assert_eq!(refusal(&breaker).retry_after(), Some(SECOND));
    clock.advance(SECOND);
    let reopened = refusal(&breaker);
    assert_eq!(reopened.details()["state"], "open");
    assert_eq!(reopened.retry_after(), Some(20 * SECOND));
    hung.success(); // too late: reports nothing
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(20 * SECOND);
    succeed(&breaker);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_probe_handed_out_after_a_dropped_one_gets_the_whole_wait() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).max_half_open_wait(60 * SECOND));
    for _ in 0..10 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    let first = breaker.try_acquire().unwrap();
    clock.advance(59 * SECOND);
    drop(first); // cancelled: its permit comes back
    let second = breaker.try_acquire().unwrap();
    clock.advance(2 * SECOND);
    // Out for 2 s of its 60: not taken for hung, the breaker stays half-open.
    assert_eq!(refusal(&breaker).retry_after(), Some(58 * SECOND));
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    second.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn several_permits_all_must_succeed_to_close() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).half_open_permits(3));
    for _ in 0..10 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    succeed(&breaker);
    succeed(&breaker);
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    succeed(&breaker);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_time_window_counts_every_call_of_eight_threads_while_its_slices_turn() {
    let clock = clock();
    let breaker = CircuitBreaker::new(
        "fs",
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Time {
                length: 100 * SECOND,
                buckets: 100,
            })
            .minimum_calls(1)
            .failure_rate(1.0) // only an all-failure window trips: this one never does
            .clock(clock.clone()),
    );
    succeed(&breaker); // so that the window is never all failures
    let barrier = Barrier::new(9);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..2_000 {
                    succeed(&breaker);
                }
            });
        }
        // Failures close the lock-free tally and slices turn (50 of the window's 100) while
        // the successes are counted.
        scope.spawn(|| {
            barrier.wait();
            for _ in 0..50 {
                fail(&breaker);
                clock.advance(SECOND);
                std::thread::yield_now();
            }
        });
    });
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::Closed);
    assert_eq!((metrics.calls, metrics.failures), (16_051, 50));
}

#[test]
fn half_open_admits_exactly_its_permits_to_eight_threads_at_once() {
    for permits in [1, 3, 8] {
        let clock = clock();
        let breaker = CircuitBreaker::new("fs", config(&clock).half_open_permits(permits));
        for _ in 0..10 {
            fail(&breaker);
        }
        clock.advance(10 * SECOND);
        let start = Barrier::new(8);
        let held = Barrier::new(8);
        let admitted = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        let permit = breaker.try_acquire();
                        let admitted = permit.is_ok();
                        held.wait(); // every permit is held until all have asked
                        drop(permit);
                        admitted
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap())
                .filter(|admitted| *admitted)
                .count()
        });
        assert_eq!(admitted, permits as usize);
        assert_eq!(
            breaker.state(),
            CircuitState::HalfOpen,
            "dropped probes decide nothing"
        );
    }
}

// ---- slow calls and time windows ----

#[test]
fn a_slow_success_counts_in_a_window_full_of_quick_ones() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).slow_calls(2 * SECOND, 0.1));
    for _ in 0..10 {
        succeed(&breaker); // no time passes: quick
    }
    let permit = breaker.try_acquire().unwrap();
    clock.advance(2 * SECOND);
    permit.success();
    assert_eq!(breaker.metrics().slow_calls, 1);
    assert_eq!(
        breaker.state(),
        CircuitState::Open,
        "1 slow call in 10 reaches 10 %"
    );
}

/// The slow calls among `(starts at, lasts)` pairs in nanoseconds after the breaker is made,
/// each on a fresh breaker slowed at `limit`, counted as its metrics say.
fn slow_calls_judged(limit: Duration, calls: &[(u64, u64)]) -> Vec<u64> {
    calls
        .iter()
        .map(|&(starts, lasts)| {
            let clock = clock();
            let breaker = CircuitBreaker::new("fs", config(&clock).slow_calls(limit, 1.0));
            clock.advance(Duration::from_nanos(starts));
            let permit = breaker.try_acquire().unwrap();
            clock.advance(Duration::from_nanos(lasts));
            permit.success();
            breaker.metrics().slow_calls
        })
        .collect()
}

#[test]
fn a_call_shorter_than_the_slow_call_duration_by_less_than_a_microsecond_is_not_slow() {
    // 999.5 µs under a 1 ms limit, started at 0, 0.6 and 0.9 µs: the start and the end
    // fall in different microseconds, and must not round the call up to 1 ms.
    let lasts = 999_500;
    assert_eq!(
        slow_calls_judged(
            Duration::from_millis(1),
            &[(0, lasts), (600, lasts), (900, lasts)]
        ),
        [0, 0, 0]
    );
    // And exactly 1 ms is slow, wherever it starts.
    assert_eq!(
        slow_calls_judged(
            Duration::from_millis(1),
            &[(0, 1_000_000), (600, 1_000_000)]
        ),
        [1, 1]
    );
}

#[test]
fn a_call_as_long_as_a_sub_microsecond_slow_call_duration_is_slow() {
    // 500 ns under a 400 ns limit, within one microsecond (0.2 to 0.7 µs); 300 ns is quick.
    assert_eq!(
        slow_calls_judged(Duration::from_nanos(400), &[(200, 500), (200, 300)]),
        [1, 0]
    );
}

#[test]
fn slow_successes_open_the_breaker_at_the_slow_call_rate() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock).slow_calls(2 * SECOND, 0.8));
    let call = |lasting: Duration| {
        let permit = breaker.try_acquire().unwrap();
        clock.advance(lasting);
        permit.success();
    };
    for i in 0..10 {
        call(if i < 3 { SECOND } else { 2 * SECOND });
    }
    assert_eq!(breaker.metrics().slow_calls, 7);
    assert_eq!(breaker.state(), CircuitState::Closed, "70 % < 80 %");
    call(3 * SECOND); // pushes out a quick call
    assert_eq!(breaker.metrics().slow_calls, 8);
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn slow_probes_reopen_only_once_they_reach_the_slow_call_share_of_the_probes() {
    for (slow_share, slow_probes, reopened) in [
        (1.0, 1, false),
        (1.0, 4, true),
        (0.5, 1, false),
        (0.5, 2, true),
    ] {
        let clock = clock();
        let config = config(&clock)
            .slow_calls(SECOND, slow_share)
            .half_open_permits(4);
        let breaker = CircuitBreaker::new("fs", config);
        for _ in 0..10 {
            fail(&breaker);
        }
        clock.advance(10 * SECOND);
        let mut probes: Vec<_> = (0..4).map(|_| breaker.try_acquire().unwrap()).collect();
        assert!(probes.iter().all(|probe| probe.is_probe()));
        let slow = probes.split_off(4 - slow_probes);
        for quick in probes {
            quick.success();
        }
        clock.advance(2 * SECOND);
        for probe in slow {
            probe.success();
        }
        let expected = if reopened {
            CircuitState::Open
        } else {
            CircuitState::Closed
        };
        assert_eq!(
            breaker.state(),
            expected,
            "{slow_probes} slow probe(s) of 4 under a slow share of {slow_share}"
        );
    }
}

#[test]
fn a_time_window_forgets_calls_older_than_its_length() {
    let clock = clock();
    let window = SlidingWindow::Time {
        length: 10 * SECOND,
        buckets: 10,
    };
    let breaker = CircuitBreaker::new("fs", config(&clock).window(window).minimum_calls(4));
    for _ in 0..3 {
        fail(&breaker);
    }
    clock.advance(5 * SECOND);
    succeed(&breaker);
    assert_eq!(
        (breaker.metrics().calls, breaker.metrics().failures),
        (4, 3)
    );
    assert_eq!(breaker.state(), CircuitState::Open, "3 in 4 over 10 s");

    breaker.reset();
    for _ in 0..3 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    assert_eq!(breaker.metrics().calls, 0, "the failures aged out");
    fail(&breaker);
    succeed(&breaker);
    succeed(&breaker);
    succeed(&breaker);
    assert_eq!(breaker.state(), CircuitState::Closed, "1 in 4");
}

// ---- operators ----

#[test]
fn forced_open_refuses_everything_until_reset() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    breaker.force_open();
    clock.advance(3600 * SECOND);
    let error = refusal(&breaker);
    assert_eq!(error.details()["state"], "forced_open");
    assert_eq!(breaker.state(), CircuitState::ForcedOpen);
    breaker.reset();
    succeed(&breaker);
}

#[test]
fn disabled_lets_everything_through_and_counts_nothing() {
    let clock = clock();
    let breaker = CircuitBreaker::new("fs", config(&clock));
    breaker.disable();
    for _ in 0..100 {
        fail(&breaker);
    }
    assert_eq!(breaker.state(), CircuitState::Disabled);
    assert_eq!(breaker.metrics().calls, 0);
    breaker.reset();
    assert_eq!(breaker.state(), CircuitState::Closed);
    succeed(&breaker);
    assert_eq!(breaker.metrics().calls, 1);
}

#[test]
fn every_transition_is_a_tracing_event() {
    let clock = clock();
    let events = capture_events("mcpstore_errors::breaker", || {
        let breaker = tripped(&clock);
        clock.advance(10 * SECOND);
        succeed(&breaker);
        breaker.force_open();
        breaker.disable();
        breaker.reset();
    });
    let moves: Vec<_> = events
        .iter()
        .map(|e| (e.field("from").unwrap(), e.field("to").unwrap()))
        .collect();
    assert_eq!(
        moves,
        [
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "closed"),
            ("closed", "forced_open"),
            ("forced_open", "disabled"),
            ("disabled", "closed"),
        ]
    );
    assert_eq!(events[0].field("service"), Some("fs"));
    assert_eq!(events[0].field("failure_rate"), Some("1.0"));
    assert_eq!(events[0].field("open_for_ms"), Some("10000"));
}

// ---- the registry ----

#[test]
fn the_registry_makes_one_breaker_per_service_with_its_configuration() {
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock));
    registry
        .configure(
            "search",
            config(&clock)
                .window(SlidingWindow::Count(2))
                .minimum_calls(2),
        )
        .unwrap();
    let fs = registry.breaker("fs");
    for _ in 0..10 {
        fail(&fs);
    }
    assert_eq!(
        registry.breaker("fs").state(),
        CircuitState::Open,
        "the same breaker"
    );
    let search = registry.breaker("search");
    fail(&search);
    fail(&search);
    assert_eq!(search.state(), CircuitState::Open);
    assert_eq!(registry.get("web").map(|b| b.state()), None);
    let mut services = registry.services();
    services.sort();
    assert_eq!(services, ["fs", "search"]);
}

#[test]
fn a_full_registry_forgets_the_least_recently_used_closed_breaker_only() {
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock)).max_services(3);
    let a = registry.breaker("a");
    for _ in 0..10 {
        fail(&a);
    }
    registry.breaker("b");
    registry.breaker("c");
    registry.breaker("b"); // c is now the least recently used closed one
    registry.breaker("d");
    assert_eq!(registry.len(), 3);
    let mut services = registry.services();
    services.sort();
    assert_eq!(services, ["a", "b", "d"], "the open breaker stays");
    for name in (0..10_000).map(|i| format!("outside-{i}")) {
        registry.breaker(&name);
    }
    assert_eq!(registry.len(), 3);
    assert_eq!(registry.get("a").unwrap().state(), CircuitState::Open);
    assert_eq!(registry.overflows(), 0);
}

#[test]
fn a_full_registry_forgets_a_breaker_with_no_failure_before_one_about_to_trip() {
    let clock = clock();
    let config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .failure_rate(1.0)
        .jitter(0.0)
        .clock(clock.clone());
    let registry = BreakerRegistry::new(config).max_services(2);
    let fs = registry.breaker("fs");
    fail(&fs); // one failure short of tripping, and the least recently used
    let in_flight = fs.try_acquire().unwrap();
    registry.breaker("a");
    registry.breaker("b"); // forgets "a", which holds no failure, not "fs"
    in_flight.failure(Some(ErrorKind::Connection), None);
    assert_eq!(fs.state(), CircuitState::Open);
    assert_eq!(
        registry.breaker("fs").state(),
        CircuitState::Open,
        "the registry's breaker is the one that tripped"
    );
    assert!(registry.get("a").is_none());
}

#[test]
fn a_registry_full_of_breakers_open_past_their_period_still_guards_a_new_service() {
    let clock = clock();
    let config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(1))
        .minimum_calls(1)
        .open_duration(10 * SECOND)
        .jitter(0.0)
        .clock(clock.clone());
    let registry = BreakerRegistry::new(config).max_services(2);
    for name in ["typo-1", "typo-2"] {
        let breaker = registry.breaker(name);
        fail(&breaker);
        assert_eq!(breaker.state(), CircuitState::Open);
    }
    // Within their open period both are kept: the new service is not guarded.
    assert_eq!(registry.breaker("early").state(), CircuitState::Disabled);
    assert_eq!(registry.overflows(), 1);
    // A day later, with no call since, the least recently used of them gives way.
    clock.advance(Duration::from_secs(86_400));
    let fs = registry.breaker("fs");
    assert_eq!(fs.state(), CircuitState::Closed);
    assert_eq!(registry.overflows(), 1);
    assert!(registry.get("typo-1").is_none());
    assert!(registry.get("typo-2").is_some());
}

#[test]
fn a_full_registry_forgets_a_half_open_breaker_whose_probe_was_given_back() {
    let clock = clock();
    let config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .open_duration(10 * SECOND)
        .jitter(0.0)
        .clock(clock.clone());
    let registry = BreakerRegistry::new(config).max_services(1);
    let a = registry.breaker("a");
    fail(&a);
    fail(&a);
    clock.advance(10 * SECOND);
    // A cancelled call: the probe is dropped unreported, its permit given back.
    drop(a.try_acquire().expect("probe"));
    assert_eq!(a.state(), CircuitState::HalfOpen);
    drop(a);
    clock.advance(Duration::from_secs(3600));
    let b = registry.breaker("b");
    assert_eq!(registry.overflows(), 0, "\"a\" gave way");
    assert_eq!(b.state(), CircuitState::Closed);
    assert!(registry.get("a").is_none());
}

#[test]
fn a_flood_of_new_services_forgets_no_trip_until_its_open_period_is_over() {
    // Already so before the busy-breaker fix: kept as the boundary of "idle open".
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock)).max_services(2);
    for name in ["a", "b"] {
        let breaker = registry.breaker(name);
        for _ in 0..10 {
            fail(&breaker);
        }
    }
    clock.advance(10 * SECOND - Duration::from_millis(1));
    for n in 0..100 {
        let outside = registry.breaker(&format!("outside-{n}"));
        assert_eq!(outside.state(), CircuitState::Disabled);
    }
    assert_eq!(registry.overflows(), 100);
    for name in ["a", "b"] {
        let open = registry.get(name).expect("kept");
        assert_eq!(
            open.metrics().open_remaining,
            Some(Duration::from_millis(1))
        );
    }
    clock.advance(Duration::from_millis(1));
    assert_eq!(registry.breaker("fs").state(), CircuitState::Closed);
    assert_eq!(registry.overflows(), 100);
    assert_eq!(registry.len(), 2);
}

/// A random source that, once armed, says it is drawing and waits to be let go: a breaker
/// draws its jitter under its lock as it trips, so a test can act in the middle of a trip.
#[derive(Debug, Default)]
struct PausingRandom {
    pause: std::sync::Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

impl PausingRandom {
    /// Arms the next draw: a receiver told when it starts, a sender that lets it finish.
    fn arm(&self) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (drawing, told) = mpsc::channel();
        let (let_go, waits) = mpsc::channel();
        *self.pause.lock().unwrap() = Some((drawing, waits));
        (told, let_go)
    }
}

impl RandomSource for PausingRandom {
    fn next_f64(&self) -> f64 {
        let pause = self.pause.lock().unwrap().take();
        if let Some((drawing, waits)) = pause {
            drawing.send(()).unwrap();
            waits.recv_timeout(10 * SECOND).expect("let go");
        }
        0.5 // no jitter: 1 + j * (2 * 0.5 - 1)
    }
}

#[test]
fn a_breaker_tripping_while_a_full_registry_picks_whom_to_forget_is_not_forgotten() {
    // The only breaker is closed by its published state, but a failure is tripping it on
    // another thread (its lock held): forgetting it would lose the trip, and the next call
    // to the service would get a fresh closed breaker and reach the failing service again.
    let clock = clock();
    let random = Arc::new(PausingRandom::default());
    let config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .failure_rate(1.0)
        .open_duration(10 * SECOND)
        .jitter(0.5)
        .random(random.clone())
        .clock(clock.clone());
    let registry = BreakerRegistry::new(config).max_services(1);
    let fs = registry.breaker("fs");
    fail(&fs);
    let (drawing, let_go) = random.arm();
    let tripping = std::thread::spawn(move || fail(&fs));
    drawing.recv_timeout(10 * SECOND).expect("the trip draws");
    let mut search = None;
    let events = capture_events("mcpstore_errors::breaker", || {
        search = Some(registry.breaker("search"));
    });
    let_go.send(()).unwrap();
    tripping.join().unwrap();
    let fs = registry.breaker("fs");
    assert_eq!(fs.state(), CircuitState::Open, "the trip is kept");
    assert_eq!(fs.metrics().open_remaining, Some(10 * SECOND));
    assert_eq!(registry.services(), ["fs"]);
    // Nothing else could be forgotten: the new service went unguarded, and was told so.
    assert_eq!(search.unwrap().state(), CircuitState::Disabled);
    assert_eq!(registry.overflows(), 1);
    assert_eq!(
        events
            .iter()
            .filter_map(|e| e.field("overflows"))
            .collect::<Vec<_>>(),
        ["1"],
        "the unguarded service is told of"
    );
}

#[test]
fn a_breaker_made_after_a_use_outranks_the_used_one() {
    // A use and a later insertion once took the same rank, and the tie went whichever way
    // the table's hash order fell: fresh tables, each with its own order, catch that.
    let clock = clock();
    for _ in 0..64 {
        let registry = BreakerRegistry::new(config(&clock)).max_services(2);
        registry.breaker("a");
        registry.breaker("b");
        registry.breaker("a"); // used after b was made
        registry.breaker("c"); // forgets b
        assert!(registry.get("b").is_none());
        registry.breaker("d"); // must forget a, used before c was made
        let mut services = registry.services();
        services.sort();
        assert_eq!(services, ["c", "d"]);
    }
}

/// A clock that counts how often it is read.
#[derive(Debug, Default)]
struct CountingClock {
    inner: ManualClock,
    reads: std::sync::atomic::AtomicU64,
}

impl mcpstore_errors::Clock for CountingClock {
    fn now(&self) -> std::time::Instant {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.now()
    }
    fn system_time(&self) -> std::time::SystemTime {
        self.inner.system_time()
    }
}

#[test]
fn choosing_whom_to_forget_reads_the_clock_once_not_once_per_breaker() {
    // Eviction runs under the registry's write lock, which every lookup waits on: it once
    // read each breaker's (the user's) clock, once per breaker held. Now a count window is
    // looked at without one, and one reading per clock serves the breakers that share it.
    let clock = Arc::new(CountingClock::default());
    let config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .clock(clock.clone());
    let registry = BreakerRegistry::new(config).max_services(100);
    registry.breaker("the-closed-one");
    for i in 0..99 {
        let breaker = registry.breaker(&format!("service-{i}"));
        fail(&breaker);
        fail(&breaker);
        assert_eq!(breaker.state(), CircuitState::Open);
    }
    let reads = || clock.reads.load(std::sync::atomic::Ordering::SeqCst);
    let before = reads();
    registry.breaker("one-more");
    let read = reads() - before;
    assert_eq!(registry.len(), 100);
    assert!(
        registry.get("the-closed-one").is_none(),
        "the closed one is forgotten"
    );
    assert!(registry.get("one-more").is_some());
    // A count window's totals need no time: the one read is taken before the write lock
    // (see tests/reentrant_clocks.rs), and the new breaker is made at it.
    assert_eq!(read, 1, "clock reads to forget one of 100 breakers");

    // None quiet: every closed breaker holds a failure, so each is looked at.
    let registry = BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(2))
            .minimum_calls(2)
            .clock(clock.clone()),
    )
    .max_services(100);
    for i in 0..100 {
        fail(&registry.breaker(&format!("failed-once-{i}")));
    }
    let before = reads();
    registry.breaker("one-more");
    let read = reads() - before;
    assert!(
        registry.get("failed-once-0").is_none(),
        "the least recently used"
    );
    assert!(read <= 2, "{read} clock reads to look at 100 breakers");
}

#[test]
fn a_registry_full_of_open_breakers_hands_out_unkept_disabled_ones_and_counts_them() {
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock)).max_services(2);
    for name in ["a", "b"] {
        let breaker = registry.breaker(name);
        for _ in 0..10 {
            fail(&breaker);
        }
    }
    let extra = registry.breaker("c");
    assert_eq!(extra.state(), CircuitState::Disabled);
    assert_eq!(registry.len(), 2);
    assert_eq!(registry.overflows(), 1);
    assert!(registry.configure("x", config(&clock)).is_ok());
    assert!(registry.configure("y", config(&clock)).is_ok());
    assert!(
        registry.configure("z", config(&clock)).is_err(),
        "configurations are bounded too"
    );
}

#[test]
fn configuring_a_blank_service_name_is_a_configuration_error() {
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock));
    for blank in ["", "  ", "\t\n"] {
        let error = registry
            .configure(blank, config(&clock).window(SlidingWindow::Count(2)))
            .expect_err("a blank name is refused");
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(
            error.message().contains("blank"),
            "the message says why: {}",
            error.message()
        );
        assert_eq!(
            registry.breaker(blank).config().sliding_window(),
            SlidingWindow::Count(10),
            "nothing was configured for {blank:?}"
        );
    }
}

#[test]
fn a_breaker_for_a_blank_service_name_is_made_with_one_warning_per_registry() {
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock));
    let events = capture_events("mcpstore_errors::breaker", || {
        let blank = registry.breaker("");
        assert_eq!(blank.service(), "");
        fail(&blank);
        assert_eq!(
            registry.breaker("").metrics().calls,
            1,
            "one breaker for \"\""
        );
        registry.breaker("  ");
        registry.breaker("fs");
    });
    let warnings: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert_eq!(warnings[0].field("service"), Some(""));
    assert!(warnings[0].field("message").unwrap().contains("blank"));
    assert_eq!(registry.len(), 3, "blank names are kept, each its own");

    let other = BreakerRegistry::new(config(&clock));
    let events = capture_events("mcpstore_errors::breaker", || {
        other.breaker("\t");
    });
    assert_eq!(events.len(), 1, "another registry warns of its own");
}

#[test]
fn the_global_registry_is_shared() {
    let first = breakers().breaker("breaker-test-global");
    first.force_open();
    assert_eq!(
        breakers().breaker("breaker-test-global").state(),
        CircuitState::ForcedOpen
    );
    first.reset();
}

// ---- a model-based property test ----

/// What a test step does.
#[derive(Debug, Clone)]
enum Step {
    Acquire,
    /// Report on an outstanding permit (index modulo their number).
    Report(usize, Report),
    Advance(u64),
}

#[derive(Debug, Clone, Copy)]
enum Report {
    Success,
    Failure,
    Alive,
    Ignored,
    Drop,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    steps_advancing(40_000)
}

/// Steps whose clock advances are below `max_ms`.
fn steps_advancing(max_ms: u64) -> impl Strategy<Value = Vec<Step>> {
    let report = prop_oneof![
        Just(Report::Success),
        Just(Report::Failure),
        Just(Report::Alive),
        Just(Report::Ignored),
        Just(Report::Drop),
    ];
    let step = prop_oneof![
        4 => Just(Step::Acquire),
        5 => (any::<usize>(), report).prop_map(|(i, r)| Step::Report(i, r)),
        1 => (0u64..max_ms).prop_map(Step::Advance),
    ];
    prop::collection::vec(step, 1..300)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ModelState {
    Closed,
    Open,
    HalfOpen,
}

/// The breaker's rules, written plainly: a deque for the window (of the last `size` calls, or
/// with `slices` of the calls whose slice numbers are less than `buckets` apart), milliseconds
/// for time.
struct Model {
    size: usize,
    minimum: usize,
    rate_percent: u64,
    permits: u32,
    max_wait: u64,
    now: u64,
    state: ModelState,
    generation: u64,
    /// `(slice_ms, buckets)` for a time window.
    slices: Option<(u64, u64)>,
    /// Calls as `(time, failed)`.
    window: VecDeque<(u64, bool)>,
    trips: u32,
    open_until: u64,
    /// When half-open began or last handed out a probe.
    probe_sent: u64,
    left: u32,
    passed: u32,
}

impl Model {
    fn trip(&mut self) {
        self.trips += 1;
        let period = (1000u64 << (self.trips - 1).min(20)).min(8000);
        self.open_until = self.now + period;
        self.state = ModelState::Open;
        self.generation += 1;
    }

    fn acquire(&mut self) -> Result<(u64, bool), u64> {
        if self.state == ModelState::Open && self.now >= self.open_until {
            self.state = ModelState::HalfOpen;
            self.generation += 1;
            self.probe_sent = self.now;
            self.left = self.permits;
            self.passed = 0;
        }
        match self.state {
            ModelState::Closed => Ok((self.generation, false)),
            ModelState::Open => Err(self.open_until - self.now),
            ModelState::HalfOpen if self.left > 0 => {
                self.left -= 1;
                self.probe_sent = self.now;
                Ok((self.generation, true))
            }
            ModelState::HalfOpen if self.now >= self.probe_sent + self.max_wait => {
                self.trip();
                Err(self.open_until - self.now)
            }
            ModelState::HalfOpen => Err(self.probe_sent + self.max_wait - self.now),
        }
    }

    /// `failed`: `None` when not counted.
    fn report(&mut self, (generation, probe): (u64, bool), failed: Option<bool>) {
        if generation != self.generation {
            return;
        }
        match (self.state, failed) {
            (ModelState::Closed, Some(failed)) => {
                self.window.push_back((self.now, failed));
                let minimum = match self.slices {
                    None => {
                        if self.window.len() > self.size {
                            self.window.pop_front();
                        }
                        self.minimum.min(self.size)
                    }
                    Some(_) => self.minimum,
                };
                self.expire();
                let (calls, failures) = self.totals();
                if calls >= minimum as u64
                    && failures > 0
                    && failures * 100 >= self.rate_percent * calls
                {
                    self.trip();
                }
            }
            (ModelState::HalfOpen, None) if probe => self.left += 1,
            (ModelState::HalfOpen, Some(true)) if probe => self.trip(),
            (ModelState::HalfOpen, Some(false)) if probe => {
                self.passed += 1;
                if self.passed == self.permits {
                    self.state = ModelState::Closed;
                    self.generation += 1;
                    self.window.clear();
                    self.trips = 0;
                }
            }
            _ => {}
        }
    }

    /// Forgets the calls a time window no longer holds.
    fn expire(&mut self) {
        if let Some((slice, buckets)) = self.slices {
            let now = self.now / slice;
            self.window.retain(|(at, _)| now - at / slice < buckets);
        }
    }

    /// `(calls, failures)` in the window.
    fn totals(&self) -> (u64, u64) {
        let failures = self.window.iter().filter(|(_, failed)| *failed).count();
        (self.window.len() as u64, failures as u64)
    }

    fn visible_state(&self) -> CircuitState {
        match self.state {
            ModelState::Closed => CircuitState::Closed,
            ModelState::Open if self.now >= self.open_until => CircuitState::HalfOpen,
            ModelState::Open => CircuitState::Open,
            ModelState::HalfOpen => CircuitState::HalfOpen,
        }
    }
}

/// Runs `steps` on a breaker with `window` and on the model, comparing the state after each
/// step and the window's counts after every `check_every`-th (a check takes the breaker's lock,
/// which a time window's lock-free tally must then hand its count to).
fn run_model(
    steps: Vec<Step>,
    window: SlidingWindow,
    mut model: Model,
    check_every: usize,
) -> Result<(), TestCaseError> {
    let clock = clock();
    let breaker = CircuitBreaker::new(
        "model",
        CircuitBreakerConfig::new()
            .window(window)
            .minimum_calls(model.minimum as u32)
            .failure_rate(model.rate_percent as f64 / 100.0)
            .open_duration(SECOND)
            .max_open_duration(8 * SECOND)
            .half_open_permits(model.permits)
            .max_half_open_wait(20 * SECOND)
            .jitter(0.0)
            .clock(clock.clone()),
    );
    let mut outstanding = Vec::new();
    for (index, step) in steps.into_iter().enumerate() {
        match step {
            Step::Acquire => match (breaker.try_acquire(), model.acquire()) {
                (Ok(permit), Ok(token)) => {
                    prop_assert_eq!(permit.is_probe(), token.1);
                    outstanding.push((permit, token));
                }
                (Err(error), Err(remaining)) => {
                    prop_assert_eq!(error.retry_after(), Some(Duration::from_millis(remaining)));
                }
                (real, model) => {
                    prop_assert!(false, "breaker {:?}, model {:?}", real.map(|_| ()), model)
                }
            },
            Step::Report(_, _) if outstanding.is_empty() => {}
            Step::Report(i, report) => {
                let (permit, token) = outstanding.swap_remove(i % outstanding.len());
                match report {
                    Report::Success => {
                        permit.success();
                        model.report(token, Some(false));
                    }
                    Report::Failure => {
                        permit.failure(Some(ErrorKind::Connection), None);
                        model.report(token, Some(true));
                    }
                    Report::Alive => {
                        permit.failure(Some(ErrorKind::ToolNotFound), None);
                        model.report(token, Some(false));
                    }
                    Report::Ignored => {
                        permit.ignored();
                        model.report(token, None);
                    }
                    Report::Drop => {
                        drop(permit);
                        model.report(token, None);
                    }
                }
            }
            Step::Advance(ms) => {
                clock.advance(Duration::from_millis(ms));
                model.now += ms;
            }
        }
        prop_assert_eq!(breaker.state(), model.visible_state());
        if model.state == ModelState::Closed && index % check_every == 0 {
            model.expire();
            let metrics = breaker.metrics();
            prop_assert_eq!((metrics.calls, metrics.failures), model.totals());
        }
    }
    Ok(())
}

fn model(size: usize, minimum: usize, rate_percent: u64, permits: u32) -> Model {
    Model {
        size,
        minimum,
        rate_percent,
        permits,
        max_wait: 20_000,
        now: 0,
        state: ModelState::Closed,
        generation: 0,
        slices: None,
        window: VecDeque::new(),
        trips: 0,
        open_until: 0,
        probe_sent: 0,
        left: 0,
        passed: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_breaker_behaves_as_the_reference_model(
        steps in steps(),
        size in 1usize..8,
        minimum in 1usize..10,
        rate_percent in prop_oneof![Just(25u64), Just(50), Just(60), Just(100)],
        permits in 1u32..4,
    ) {
        let window = SlidingWindow::Count(size as u32);
        run_model(steps, window, model(size, minimum, rate_percent, permits), 1)?;
    }

    /// A time window of 4 slices of a second, checked every step or every 5th (so that the
    /// lock-free tally of successes runs across several reports and slices between checks).
    #[test]
    fn a_time_window_breaker_behaves_as_the_reference_model(
        steps in steps_advancing(1_500),
        minimum in 1usize..10,
        rate_percent in prop_oneof![Just(25u64), Just(50), Just(60), Just(100)],
        permits in 1u32..4,
        check_every in prop_oneof![Just(1usize), Just(5)],
    ) {
        let window = SlidingWindow::Time { length: 4 * SECOND, buckets: 4 };
        let mut model = model(0, minimum, rate_percent, permits);
        model.slices = Some((1000, 4));
        run_model(steps, window, model, check_every)?;
    }
}

#[test]
fn a_zero_open_period_stays_zero_however_many_times_the_breaker_trips() {
    let clock = Arc::new(ManualClock::new());
    let breaker = CircuitBreaker::new(
        "fs",
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(1))
            .minimum_calls(1)
            .open_duration(Duration::ZERO)
            .jitter(0.0)
            .clock(clock),
    );
    // The growth power overflows after about a thousand trips; zero times it is still zero.
    for trip in 1..=1100u32 {
        let error = breaker
            .call(|| Err::<(), _>(McpStoreError::connection("refused")))
            .unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::Connection,
            "call {trip} was refused: open for {:?}",
            breaker.metrics().open_remaining
        );
    }
}

#[test]
fn a_faulty_random_source_cannot_open_the_breaker_for_its_maximum() {
    #[derive(Debug)]
    struct Faulty(f64);
    impl RandomSource for Faulty {
        fn next_f64(&self) -> f64 {
            self.0
        }
    }
    for draw in [f64::NAN, f64::INFINITY, -3.0, 7.0] {
        let clock = Arc::new(ManualClock::new());
        let breaker = CircuitBreaker::new(
            "fs",
            CircuitBreakerConfig::new()
                .window(SlidingWindow::Count(1))
                .minimum_calls(1)
                .open_duration(Duration::from_secs(10))
                .jitter(0.1)
                .random(Arc::new(Faulty(draw)))
                .clock(clock),
        );
        let _ = breaker.call(|| Err::<(), _>(McpStoreError::connection("refused")));
        let open = breaker.metrics().open_remaining.expect("open");
        assert!(
            open >= Duration::from_secs(9) && open <= Duration::from_secs(11),
            "draw {draw}: open for {open:?}"
        );
    }
}

#[test]
fn a_full_registry_warns_of_its_overflows_at_doubling_counts() {
    let clock = clock();
    let registry = BreakerRegistry::new(config(&clock)).max_services(1);
    let kept = registry.breaker("kept");
    for _ in 0..10 {
        fail(&kept);
    }
    let events = capture_events("mcpstore_errors::breaker", || {
        for n in 0..100 {
            assert_eq!(
                registry.breaker(&format!("outside-{n}")).state(),
                CircuitState::Disabled
            );
        }
    });
    let counts: Vec<&str> = events
        .iter()
        .filter_map(|event| event.field("overflows"))
        .collect();
    assert_eq!(counts, ["1", "2", "4", "8", "16", "32", "64"]);
    assert_eq!(
        events.len(),
        counts.len(),
        "an unkept breaker reports no transition"
    );
    assert_eq!(registry.overflows(), 100);
}

//! `RetryManager`: attempts, filters, the result predicate, the hook, server-suggested delays,
//! the delays slept, `tracing` events, and the async path under tokio and without it.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use mcpstore_errors::{
    ErrorKind, Jitter, McpStoreError, RetryConfig, RetryManager, RetryStrategy, SeededRandom,
    VirtualSleeper,
};
use mcpstore_errors_tests::CapturedEvent;

const MS: Duration = Duration::from_millis(1);

fn secs(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|&s| Duration::from_secs(s)).collect()
}

/// A policy that waits 100 ms, 200 ms, 400 ms, … on a virtual clock, and that clock.
fn virtual_policy(max_attempts: u32) -> (RetryConfig, Arc<VirtualSleeper>) {
    let sleeper = Arc::new(VirtualSleeper::new());
    let config = RetryConfig::new()
        .max_attempts(max_attempts)
        .strategy(RetryStrategy::Exponential)
        .base_delay(100 * MS)
        .max_delay(Duration::from_secs(30))
        .jitter(Jitter::None)
        .sleeper(sleeper.clone());
    (config, sleeper)
}

/// An operation that fails `failures` times with a different error each time, then succeeds
/// with the number of calls made.
fn failing_then_ok(failures: u32) -> impl FnMut() -> Result<u32, String> {
    let mut calls = 0;
    move || {
        calls += 1;
        if calls <= failures {
            Err(format!("failure {calls}"))
        } else {
            Ok(calls)
        }
    }
}

// ---- attempts and the outcome ----

#[test]
fn a_first_success_is_returned_without_sleeping() {
    let (config, sleeper) = virtual_policy(3);
    let result = RetryManager::new(config).execute(failing_then_ok(0));
    assert_eq!(result, Ok(1));
    assert!(sleeper.delays().is_empty());
}

#[test]
fn failures_are_retried_until_success_with_the_exact_delays() {
    let (config, sleeper) = virtual_policy(5);
    let result = RetryManager::new(config).execute(failing_then_ok(3));
    assert_eq!(result, Ok(4));
    assert_eq!(sleeper.delays(), [100 * MS, 200 * MS, 400 * MS]);
}

#[test]
fn after_the_last_attempt_the_last_error_is_returned() {
    let (config, sleeper) = virtual_policy(3);
    let result = RetryManager::new(config).execute(failing_then_ok(10));
    assert_eq!(result, Err("failure 3".to_string()));
    assert_eq!(sleeper.delays(), [100 * MS, 200 * MS]);
}

#[test]
fn a_configured_sleeper_records_zero_delays_too() {
    let (config, sleeper) = virtual_policy(4);
    let config = config.base_delay(Duration::ZERO);
    let result = RetryManager::new(config).execute(failing_then_ok(3));
    assert_eq!(result, Ok(4));
    assert_eq!(sleeper.delays(), [Duration::ZERO; 3]);
}

#[test]
fn max_attempts_counts_every_call_the_first_included() {
    let (config, _) = virtual_policy(4);
    let calls = Cell::new(0);
    let _ = RetryManager::new(config).execute(|| {
        calls.set(calls.get() + 1);
        Err::<(), _>("down")
    });
    assert_eq!(calls.get(), 4);
}

#[test]
fn max_attempts_zero_calls_once_and_never_sleeps() {
    let (config, sleeper) = virtual_policy(0);
    let result = RetryManager::new(config).execute(failing_then_ok(10));
    assert_eq!(result, Err("failure 1".to_string()));
    assert!(sleeper.delays().is_empty());
}

#[test]
fn the_default_filter_retries_every_error() {
    let (config, _) = virtual_policy(3);
    let result = RetryManager::new(config).execute(failing_then_ok(2));
    assert_eq!(result, Ok(3));
}

// ---- error filters ----

#[test]
fn an_error_the_predicate_rejects_returns_at_once_without_sleeping() {
    let (config, sleeper) = virtual_policy(5);
    let calls = Cell::new(0);
    let result = RetryManager::new(config)
        .retry_if(|error: &String| error != "fatal")
        .execute(|| {
            calls.set(calls.get() + 1);
            Err::<(), _>(
                if calls.get() == 1 {
                    "transient"
                } else {
                    "fatal"
                }
                .to_string(),
            )
        });
    assert_eq!(result, Err("fatal".to_string()));
    assert_eq!(calls.get(), 2);
    assert_eq!(sleeper.delays(), [100 * MS]);
}

#[test]
fn a_non_retryable_first_error_means_one_call_and_no_sleep() {
    let (config, sleeper) = virtual_policy(5);
    let calls = Cell::new(0);
    let result = RetryManager::new(config)
        .retry_if(|_: &String| false)
        .execute(|| {
            calls.set(calls.get() + 1);
            Err::<(), _>("nope".to_string())
        });
    assert_eq!(result, Err("nope".to_string()));
    assert_eq!(calls.get(), 1);
    assert!(sleeper.delays().is_empty());
}

/// Runs an operation failing with `errors` in turn (then succeeding) under `manager`, and
/// returns the outcome and the number of calls.
fn run_errors<W, R, H>(
    manager: &RetryManager<W, R, H>,
    errors: Vec<McpStoreError>,
) -> (Result<&'static str, McpStoreError>, usize)
where
    W: mcpstore_errors::ErrorFilter<McpStoreError>,
    R: mcpstore_errors::ResultFilter<&'static str>,
    H: mcpstore_errors::RetryHook<McpStoreError>,
{
    let mut errors = errors.into_iter();
    let mut calls = 0;
    let result = manager.execute(|| {
        calls += 1;
        match errors.next() {
            Some(error) => Err(error),
            None => Ok("done"),
        }
    });
    (result, calls)
}

#[test]
fn retry_on_retries_sub_kinds_of_the_listed_kinds() {
    let (config, _) = virtual_policy(5);
    let manager = RetryManager::new(config).retry_on([ErrorKind::Service, ErrorKind::Connection]);
    let (result, calls) = run_errors(
        &manager,
        vec![
            McpStoreError::service_timeout("fs", Duration::from_secs(1)),
            McpStoreError::service_start_failed("fs", "port busy"),
            McpStoreError::connection("refused"),
        ],
    );
    assert_eq!(result.unwrap(), "done");
    assert_eq!(calls, 4);
}

#[test]
fn retry_on_stops_at_a_kind_outside_the_list() {
    let (config, sleeper) = virtual_policy(5);
    let manager = RetryManager::new(config).retry_on([ErrorKind::Service]);
    let (result, calls) = run_errors(
        &manager,
        vec![
            McpStoreError::service_timeout("fs", Duration::from_secs(1)),
            McpStoreError::tool_execution_failed("read", "boom", None),
        ],
    );
    assert_eq!(result.unwrap_err().kind(), ErrorKind::ToolExecution);
    assert_eq!(calls, 2);
    assert_eq!(sleeper.delays(), [100 * MS]);
}

#[test]
fn retry_on_a_sub_kind_does_not_retry_its_parent() {
    let (config, _) = virtual_policy(5);
    let manager = RetryManager::new(config).retry_on([ErrorKind::ServiceStart]);
    let (result, calls) = run_errors(
        &manager,
        vec![McpStoreError::new(
            ErrorKind::Service,
            "generic service error",
        )],
    );
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Service);
    assert_eq!(calls, 1);
}

#[test]
fn retry_if_retryable_retries_transient_kinds_only() {
    let (config, _) = virtual_policy(5);
    let manager = RetryManager::new(config).retry_if_retryable();
    let (result, calls) = run_errors(
        &manager,
        vec![
            McpStoreError::connection("refused"),
            McpStoreError::service_stop_failed("fs", "busy"),
            McpStoreError::service_not_found("fs"),
        ],
    );
    assert_eq!(result.unwrap_err().kind(), ErrorKind::ServiceNotFound);
    assert_eq!(calls, 3);
}

// ---- server-suggested delays ----

#[test]
fn retry_on_waits_the_server_suggested_delay() {
    let (config, sleeper) = virtual_policy(3);
    let manager = RetryManager::new(config).retry_on([ErrorKind::Connection]);
    let busy = McpStoreError::connection("busy").with_retry_after(Duration::from_secs(2));
    let (result, _) = run_errors(&manager, vec![busy]);
    assert!(result.is_ok());
    assert_eq!(sleeper.delays(), secs(&[2]));
}

#[test]
fn retry_if_retryable_waits_the_server_suggested_delay() {
    let (config, sleeper) = virtual_policy(3);
    let manager = RetryManager::new(config).retry_if_retryable();
    let busy = McpStoreError::connection("busy").with_retry_after(Duration::from_secs(3));
    let (result, _) = run_errors(&manager, vec![busy]);
    assert!(result.is_ok());
    assert_eq!(sleeper.delays(), secs(&[3]));
}

#[test]
fn a_server_suggested_delay_never_exceeds_max_delay() {
    let (config, sleeper) = virtual_policy(3);
    let config = config.max_delay(Duration::from_secs(5));
    let manager = RetryManager::new(config).retry_on([ErrorKind::Connection]);
    let busy = McpStoreError::connection("busy").with_retry_after(Duration::from_secs(600));
    let (result, _) = run_errors(&manager, vec![busy]);
    assert!(result.is_ok());
    assert_eq!(sleeper.delays(), secs(&[5]));
}

#[test]
fn a_server_suggested_delay_shorter_than_the_backoff_does_not_shorten_it() {
    let (config, sleeper) = virtual_policy(3);
    let manager = RetryManager::new(config).retry_on([ErrorKind::Connection]);
    let busy = McpStoreError::connection("busy").with_retry_after(10 * MS);
    let (result, _) = run_errors(&manager, vec![busy]);
    assert!(result.is_ok());
    assert_eq!(sleeper.delays(), [100 * MS]);
}

#[test]
fn a_plain_predicate_still_waits_the_server_suggested_delay() {
    let (config, sleeper) = virtual_policy(3);
    let manager = RetryManager::new(config).retry_if(|_: &McpStoreError| true);
    let busy = McpStoreError::connection("busy").with_retry_after(Duration::from_secs(2));
    let (result, _) = run_errors(&manager, vec![busy]);
    assert!(result.is_ok());
    assert_eq!(sleeper.delays(), secs(&[2]));
}

#[test]
fn the_default_filter_waits_the_server_suggested_delay() {
    let (config, sleeper) = virtual_policy(3);
    let manager = RetryManager::new(config);
    let busy = McpStoreError::connection("busy").with_retry_after(Duration::from_secs(2));
    let (result, _) = run_errors(&manager, vec![busy]);
    assert!(result.is_ok());
    assert_eq!(sleeper.delays(), secs(&[2]));
}

#[test]
fn a_boxed_error_is_classified_by_the_mcpstore_error_in_its_chain() {
    let (config, sleeper) = virtual_policy(3);
    let manager = RetryManager::new(config).retry_if_retryable();
    let mut calls = 0;
    let result = manager.execute(
        || -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
            calls += 1;
            match calls {
                1 => Err(McpStoreError::connection("busy")
                    .with_retry_after(Duration::from_secs(4))
                    .into()),
                2 => Err(McpStoreError::tool_not_found("read", Some("fs")).into()),
                _ => Ok(calls),
            }
        },
    );
    assert_eq!(calls, 2, "a tool-not-found error is not retryable");
    assert!(result.is_err());
    assert_eq!(sleeper.delays(), secs(&[4]));
}

// ---- the result predicate ----

#[test]
fn a_rejected_result_is_retried_until_one_is_accepted() {
    let (config, sleeper) = virtual_policy(5);
    let mut calls = 0;
    let result = RetryManager::new(config)
        .retry_if_result(|value: &u32| *value < 3)
        .execute(|| {
            calls += 1;
            Ok::<_, String>(calls)
        });
    assert_eq!(result, Ok(3));
    assert_eq!(sleeper.delays(), [100 * MS, 200 * MS]);
}

#[test]
fn after_the_last_attempt_the_last_rejected_result_is_returned() {
    let (config, sleeper) = virtual_policy(3);
    let mut calls = 0;
    let result = RetryManager::new(config)
        .retry_if_result(|_: &u32| true)
        .execute(|| {
            calls += 1;
            Ok::<_, String>(calls)
        });
    assert_eq!(result, Ok(3));
    assert_eq!(sleeper.delays(), [100 * MS, 200 * MS]);
}

// ---- the on_retry hook ----

#[test]
fn on_retry_gets_the_attempt_number_the_error_and_the_next_delay() {
    let (config, _) = virtual_policy(3);
    let seen = Mutex::new(Vec::new());
    let result = RetryManager::new(config)
        .on_retry(|attempt: u32, error: &String, delay: Duration| {
            seen.lock().unwrap().push((attempt, error.clone(), delay));
        })
        .execute(failing_then_ok(5));
    assert_eq!(result, Err("failure 3".to_string()));
    assert_eq!(
        seen.into_inner().unwrap(),
        [
            (1, "failure 1".to_string(), 100 * MS),
            (2, "failure 2".to_string(), 200 * MS),
        ]
    );
}

#[test]
fn on_retry_is_not_called_for_a_non_retryable_error() {
    let (config, _) = virtual_policy(3);
    let hooked = Cell::new(0);
    let _ = RetryManager::new(config)
        .retry_if(|_: &String| false)
        .on_retry(|_: u32, _: &String, _: Duration| hooked.set(hooked.get() + 1))
        .execute(failing_then_ok(5));
    assert_eq!(hooked.get(), 0);
}

// ---- jitter under a seeded source ----

#[test]
fn jittered_delays_are_the_seeded_sequence() {
    for jitter in [
        Jitter::Proportional(0.25),
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let (config, sleeper) = virtual_policy(6);
        let config = config.jitter(jitter);
        let expected: Vec<_> = config
            .clone()
            .random(Arc::new(SeededRandom::new(9)))
            .backoff()
            .collect();
        let result = RetryManager::new(config.random(Arc::new(SeededRandom::new(9))))
            .execute(failing_then_ok(10));
        assert_eq!(result, Err("failure 6".to_string()));
        assert_eq!(sleeper.delays(), expected, "{jitter:?}");
    }
}

#[test]
fn proportional_jitter_moves_each_delay_within_its_band() {
    let (config, sleeper) = virtual_policy(6);
    let config = config
        .jitter(Jitter::Proportional(0.1))
        .random(Arc::new(SeededRandom::new(5)));
    let _ = RetryManager::new(config).execute(failing_then_ok(10));
    let nominal = [100, 200, 400, 800, 1600];
    for (delay, nominal) in sleeper.delays().into_iter().zip(nominal) {
        let ms = delay.as_secs_f64() * 1000.0;
        let nominal = f64::from(nominal);
        assert!(
            nominal * 0.9 <= ms && ms <= nominal * 1.1,
            "{ms} vs {nominal}"
        );
    }
}

// ---- the seed's RetryManager example ----

/// A fake MCPStore whose service answers with each of `answers` in turn, then "running".
struct FakeStore {
    answers: Mutex<Vec<Result<&'static str, McpStoreError>>>,
    status_calls: Cell<u32>,
}

impl FakeStore {
    fn new(mut answers: Vec<Result<&'static str, McpStoreError>>) -> Self {
        answers.reverse();
        FakeStore {
            answers: Mutex::new(answers),
            status_calls: Cell::new(0),
        }
    }

    fn starting_then_running(starting: usize) -> Self {
        Self::new(vec![Ok("starting"); starting])
    }

    fn get_service_status(&self, service_name: &str) -> Result<&'static str, McpStoreError> {
        assert_eq!(service_name, "filesystem");
        self.status_calls.set(self.status_calls.get() + 1);
        self.answers.lock().unwrap().pop().unwrap_or(Ok("running"))
    }
}

fn check_service_health(store: &FakeStore, service_name: &str) -> Result<bool, McpStoreError> {
    Ok(store.get_service_status(service_name)? == "running")
}

/// The seed's configuration: 5 attempts, exponential, 1 s base, 30 s cap, retry on service and
/// connection errors, and retry while the health check returns false.
fn seed_health_manager(
    sleeper: Arc<VirtualSleeper>,
) -> RetryManager<mcpstore_errors::KindSet, impl Fn(&bool) -> bool> {
    let config = RetryConfig::new()
        .max_attempts(5)
        .strategy(RetryStrategy::Exponential)
        .base_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(30))
        .jitter(Jitter::None)
        .sleeper(sleeper);
    RetryManager::new(config)
        .retry_on([ErrorKind::Service, ErrorKind::Connection])
        .retry_if_result(|healthy: &bool| !*healthy)
}

#[test]
fn seed_example_waits_1_2_4_8_seconds_for_a_starting_service() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let store = FakeStore::starting_then_running(4);
    let healthy =
        seed_health_manager(sleeper.clone()).execute(|| check_service_health(&store, "filesystem"));
    assert!(healthy.unwrap());
    assert_eq!(store.status_calls.get(), 5);
    assert_eq!(sleeper.delays(), secs(&[1, 2, 4, 8]));
}

#[test]
fn seed_example_retries_through_timeouts_and_connection_errors() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let store = FakeStore::new(vec![
        Err(McpStoreError::service_timeout(
            "filesystem",
            Duration::from_secs(5),
        )),
        Err(McpStoreError::connection("connection refused")),
        Ok("starting"),
        Err(McpStoreError::connection("connection reset")),
    ]);
    let healthy =
        seed_health_manager(sleeper.clone()).execute(|| check_service_health(&store, "filesystem"));
    assert!(healthy.unwrap());
    assert_eq!(sleeper.delays(), secs(&[1, 2, 4, 8]));
}

#[test]
fn seed_example_returns_false_when_the_service_never_runs() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let store = FakeStore::starting_then_running(100);
    let healthy =
        seed_health_manager(sleeper.clone()).execute(|| check_service_health(&store, "filesystem"));
    assert!(!healthy.unwrap());
    assert_eq!(store.status_calls.get(), 5);
    assert_eq!(sleeper.delays(), secs(&[1, 2, 4, 8]));
}

#[test]
fn seed_example_returns_the_last_error_when_the_service_keeps_failing() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let store = FakeStore::new(
        (1..=5)
            .map(|n| Err(McpStoreError::connection(format!("refused #{n}"))))
            .collect(),
    );
    let err = seed_health_manager(sleeper.clone())
        .execute(|| check_service_health(&store, "filesystem"))
        .unwrap_err();
    assert_eq!(err.message(), "refused #5");
    assert_eq!(sleeper.delays(), secs(&[1, 2, 4, 8]));
}

#[test]
fn seed_example_gives_up_at_once_on_a_configuration_error() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let store = FakeStore::new(vec![Err(McpStoreError::configuration("bad url"))]);
    let err = seed_health_manager(sleeper.clone())
        .execute(|| check_service_health(&store, "filesystem"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert_eq!(store.status_calls.get(), 1);
    assert!(sleeper.delays().is_empty());
}

// ---- tracing events ----

fn capture_events(body: impl FnOnce()) -> Vec<CapturedEvent> {
    mcpstore_errors_tests::capture_events("mcpstore_errors::retry", body)
}

#[test]
fn each_retry_is_an_info_event_with_attempt_delay_and_error() {
    let (config, _) = virtual_policy(3);
    let manager = RetryManager::new(config).operation("start_filesystem");
    let events = capture_events(|| {
        let _ = manager.execute(failing_then_ok(1));
    });
    assert_eq!(events.len(), 1, "{events:?}");
    let retry = &events[0];
    assert_eq!(retry.level, tracing::Level::INFO);
    assert_eq!(retry.field("operation"), Some("start_filesystem"));
    assert_eq!(retry.field("attempt"), Some("1"));
    assert_eq!(retry.field("max_attempts"), Some("3"));
    assert_eq!(retry.field("delay_ms"), Some("100"));
    assert_eq!(retry.field("error"), Some("failure 1"));
}

#[test]
fn giving_up_is_a_warn_event_with_the_last_attempt_and_error() {
    let (config, _) = virtual_policy(3);
    let manager = RetryManager::new(config);
    let events = capture_events(|| {
        let _ = manager.execute(failing_then_ok(10));
    });
    let attempts: Vec<_> = events.iter().map(|e| e.field("attempt")).collect();
    assert_eq!(attempts, [Some("1"), Some("2"), Some("3")]);
    assert_eq!(events[1].field("delay_ms"), Some("200"));
    assert_eq!(events[1].field("error"), Some("failure 2"));

    let give_up = &events[2];
    assert_eq!(give_up.level, tracing::Level::WARN);
    assert_eq!(give_up.field("error"), Some("failure 3"));
    assert_eq!(give_up.field("max_attempts"), Some("3"));
    assert_eq!(give_up.field("delay_ms"), None);
}

/// A sync `#[retry(config = ..)]` whose policy carries an attempt timeout.
#[mcpstore_errors::retry(config = virtual_policy(3).0.attempt_timeout(Duration::from_secs(2)))]
fn blocking_with_an_attempt_timeout(calls: &Cell<u32>) -> Result<u32, McpStoreError> {
    calls.set(calls.get() + 1);
    if calls.get() < 2 {
        Err(McpStoreError::connection("refused"))
    } else {
        Ok(calls.get())
    }
}

#[test]
fn a_blocking_call_under_an_attempt_timeout_says_at_each_retry_that_it_runs_on() {
    let said = |events: &[CapturedEvent]| {
        events
            .iter()
            .filter(|event| {
                event.level == tracing::Level::WARN
                    && event
                        .field("message")
                        .is_some_and(|message| message.contains("cannot be cut off"))
            })
            .map(|event| event.field("timeout").map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let (config, _) = virtual_policy(3);
    let manager = RetryManager::new(config.attempt_timeout(Duration::from_secs(2)));
    let events = capture_events(|| {
        assert_eq!(manager.execute(failing_then_ok(2)), Ok(3));
    });
    assert_eq!(
        said(&events),
        [Some("2s".to_owned()), Some("2s".to_owned())]
    );

    let calls = Cell::new(0);
    let events = capture_events(|| {
        assert_eq!(blocking_with_an_attempt_timeout(&calls).unwrap(), 2);
    });
    assert_eq!(
        said(&events),
        [Some("2s".to_owned())],
        "the attribute says it too"
    );

    let (config, _) = virtual_policy(3);
    let manager = RetryManager::new(config);
    let events = capture_events(|| {
        assert_eq!(manager.execute(failing_then_ok(2)), Ok(3));
    });
    assert!(said(&events).is_empty(), "no timeout, nothing said");
}

#[test]
fn a_non_retryable_error_is_a_debug_event() {
    let (config, _) = virtual_policy(3);
    let manager = RetryManager::new(config).retry_if(|_: &String| false);
    let events = capture_events(|| {
        let _ = manager.execute(failing_then_ok(10));
    });
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, tracing::Level::DEBUG);
    assert_eq!(events[0].field("attempt"), Some("1"));
    assert_eq!(events[0].field("error"), Some("failure 1"));
}

#[test]
fn rejected_results_are_events_too() {
    let (config, _) = virtual_policy(2);
    let manager = RetryManager::new(config).retry_if_result(|_: &u32| true);
    let events = capture_events(|| {
        let _ = manager.execute(failing_then_ok(0));
    });
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.level, e.field("attempt"), e.field("delay_ms")))
        .collect();
    assert_eq!(
        summary,
        [
            (tracing::Level::INFO, Some("1"), Some("100")),
            (tracing::Level::WARN, Some("2"), None),
        ]
    );
}

#[test]
fn a_first_success_emits_no_event() {
    let (config, _) = virtual_policy(3);
    let manager = RetryManager::new(config);
    let events = capture_events(|| {
        let _ = manager.execute(failing_then_ok(0));
    });
    assert!(events.is_empty(), "{events:?}");
}

// ---- async ----

#[tokio::test]
async fn execute_async_under_tokio_sleeps_virtually_and_returns_the_last_error() {
    let (config, sleeper) = virtual_policy(4);
    let mut calls = 0;
    let result: Result<(), String> = RetryManager::new(config)
        .execute_async(|| {
            calls += 1;
            let error = format!("failure {calls}");
            async move { Err(error) }
        })
        .await;
    assert_eq!(result, Err("failure 4".to_string()));
    assert_eq!(sleeper.delays(), [100 * MS, 200 * MS, 400 * MS]);
}

#[tokio::test]
async fn execute_async_runs_the_seed_health_check() {
    let sleeper = Arc::new(VirtualSleeper::new());
    let store = FakeStore::starting_then_running(4);
    let healthy = seed_health_manager(sleeper.clone())
        .execute_async(|| async { check_service_health(&store, "filesystem") })
        .await;
    assert!(healthy.unwrap());
    assert_eq!(sleeper.delays(), secs(&[1, 2, 4, 8]));
}

fn real_one_ms_policy() -> RetryConfig {
    RetryConfig::new()
        .max_attempts(3)
        .base_delay(MS)
        .max_delay(10 * MS)
        .jitter(Jitter::None)
}

#[tokio::test]
async fn execute_async_sleeps_on_tokios_timer_by_default() {
    let started = Instant::now();
    let mut attempt = failing_then_ok(2);
    let result = RetryManager::new(real_one_ms_policy())
        .execute_async(|| std::future::ready(attempt()))
        .await;
    assert_eq!(result, Ok(3));
    assert!(started.elapsed() >= 3 * MS, "{:?}", started.elapsed());
}

/// Wakes the thread that runs [`block_on`].
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor without any runtime: poll, park until woken, repeat. Panics when the
/// future is not woken within five seconds, instead of hanging.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
        assert!(Instant::now() < deadline, "the future was never woken");
    }
}

#[test]
fn execute_async_outside_tokio_sleeps_on_a_timer_thread() {
    let started = Instant::now();
    let mut attempt = failing_then_ok(2);
    let manager = RetryManager::new(real_one_ms_policy());
    let result = block_on(manager.execute_async(|| std::future::ready(attempt())));
    assert_eq!(result, Ok(3));
    assert!(started.elapsed() >= 3 * MS, "{:?}", started.elapsed());
}

#[test]
fn execute_async_outside_tokio_with_a_virtual_sleeper_never_waits() {
    let (config, sleeper) = virtual_policy(3);
    let mut attempt = failing_then_ok(10);
    let manager = RetryManager::new(config);
    let result = block_on(manager.execute_async(|| std::future::ready(attempt())));
    assert_eq!(result, Err("failure 3".to_string()));
    assert_eq!(sleeper.delays(), [100 * MS, 200 * MS]);
}

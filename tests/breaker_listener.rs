//! `CircuitBreakerConfig::on_transition`: a listener is called once per transition, in order,
//! for every way a breaker changes state, through every API; outside every lock (it may call
//! back into the breaker or its registry); a panicking one is caught; many threads see one
//! consistent sequence; a registry hands its default listener to the breakers it makes.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreaker, CircuitBreakerConfig, CircuitState, ErrorKind, ManualClock,
    McpStoreError, SlidingWindow, Transition, TransitionReason, circuit_breaker,
};
use mcpstore_errors_tests::{capture_events, finishes_within};

use CircuitState::{Closed, Disabled, ForcedOpen, HalfOpen, Open};
use TransitionReason as Why;

const SECOND: Duration = Duration::from_secs(1);
const LIMIT: Duration = Duration::from_secs(10);

/// Last 4 calls, all 4 needed, opens at 50 % failures or 50 % slow calls (2 s or more), 10 s
/// then ×2, no jitter, one probe.
fn config(clock: &Arc<ManualClock>) -> CircuitBreakerConfig {
    CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(4))
        .minimum_calls(4)
        .failure_rate(0.5)
        .slow_calls(2 * SECOND, 0.5)
        .open_duration(10 * SECOND)
        .max_open_duration(80 * SECOND)
        .jitter(0.0)
        .clock(clock.clone())
}

type Seen = Arc<Mutex<Vec<Transition>>>;

/// `config` with a listener that records every transition.
fn recorded(config: CircuitBreakerConfig) -> (CircuitBreakerConfig, Seen) {
    let seen = Seen::default();
    let sink = Arc::clone(&seen);
    let config = config.on_transition(move |t| sink.lock().unwrap().push(t.clone()));
    (config, seen)
}

/// The moves recorded: from, to, why, and the open period.
fn moves(seen: &Seen) -> Vec<(CircuitState, CircuitState, Why, Option<Duration>)> {
    let seen = seen.lock().unwrap();
    seen.iter()
        .map(|t| (t.from, t.to, t.reason, t.open_for))
        .collect()
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

// ---- every way a breaker changes state ----

#[test]
fn every_kind_of_transition_reaches_the_listener_once_in_order_with_its_reason() {
    let clock = Arc::new(ManualClock::new());
    let (config, seen) = recorded(config(&clock));
    let breaker = CircuitBreaker::new("fs", config);

    succeed(&breaker);
    succeed(&breaker);
    fail(&breaker);
    assert!(moves(&seen).is_empty(), "3 calls are under the minimum");
    fail(&breaker); // 2 of 4: 50 %
    clock.advance(10 * SECOND);
    fail(&breaker); // the probe fails: open for twice as long
    clock.advance(20 * SECOND);
    succeed(&breaker); // the probe succeeds
    breaker.force_open();
    breaker.disable();
    breaker.reset();
    breaker.reset(); // closed to closed is a transition too

    assert_eq!(
        moves(&seen),
        [
            (Closed, Open, Why::FailureRate, Some(10 * SECOND)),
            (Open, HalfOpen, Why::OpenPeriodOver, None),
            (HalfOpen, Open, Why::ProbeFailed, Some(20 * SECOND)),
            (Open, HalfOpen, Why::OpenPeriodOver, None),
            (HalfOpen, Closed, Why::ProbesSucceeded, None),
            (Closed, ForcedOpen, Why::ForcedOpen, None),
            (ForcedOpen, Disabled, Why::Disabled, None),
            (Disabled, Closed, Why::Reset, None),
            (Closed, Closed, Why::Reset, None),
        ]
    );
    let first = seen.lock().unwrap()[0].clone();
    assert_eq!(&*first.service, "fs");
    assert_eq!((first.failure_rate, first.calls), (0.5, 4));
}

#[test]
fn slow_calls_trip_and_slow_probes_reopen_with_their_own_reasons() {
    let clock = Arc::new(ManualClock::new());
    let (config, seen) = recorded(config(&clock));
    let breaker = CircuitBreaker::new("fs", config);
    let slow = || {
        let permit = breaker.try_acquire().expect("admitted");
        clock.advance(2 * SECOND);
        permit.success();
    };
    succeed(&breaker);
    succeed(&breaker);
    slow();
    slow(); // 2 slow of 4, no failure
    clock.advance(10 * SECOND);
    slow(); // the one probe is slow: half of one probe reaches 50 %

    assert_eq!(
        moves(&seen),
        [
            (Closed, Open, Why::SlowCallRate, Some(10 * SECOND)),
            (Open, HalfOpen, Why::OpenPeriodOver, None),
            (HalfOpen, Open, Why::SlowProbes, Some(20 * SECOND)),
        ]
    );
    let trip = seen.lock().unwrap()[0].clone();
    assert_eq!((trip.failure_rate, trip.slow_call_rate), (0.0, 0.5));
}

#[test]
fn a_half_open_breaker_whose_probe_hangs_reopens_as_timed_out() {
    let clock = Arc::new(ManualClock::new());
    let (config, seen) = recorded(config(&clock).max_half_open_wait(5 * SECOND));
    let breaker = CircuitBreaker::new("fs", config);
    for _ in 0..4 {
        fail(&breaker);
    }
    clock.advance(10 * SECOND);
    let hung = breaker.try_acquire().expect("the probe");
    clock.advance(5 * SECOND);
    assert!(breaker.try_acquire().is_err(), "refused, and reopened");
    drop(hung);

    assert_eq!(
        moves(&seen)[1..],
        [
            (Open, HalfOpen, Why::OpenPeriodOver, None),
            (HalfOpen, Open, Why::ProbesTimedOut, Some(20 * SECOND)),
        ]
    );
}

#[test]
fn the_listener_is_told_what_the_tracing_event_reports() {
    let clock = Arc::new(ManualClock::new());
    let (config, seen) = recorded(config(&clock));
    let breaker = CircuitBreaker::new("fs", config);
    let events = capture_events("mcpstore_errors::breaker", || {
        for _ in 0..4 {
            fail(&breaker);
        }
        clock.advance(10 * SECOND);
        succeed(&breaker);
        breaker.force_open();
    });
    let told: Vec<Vec<String>> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|t| {
            let open_for_ms = t.open_for.map(|d| d.as_millis().to_string());
            vec![
                t.service.to_string(),
                t.from.to_string(),
                t.to.to_string(),
                t.reason.to_string(),
                format!("{:?}", t.failure_rate),
                format!("{:?}", t.slow_call_rate),
                t.calls.to_string(),
                open_for_ms.unwrap_or_default(),
            ]
        })
        .collect();
    let reported: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let field = |name| e.field(name).unwrap_or_default().to_string();
            [
                "service",
                "from",
                "to",
                "reason",
                "failure_rate",
                "slow_call_rate",
                "calls",
                "open_for_ms",
            ]
            .map(field)
            .to_vec()
        })
        .collect();
    assert_eq!(told.len(), 4);
    assert_eq!(told, reported);
}

// ---- the same transitions through every API ----

/// One step of a script.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A call that succeeds at once.
    Ok,
    /// A call that fails with a connection error.
    Fail,
    /// A call that fails with an error that does not count against the service.
    ToolFails,
    /// A call that succeeds after 2 s (the slow-call limit) on the breaker's clock.
    Slow,
    /// No call: the clock moves on.
    Wait(Duration),
    ForceOpen,
    Disable,
    Reset,
}

/// Every reason there is, and calls refused while open, forced open and half-open.
const SCRIPT: &[Step] = &[
    Step::Ok,
    Step::ToolFails,
    Step::Fail,
    Step::Fail, // 2 of 4 fail: open for 10 s
    Step::Ok,   // refused
    Step::Wait(Duration::from_secs(10)),
    Step::Fail, // the probe fails: open for 20 s
    Step::Wait(Duration::from_secs(20)),
    Step::Ok, // the probe succeeds
    Step::Slow,
    Step::Ok,
    Step::Slow,
    Step::Ok, // 2 slow of 4: open for 10 s
    Step::Wait(Duration::from_secs(10)),
    Step::Slow, // the probe is slow: open for 20 s
    Step::Wait(Duration::from_secs(20)),
    Step::ToolFails, // the probe answered: closed
    Step::ForceOpen,
    Step::Ok, // refused
    Step::Disable,
    Step::Fail,
    Step::Fail,
    Step::Reset,
    Step::Fail,
];

/// A call's body, the same everywhere.
fn body(clock: &ManualClock, step: Step) -> Result<(), McpStoreError> {
    match step {
        Step::Ok => Ok(()),
        Step::Fail => Err(McpStoreError::connection("refused")),
        Step::ToolFails => Err(McpStoreError::tool_execution_failed("read", "boom", None)),
        Step::Slow => {
            clock.advance(2 * SECOND);
            Ok(())
        }
        _ => unreachable!("{step:?} is no call"),
    }
}

#[circuit_breaker(service = "fs", registry = registry)]
fn attribute(
    registry: &BreakerRegistry,
    clock: &ManualClock,
    step: Step,
) -> Result<(), McpStoreError> {
    body(clock, step)
}

#[circuit_breaker(service = "fs", registry = registry)]
async fn attribute_async(
    registry: &BreakerRegistry,
    clock: &ManualClock,
    step: Step,
) -> Result<(), McpStoreError> {
    body(clock, step)
}

fn by_permit(registry: &BreakerRegistry, clock: &ManualClock, step: Step) {
    let breaker = registry.breaker("fs");
    if let Ok(permit) = breaker.try_acquire() {
        permit.record_result(&body(clock, step));
    }
}

/// Polls a future that never waits to its end.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("no body waits"),
    }
}

type Driver = fn(&BreakerRegistry, &ManualClock, Step);

/// Runs `SCRIPT` through `call` on a fresh registry and clock: what the listener heard.
fn heard(call: Driver) -> Vec<(CircuitState, CircuitState, Why, Option<Duration>)> {
    let clock = Arc::new(ManualClock::new());
    let (config, seen) = recorded(config(&clock));
    let registry = BreakerRegistry::new(config);
    for &step in SCRIPT {
        match step {
            Step::Wait(by) => clock.advance(by),
            Step::ForceOpen => registry.breaker("fs").force_open(),
            Step::Disable => registry.breaker("fs").disable(),
            Step::Reset => registry.breaker("fs").reset(),
            call_step => call(&registry, &clock, call_step),
        }
    }
    moves(&seen)
}

#[test]
fn every_api_and_the_attribute_tell_the_listener_the_same_transitions() {
    let drivers: [(&str, Driver); 5] = [
        ("try_acquire and Permit", by_permit),
        ("call", |registry, clock, step| {
            let _ = registry.breaker("fs").call(|| body(clock, step));
        }),
        ("call_async", |registry, clock, step| {
            let breaker = registry.breaker("fs");
            let _ = ready(breaker.call_async(|| async { body(clock, step) }));
        }),
        ("#[circuit_breaker] fn", |registry, clock, step| {
            let _ = attribute(registry, clock, step);
        }),
        ("#[circuit_breaker] async fn", |registry, clock, step| {
            let _ = ready(attribute_async(registry, clock, step));
        }),
    ];
    let expected = [
        (Closed, Open, Why::FailureRate, Some(10 * SECOND)),
        (Open, HalfOpen, Why::OpenPeriodOver, None),
        (HalfOpen, Open, Why::ProbeFailed, Some(20 * SECOND)),
        (Open, HalfOpen, Why::OpenPeriodOver, None),
        (HalfOpen, Closed, Why::ProbesSucceeded, None),
        (Closed, Open, Why::SlowCallRate, Some(10 * SECOND)),
        (Open, HalfOpen, Why::OpenPeriodOver, None),
        (HalfOpen, Open, Why::SlowProbes, Some(20 * SECOND)),
        (Open, HalfOpen, Why::OpenPeriodOver, None),
        (HalfOpen, Closed, Why::ProbesSucceeded, None),
        (Closed, ForcedOpen, Why::ForcedOpen, None),
        (ForcedOpen, Disabled, Why::Disabled, None),
        (Disabled, Closed, Why::Reset, None),
    ];
    for (name, driver) in drivers {
        assert_eq!(heard(driver), expected, "through {name}");
    }
}

// ---- called outside every lock ----

#[test]
fn a_listener_may_read_call_and_change_its_own_breaker() {
    finishes_within(LIMIT, "a listener calling back into its breaker", || {
        let clock = Arc::new(ManualClock::new());
        let slot: Arc<Mutex<Option<CircuitBreaker>>> = Arc::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (me, sink) = (Arc::clone(&slot), Arc::clone(&seen));
        let config = config(&clock).on_transition(move |t| {
            let breaker = me
                .lock()
                .unwrap()
                .clone()
                .expect("set before any transition");
            // The breaker already stands where the transition took it.
            let state = breaker.state();
            let admitted = match breaker.try_acquire() {
                Ok(permit) => {
                    permit.success();
                    true
                }
                Err(_) => false,
            };
            let calls = breaker.metrics().calls;
            sink.lock()
                .unwrap()
                .push((t.from, t.to, state, admitted, calls));
            if t.to == ForcedOpen {
                breaker.reset(); // heard after this call returns
            }
        });
        let breaker = CircuitBreaker::new("fs", config);
        *slot.lock().unwrap() = Some(breaker.clone());

        breaker.force_open();
        for _ in 0..3 {
            fail(&breaker); // with the listener's success, 3 of 4 fail
        }
        assert_eq!(breaker.state(), Open);
        slot.lock().unwrap().take(); // the listener's handle, a cycle otherwise
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (Closed, ForcedOpen, ForcedOpen, false, 0),
                (ForcedOpen, Closed, Closed, true, 1),
                (Closed, Open, Open, false, 4),
            ]
        );
    });
}

#[test]
fn a_listener_may_read_and_change_the_registry_that_made_its_breaker() {
    finishes_within(LIMIT, "a listener calling back into its registry", || {
        let clock = Arc::new(ManualClock::new());
        let registry_slot: Arc<OnceLock<Weak<BreakerRegistry>>> = Arc::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (slot, sink) = (Arc::clone(&registry_slot), Arc::clone(&seen));
        let base = config(&clock);
        let config = base.clone().on_transition(move |t| {
            let registry = slot.get().and_then(Weak::upgrade).expect("alive");
            let kept = registry.get(&t.service).map(|breaker| breaker.state());
            let admitted = registry.breaker("other").try_acquire().is_ok();
            let forgot = registry.remove(&t.service);
            registry
                .configure("third", base.clone())
                .expect("room for it");
            sink.lock()
                .unwrap()
                .push((t.to, kept, admitted, forgot, registry.len()));
        });
        let registry = Arc::new(BreakerRegistry::new(config));
        registry_slot.set(Arc::downgrade(&registry)).unwrap();

        let fs = registry.breaker("fs");
        for _ in 0..4 {
            fail(&fs);
        }
        assert_eq!(fs.state(), Open);
        assert!(registry.get("fs").is_none(), "forgotten by the listener");
        assert_eq!(
            *seen.lock().unwrap(),
            [(Open, Some(Open), true, true, 1)],
            "it read fs open, called \"other\", forgot fs: \"other\" is left"
        );
    });
}

// ---- a panicking listener ----

#[test]
fn a_panicking_listener_is_reported_and_changes_nothing_else() {
    let clock = Arc::new(ManualClock::new());
    let panics = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&panics);
    let (config, seen) = recorded(config(&clock).on_transition(move |t| {
        count.fetch_add(1, Ordering::SeqCst);
        panic!("listener broke on {}", t.to);
    }));
    let breaker = CircuitBreaker::new("fs", config);
    let events = capture_events("mcpstore_errors::breaker", || {
        for _ in 0..4 {
            let outcome = breaker.call(|| Err::<(), _>(McpStoreError::connection("refused")));
            assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Connection);
        }
    });
    assert_eq!(breaker.state(), Open, "the trip stands");
    assert_eq!(panics.load(Ordering::SeqCst), 1);
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.field("panic").is_some())
        .collect();
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0].level, tracing::Level::WARN);
    assert_eq!(warned[0].field("panic"), Some("listener broke on open"));
    assert_eq!(warned[0].field("to"), Some("open"));

    // Not poisoned: the breaker works, and the next transitions are delivered to both.
    clock.advance(10 * SECOND);
    succeed(&breaker);
    assert_eq!(breaker.state(), Closed);
    assert_eq!(panics.load(Ordering::SeqCst), 3);
    assert_eq!(
        moves(&seen),
        [
            (Closed, Open, Why::FailureRate, Some(10 * SECOND)),
            (Open, HalfOpen, Why::OpenPeriodOver, None),
            (HalfOpen, Closed, Why::ProbesSucceeded, None),
        ],
        "the listener after the panicking one heard every transition"
    );
}

// ---- many threads ----

#[test]
fn many_threads_driving_one_breaker_give_the_listener_one_consistent_sequence() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 300;
    let clock = Arc::new(ManualClock::new());
    let seen: Arc<Mutex<Vec<(CircuitState, CircuitState)>>> = Arc::default();
    let running = Arc::new(AtomicBool::new(false));
    let overlapped = Arc::new(AtomicBool::new(false));
    let (sink, busy, overlap) = (seen.clone(), running.clone(), overlapped.clone());
    let config = config(&clock).half_open_permits(2).on_transition(move |t| {
        if busy.swap(true, Ordering::SeqCst) {
            overlap.store(true, Ordering::SeqCst);
        }
        // Widens the window in which a later transition could overtake this one.
        std::thread::yield_now();
        sink.lock().unwrap().push((t.from, t.to));
        busy.store(false, Ordering::SeqCst);
    });
    let breaker = CircuitBreaker::new("fs", config);
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (breaker, clock, start) = (breaker.clone(), clock.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    match (thread + round) % 11 {
                        0 if thread == 0 => breaker.force_open(),
                        0 if thread == 1 => breaker.reset(),
                        0 if thread == 2 => clock.advance(10 * SECOND),
                        n => {
                            if let Ok(permit) = breaker.try_acquire() {
                                match n % 3 {
                                    0 => permit.success(),
                                    _ => permit.failure(Some(ErrorKind::Connection), None),
                                }
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    breaker.reset();

    let seen = seen.lock().unwrap();
    assert!(
        seen.len() > THREADS,
        "enough transitions to race: {}",
        seen.len()
    );
    assert_eq!(seen[0].0, Closed);
    for pair in seen.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].0,
            "each `to` is the next `from`: {seen:?}"
        );
    }
    assert!(
        !overlapped.load(Ordering::SeqCst),
        "never two calls at once"
    );
    assert_eq!(
        seen.last().unwrap().1,
        Closed,
        "the last one, the reset, arrived"
    );
}

// ---- a registry's listener ----

#[test]
fn a_registry_gives_its_default_listener_to_its_breakers_but_not_to_a_configured_one() {
    let clock = Arc::new(ManualClock::new());
    let (default, heard_by_default) = recorded(config(&clock));
    let (own, heard_by_own) = recorded(config(&clock));
    let registry = BreakerRegistry::new(default.clone());
    registry.configure("search", own).unwrap();
    registry.configure("web", default).unwrap();

    for service in ["fs", "db", "search", "web"] {
        registry.breaker(service).force_open();
    }
    let services = |seen: &Seen| -> Vec<String> {
        let seen = seen.lock().unwrap();
        seen.iter().map(|t| t.service.to_string()).collect()
    };
    assert_eq!(services(&heard_by_default), ["fs", "db", "web"]);
    assert_eq!(services(&heard_by_own), ["search"]);
}

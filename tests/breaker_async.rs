//! `CircuitBreaker::call_async` and `#[circuit_breaker]` on an `async fn` are one engine: the
//! same script of outcomes (failures, errors that do not count, slow calls, a refusal, a call
//! cancelled while it holds a half-open probe) gives the same results, states and events.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, CircuitState, ErrorKind, ManualClock, McpStoreError,
    SlidingWindow, circuit_breaker,
};
use mcpstore_errors_tests::capture_events;

const SECOND: Duration = Duration::from_secs(1);

/// One step of a script.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A call that succeeds at once.
    Ok,
    /// A call that fails with an error of this kind.
    Fail(ErrorKind),
    /// A call that succeeds after a second (the slow-call limit) on the breaker's clock.
    Slow,
    /// A call that never finishes: polled once, then dropped (cancelled).
    Hang,
    /// No call: the breaker's clock moves on.
    Wait(Duration),
}

thread_local! {
    /// The clock of the side running on this thread, and how many bodies ran.
    static SIDE: (Cell<Option<&'static ManualClock>>, Cell<usize>) = const {
        (Cell::new(None), Cell::new(0))
    };
}

fn side_clock() -> &'static ManualClock {
    SIDE.with(|side| side.0.get().expect("a side installs its clock"))
}

/// A call's body, the same on both sides.
async fn body(step: Step) -> Result<u32, McpStoreError> {
    SIDE.with(|side| side.1.set(side.1.get() + 1));
    match step {
        Step::Ok => Ok(1),
        Step::Fail(kind) => Err(match kind {
            ErrorKind::Connection => McpStoreError::connection("refused"),
            ErrorKind::ToolExecution => McpStoreError::tool_execution_failed("read", "boom", None),
            other => unreachable!("no script fails with {other:?}"),
        }),
        Step::Slow => {
            side_clock().advance(SECOND);
            Ok(2)
        }
        Step::Hang => std::future::pending().await,
        Step::Wait(_) => unreachable!("a wait is no call"),
    }
}

#[circuit_breaker(service = "fs", registry = registry)]
async fn guarded(registry: &BreakerRegistry, step: Step) -> Result<u32, McpStoreError> {
    body(step).await
}

async fn plain(registry: &BreakerRegistry, step: Step) -> Result<u32, McpStoreError> {
    registry.breaker("fs").call_async(|| body(step)).await
}

/// Last 4 calls, all 4 needed, opens at 50 % failures or 50 % slow calls (1 s or more),
/// 30 s then ×2, no jitter, one probe.
fn registry(clock: &'static ManualClock) -> BreakerRegistry {
    BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(4))
            .minimum_calls(4)
            .failure_rate(0.5)
            .slow_calls(SECOND, 0.5)
            .open_duration(30 * SECOND)
            .jitter(0.0)
            .clock(Arc::new(ForwardClock(clock))),
    )
}

/// The side's manual clock behind an `Arc<dyn Clock>`.
#[derive(Debug)]
struct ForwardClock(&'static ManualClock);

impl mcpstore_errors::Clock for ForwardClock {
    fn now(&self) -> std::time::Instant {
        self.0.now()
    }
    fn system_time(&self) -> std::time::SystemTime {
        self.0.system_time()
    }
}

/// Polls `future` once: its output, or `None` when it is pending (then it is dropped).
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// What one step did: the result (`None`: cancelled) and the state after it.
type Seen = (Option<Result<u32, String>>, CircuitState);

#[derive(Debug, PartialEq)]
struct Observed {
    steps: Vec<Seen>,
    bodies: usize,
    /// Each breaker event's level and fields.
    events: Vec<(String, Vec<(String, String)>)>,
}

/// Runs `script` on a fresh registry and clock through `call`.
fn observe<F: Future<Output = Result<u32, McpStoreError>>>(
    script: &[Step],
    call: impl Fn(&'static BreakerRegistry, Step) -> F,
) -> Observed {
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new()));
    SIDE.with(|side| {
        side.0.set(Some(clock));
        side.1.set(0);
    });
    // Leaked, as the calls' futures borrow it.
    let registry: &'static BreakerRegistry = Box::leak(Box::new(registry(clock)));
    let mut steps = Vec::new();
    let events = capture_events("mcpstore_errors::breaker", || {
        for &step in script {
            let result = match step {
                Step::Wait(by) => {
                    clock.advance(by);
                    continue;
                }
                Step::Hang => {
                    assert!(poll_once(call(registry, step)).is_none(), "it hangs");
                    None
                }
                _ => Some(
                    poll_once(call(registry, step))
                        .expect("ready at once")
                        .map_err(|error| error.code().to_owned()),
                ),
            };
            steps.push((result, registry.breaker("fs").state()));
        }
    });
    Observed {
        steps,
        bodies: SIDE.with(|side| side.1.get()),
        events: events
            .into_iter()
            .map(|event| {
                let fields = event.fields.into_iter().collect();
                (event.level.to_string(), fields)
            })
            .collect(),
    }
}

#[test]
fn call_async_and_the_attribute_give_the_same_results_states_and_events() {
    use CircuitState::{Closed, HalfOpen, Open};
    use Step::*;
    let script = [
        Ok,
        Fail(ErrorKind::ToolExecution), // the service answered: a success
        Fail(ErrorKind::Connection),
        Fail(ErrorKind::Connection), // 2 of 4 failed: opens for 30 s
        Ok,                          // refused, never run
        Wait(30 * SECOND),
        Hang, // takes the probe, then is cancelled: gives it back
        Slow, // the probe again, slow: opens for 60 s
        Wait(60 * SECOND),
        Ok, // the probe passes: closes
        Slow,
        Slow,
        Ok,
        Ok, // 2 of 4 slow: opens for 30 s
    ];
    let attribute = observe(&script, guarded);
    let api = observe(&script, plain);
    assert_eq!(attribute, api, "#[circuit_breaker] and call_async differ");

    let ok = |value| Some(Result::Ok(value));
    let err = |code: &str| Some(Err(code.to_owned()));
    assert_eq!(
        api.steps,
        [
            (ok(1), Closed),
            (err("TOOL_EXECUTION_FAILED"), Closed),
            (err("CONNECTION_ERROR"), Closed),
            (err("CONNECTION_ERROR"), Open),
            (err("CIRCUIT_OPEN"), Open),
            (None, HalfOpen),
            (ok(2), Open),
            (ok(1), Closed),
            (ok(2), Closed),
            (ok(2), Closed),
            (ok(1), Closed),
            (ok(1), Open),
        ]
    );
    assert_eq!(api.bodies, 11, "the refused call never ran");
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let transitions: Vec<(String, String, String)> = api
        .events
        .iter()
        .map(|(_, fields)| {
            (
                field(fields, "from"),
                field(fields, "to"),
                field(fields, "open_for_ms"),
            )
        })
        .collect();
    let t = |from: &str, to: &str, open_for: &str| (from.into(), to.into(), open_for.into());
    assert_eq!(
        transitions,
        [
            t("closed", "open", "30000"),
            t("open", "half_open", ""),
            t("half_open", "open", "60000"),
            t("open", "half_open", ""),
            t("half_open", "closed", ""),
            t("closed", "open", "30000"),
        ]
    );
}

/// A call cancelled while it holds the only half-open probe gives it back, through either
/// front-end: the next call is let through as the probe (not refused), and the cancelled one
/// counted as nothing (the breaker neither closed nor reopened).
#[test]
fn a_cancelled_call_in_half_open_frees_the_probe() {
    use Step::*;
    let script = [
        Fail(ErrorKind::Connection),
        Fail(ErrorKind::Connection),
        Fail(ErrorKind::Connection),
        Fail(ErrorKind::Connection),
        Wait(30 * SECOND),
        Hang,
        Hang,
        Ok,
    ];
    for observed in [observe(&script, guarded), observe(&script, plain)] {
        let after: Vec<_> = observed.steps[4..].to_vec();
        assert_eq!(
            after,
            [
                (None, CircuitState::HalfOpen),
                (None, CircuitState::HalfOpen),
                (Some(Result::Ok(1)), CircuitState::Closed),
            ]
        );
        assert_eq!(observed.bodies, 7, "each cancelled call ran as the probe");
    }
}

#[test]
fn call_async_is_send_when_the_call_is() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let registry = registry(Box::leak(Box::new(ManualClock::new())));
    let breaker = registry.breaker("fs");
    let call = assert_send(breaker.call_async(|| async { Ok::<_, McpStoreError>(1) }));
    assert_eq!(poll_once(call).unwrap().unwrap(), 1);
}

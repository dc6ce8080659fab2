//! A circuit breaker over functions that return `std::io::Error`, which cannot implement
//! `From<McpStoreError>` (the orphan rule): a refused call fails with an `Other` io::Error
//! carrying the `CircuitOpen` error, which the retry loop, the breaker and the collector see as
//! `CircuitOpen`; through `#[circuit_breaker]` (sync and async) and the plain API alike.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, CircuitState, Classify, ErrorCollector, ErrorKind,
    McpStoreError, RetryConfig, SlidingWindow, VirtualSleeper, circuit_breaker, collect_errors,
    retry,
};
use mcpstore_errors_tests::capture_events;

thread_local! {
    static BODIES: Cell<usize> = const { Cell::new(0) };
}

fn bodies() -> usize {
    BODIES.with(Cell::get)
}

/// A body: counted, then `up` gives the bytes, else a refused connection.
fn io_body(up: bool) -> io::Result<Vec<u8>> {
    BODIES.with(|bodies| bodies.set(bodies.get() + 1));
    match up {
        true => Ok(b"data".to_vec()),
        false => Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused")),
    }
}

/// Opened by 2 failures in the last 2 calls.
fn touchy() -> BreakerRegistry {
    BreakerRegistry::new(
        CircuitBreakerConfig::new()
            .window(SlidingWindow::Count(2))
            .minimum_calls(2)
            .failure_rate(1.0)
            .jitter(0.0),
    )
}

#[circuit_breaker(service = "fs", registry = registry)]
fn read_io(registry: &BreakerRegistry, up: bool) -> Result<Vec<u8>, std::io::Error> {
    io_body(up)
}

#[circuit_breaker(service = "fs", registry = registry)]
async fn read_io_async(registry: &BreakerRegistry, up: bool) -> io::Result<Vec<u8>> {
    io_body(up)
}

fn poll_once<F: Future>(future: F) -> F::Output {
    match pin!(future)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("ready at once"),
    }
}

/// The refusal, checked: `Other`, carrying the `CircuitOpen` error, classified as it.
fn assert_refusal(error: &io::Error) -> McpStoreError {
    assert_eq!(error.kind(), io::ErrorKind::Other);
    let open = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<McpStoreError>())
        .expect("carries the McpStoreError")
        .clone();
    assert_eq!(open.kind(), ErrorKind::CircuitOpen);
    assert_eq!(error.error_kind(), Some(ErrorKind::CircuitOpen));
    assert_eq!(error.retry_after(), open.retry_after());
    assert!(!error.is_retryable());
    assert_eq!(error.to_string(), open.to_string());
    open
}

/// Through each front-end: two refused connections (counted as failures by their io kind)
/// open the breaker; the next call is refused without running, with the same error.
#[test]
fn io_errors_open_the_breaker_and_a_refusal_is_an_io_error_carrying_circuit_open() {
    type Front = fn(&BreakerRegistry, bool) -> io::Result<Vec<u8>>;
    let fronts: [(&str, Front); 4] = [
        ("attribute", read_io),
        ("attribute, async", |registry, up| {
            poll_once(read_io_async(registry, up))
        }),
        ("call", |registry, up| {
            registry.breaker("fs").call(|| io_body(up))
        }),
        ("call_async", |registry, up| {
            let breaker = registry.breaker("fs");
            poll_once(breaker.call_async(|| async { io_body(up) }))
        }),
    ];
    let mut refusals = Vec::new();
    for (name, front) in fronts {
        let registry = touchy();
        assert_eq!(front(&registry, true).unwrap(), b"data", "{name}");
        for _ in 0..2 {
            let error = front(&registry, false).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{name}");
        }
        assert_eq!(registry.breaker("fs").state(), CircuitState::Open, "{name}");
        let ran = bodies();
        let refused = front(&registry, true).unwrap_err();
        assert_eq!(bodies(), ran, "{name}: the refused call never ran");
        refusals.push(assert_refusal(&refused).to_string());
    }
    assert!(
        refusals.windows(2).all(|pair| pair[0] == pair[1]),
        "{refusals:?}"
    );
}

static SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);
static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));

fn forced_open() -> &'static BreakerRegistry {
    static REGISTRY: LazyLock<BreakerRegistry> = LazyLock::new(touchy);
    REGISTRY.breaker("fs").force_open();
    &REGISTRY
}

#[collect_errors(collector = &COLLECTOR)]
#[retry(config = RetryConfig::new().sleeper(SLEEPER.clone()), max_attempts = 5)]
#[circuit_breaker(service = "fs", registry = forced_open())]
fn read_retried() -> io::Result<Vec<u8>> {
    io_body(true)
}

/// As documented for `CircuitOpen`: a retry around the breaker stops at once (no wait, no
/// second attempt), and the collector files the refusal under its code.
#[test]
fn a_retry_around_the_breaker_stops_at_once_and_the_collector_sees_circuit_open() {
    let mut outcome = None;
    let events = capture_events("mcpstore_errors::retry", || outcome = Some(read_retried()));
    assert_refusal(&outcome.unwrap().unwrap_err());
    assert_eq!(bodies(), 0);
    assert_eq!(SLEEPER.sleeps(), 0, "no retry was waited for");
    let stops: Vec<_> = events
        .iter()
        .filter_map(|event| event.fields.get("stop_reason"))
        .collect();
    assert_eq!(stops, ["circuit_open"]);
    let records = COLLECTOR.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].code(), Some("CIRCUIT_OPEN"));
}

/// A refusal counts as nothing when it is reported to another breaker (as a call through two
/// breakers does): `Classify` reads the carried `CircuitOpen`, not the io kind `Other`.
#[test]
fn a_refusal_reported_to_another_breaker_counts_as_nothing() {
    let open = touchy();
    open.breaker("fs").force_open();
    let outer = touchy();
    for _ in 0..4 {
        let refused = outer
            .breaker("api")
            .call(|| read_io(&open, true))
            .unwrap_err();
        assert_refusal(&refused);
    }
    assert_eq!(outer.breaker("api").state(), CircuitState::Closed);
    assert_eq!(outer.breaker("api").metrics().calls, 0);
}

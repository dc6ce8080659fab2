//! Shared helpers for the integration tests of `mcpstore-errors`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Once;

/// One captured `tracing` event: its level, target and fields (the message as `message`).
#[derive(Debug, Clone)]
pub struct CapturedEvent {
    /// The event's level.
    pub level: tracing::Level,
    /// The event's target, e.g. `mcpstore_errors::retry`.
    pub target: String,
    /// Field name to its recorded value.
    pub fields: BTreeMap<String, String>,
    /// The names of the spans the event was emitted in, innermost first.
    pub spans: Vec<String>,
}

impl CapturedEvent {
    /// The value of field `name`, if recorded.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

thread_local! {
    static CAPTURED: RefCell<Option<Vec<CapturedEvent>>> = const { RefCell::new(None) };
}

/// Hands each event to the capture running on the emitting thread.
///
/// Installed once as the global subscriber: with per-test scoped subscribers, a callsite first
/// hit on another thread while nobody listens can cache "never" and hide its events.
struct CaptureLayer;

struct FieldRecorder<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for FieldRecorder<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S> tracing_subscriber::Layer<S> for CaptureLayer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let _ = CAPTURED.try_with(|captured| {
            if let Some(events) = captured.borrow_mut().as_mut() {
                let mut fields = BTreeMap::new();
                event.record(&mut FieldRecorder(&mut fields));
                let spans = ctx
                    .event_scope(event)
                    .into_iter()
                    .flatten()
                    .map(|span| span.name().to_string())
                    .collect();
                events.push(CapturedEvent {
                    level: *event.metadata().level(),
                    target: event.metadata().target().to_string(),
                    fields,
                    spans,
                });
            }
        });
    }
}

/// Runs `body` and returns the events it emitted on this thread whose target starts with
/// `target`.
pub fn capture_events(target: &str, body: impl FnOnce()) -> Vec<CapturedEvent> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(CaptureLayer);
        tracing::subscriber::set_global_default(subscriber)
            .expect("the capture layer is the only global subscriber of a test binary");
    });
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    body();
    let events = CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default());
    events
        .into_iter()
        .filter(|event| event.target.starts_with(target))
        .collect()
}

/// A global allocator that counts the allocations of each thread, so a test can show that a
/// path allocates nothing while the harness's other threads go on. A test binary installs it
/// with `#[global_allocator] static ALLOCATOR: CountingAllocator = CountingAllocator;`.
#[derive(Debug)]
pub struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_one() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// An allocator takes `unsafe`; this one only counts and forwards to `System`.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_one();
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_one();
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

/// Runs `body` and returns its output with the number of allocations it made on this thread
/// (counted only where [`CountingAllocator`] is the global allocator).
pub fn allocations_during<T>(body: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(std::cell::Cell::get);
    let output = body();
    let after = ALLOCATIONS.with(std::cell::Cell::get);
    (output, after - before)
}

/// The collector's history, each record as the seed's JSON export shows it.
pub fn history(collector: &mcpstore_errors::ErrorCollector) -> Vec<serde_json::Value> {
    collector
        .records()
        .iter()
        .map(|record| serde_json::to_value(record).expect("a record serializes"))
        .collect()
}

/// Runs `call` on a thread of its own and returns its result; fails the test if it has not
/// returned within `limit` (a deadlock fails instead of hanging the run; its thread is left
/// behind). A panic in `call` is passed on as it is.
pub fn finishes_within<T: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    call: impl FnOnce() -> T + Send + 'static,
) -> T {
    use std::sync::mpsc::{self, RecvTimeoutError};
    let (done, result) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = done.send(call());
    });
    match result.recv_timeout(limit) {
        Ok(value) => value,
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends its result before it ends"),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {limit:?}, deadlocked")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::finishes_within;

    #[test]
    fn a_call_that_returns_in_time_gives_its_result() {
        assert_eq!(
            finishes_within(Duration::from_secs(5), "adding", || 2 + 2),
            4
        );
    }

    #[test]
    fn a_call_still_blocked_at_the_limit_fails_the_test_as_a_deadlock() {
        let (release, blocked) = mpsc::channel::<()>();
        let outcome = std::panic::catch_unwind(|| {
            finishes_within(Duration::from_millis(20), "waiting", move || blocked.recv())
        });
        drop(release); // lets the blocked thread end
        let panic = outcome.expect_err("the limit passed");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(
            message.starts_with("waiting: still running after"),
            "{message}"
        );
    }

    #[test]
    fn a_panic_in_the_call_is_passed_on_with_its_own_message() {
        let outcome = std::panic::catch_unwind(|| {
            finishes_within(Duration::from_secs(5), "panicking", || -> () {
                panic!("the call's own panic")
            })
        });
        let panic = outcome.expect_err("the call panicked");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"the call's own panic"));
    }
}

//! A user's clock that calls back into the breaker, budget or registry reading it: each reads
//! the clock before taking its lock, so the call finishes instead of waiting for itself.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use mcpstore_errors::{
    BreakerRegistry, CircuitBreaker, CircuitBreakerConfig, CircuitState, Clock, ErrorKind,
    ManualClock, RetryBudget, RetryBudgetConfig, RetryBudgets, SlidingWindow,
};
use mcpstore_errors_tests::finishes_within;

type Hook = Box<dyn Fn() + Send + Sync>;

/// A `ManualClock` that, once armed, runs a hook on its next reading.
#[derive(Default)]
struct CallingBack {
    time: ManualClock,
    hook: Mutex<Option<Hook>>,
}

impl std::fmt::Debug for CallingBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallingBack")
    }
}

impl CallingBack {
    fn arm(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }
}

impl Clock for CallingBack {
    fn now(&self) -> Instant {
        // Taken out first: the hook's own readings of this clock do not run it again.
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        self.time.now()
    }

    fn system_time(&self) -> SystemTime {
        self.time.system_time()
    }
}

/// `call`'s result; fails the test if it has not returned after a while (it waits for a lock
/// its own clock was asked under).
fn finishes<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    finishes_within(Duration::from_secs(10), "a call asking its clock", call)
}

fn tripping_config(clock: &Arc<CallingBack>) -> CircuitBreakerConfig {
    CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .open_duration(Duration::from_secs(10))
        .jitter(0.0)
        .clock(clock.clone())
}

fn trip(breaker: &CircuitBreaker) {
    for _ in 0..2 {
        breaker
            .try_acquire()
            .expect("closed")
            .failure(Some(ErrorKind::Connection), None);
    }
}

#[test]
fn a_breaker_whose_clock_asks_it_its_state_answers() {
    let clock = Arc::new(CallingBack::default());
    let breaker = CircuitBreaker::new("fs", tripping_config(&clock));
    trip(&breaker);
    let asked = Arc::new(OnceLock::new());
    let (inner, seen) = (breaker.clone(), asked.clone());
    clock.arm(move || {
        let _ = seen.set(inner.state());
    });
    let state = finishes(move || breaker.state());
    assert_eq!(state, CircuitState::Open);
    assert_eq!(
        asked.get(),
        Some(&CircuitState::Open),
        "the clock's own question"
    );
}

#[test]
fn a_breaker_whose_clock_reads_its_metrics_admits_a_probe() {
    let clock = Arc::new(CallingBack::default());
    let breaker = CircuitBreaker::new("fs", tripping_config(&clock));
    trip(&breaker);
    clock.time.advance(Duration::from_secs(10));
    let inner = breaker.clone();
    clock.arm(move || {
        let _ = inner.metrics();
    });
    let probe = finishes(move || {
        let admitted = breaker.try_acquire().is_ok();
        (admitted, breaker.state())
    });
    assert_eq!(probe, (true, CircuitState::HalfOpen));
}

/// A `ManualClock` that, once given a question, asks it on every reading.
#[derive(Default)]
struct AsksOnEveryReading {
    time: ManualClock,
    question: OnceLock<Hook>,
    asked: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for AsksOnEveryReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsksOnEveryReading")
    }
}

impl AsksOnEveryReading {
    fn ask(&self, question: impl Fn() + Send + Sync + 'static) {
        assert!(self.question.set(Box::new(question)).is_ok(), "asked once");
    }
}

impl Clock for AsksOnEveryReading {
    fn now(&self) -> Instant {
        if let Some(question) = self.question.get() {
            question();
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.time.now()
    }

    fn system_time(&self) -> SystemTime {
        self.time.system_time()
    }
}

#[test]
fn a_registry_whose_clock_asks_it_its_size_on_every_reading_makes_trips_and_evicts() {
    let clock = Arc::new(AsksOnEveryReading::default());
    let config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .open_duration(Duration::from_secs(10))
        .jitter(0.0)
        .clock(clock.clone());
    let registry = Arc::new(BreakerRegistry::new(config).max_services(1));
    let asked = registry.clone();
    clock.ask(move || {
        let _ = asked.len();
    });
    let (other, timer) = (registry.clone(), clock.clone());
    let states = finishes(move || {
        let first = other.breaker("a");
        trip(&first);
        let tripped = first.state();
        timer.time.advance(Duration::from_secs(10));
        let replaced = other.breaker("b").state();
        let reconfigured = other.configure("b", CircuitBreakerConfig::new().clock(timer.clone()));
        (tripped, replaced, reconfigured.is_ok(), other.len())
    });
    assert_eq!(states, (CircuitState::Open, CircuitState::Closed, true, 1));
    assert!(
        clock.asked.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the clock did ask"
    );
}

#[test]
fn a_full_registry_whose_clock_asks_it_its_size_evicts() {
    let clock = Arc::new(CallingBack::default());
    let registry = Arc::new(BreakerRegistry::new(tripping_config(&clock)).max_services(1));
    trip(&registry.breaker("a"));
    clock.time.advance(Duration::from_secs(10));
    let (inner, seen) = (registry.clone(), Arc::new(OnceLock::new()));
    let size = seen.clone();
    clock.arm(move || {
        let _ = size.set(inner.len());
    });
    let other = registry.clone();
    let state = finishes(move || other.breaker("b").state());
    assert_eq!(
        state,
        CircuitState::Closed,
        "\"b\" took the idle open \"a\"'s place"
    );
    assert_eq!(registry.len(), 1);
    assert_eq!(seen.get(), Some(&1), "asked before the eviction");
}

#[test]
fn a_budget_whose_clock_withdraws_from_it_answers() {
    let clock = Arc::new(CallingBack::default());
    let budget = RetryBudget::new(
        RetryBudgetConfig::new()
            .initial(0)
            .min_retries_per_second(5)
            .clock(clock.clone()),
    );
    clock.time.advance(Duration::from_secs(1));
    let (inner, seen) = (budget.clone(), Arc::new(OnceLock::new()));
    let inner_result = seen.clone();
    clock.arm(move || {
        let _ = inner_result.set(inner.try_withdraw(None));
    });
    let outer = finishes(move || budget.try_withdraw(None));
    assert!(outer, "a second's floor pays for both");
    assert_eq!(seen.get(), Some(&true));
}

#[test]
fn a_full_registry_evicting_a_service_with_a_clock_of_its_own_reads_it_outside_its_lock() {
    let default_clock = Arc::new(ManualClock::new());
    let own = Arc::new(CallingBack::default());
    let registry = Arc::new(
        BreakerRegistry::new(CircuitBreakerConfig::new().clock(default_clock)).max_services(1),
    );
    // A time window: judging whether "a" is quiet reads "a"'s clock.
    let own_config = CircuitBreakerConfig::new()
        .window(SlidingWindow::Time {
            length: Duration::from_secs(60),
            buckets: 6,
        })
        .minimum_calls(100)
        .clock(own.clone());
    registry.configure("a", own_config).unwrap();
    let a = registry.breaker("a");
    a.try_acquire()
        .expect("closed")
        .failure(Some(ErrorKind::Connection), None);
    let (inner, seen) = (registry.clone(), Arc::new(OnceLock::new()));
    let size = seen.clone();
    own.arm(move || {
        let _ = size.set(inner.services());
    });
    let other = registry.clone();
    let state = finishes(move || other.breaker("b").state());
    assert_eq!(state, CircuitState::Closed, "\"b\" took \"a\"'s place");
    assert_eq!(registry.services(), ["b"]);
    assert_eq!(
        seen.get().map(Vec::as_slice),
        Some(&["a".to_owned()][..]),
        "\"a\"'s clock was read before the eviction, and could ask the registry"
    );
}

#[test]
fn a_budget_table_whose_clock_asks_it_its_size_makes_a_budget() {
    let clock = Arc::new(AsksOnEveryReading::default());
    let table = Arc::new(RetryBudgets::new(
        RetryBudgetConfig::new().clock(clock.clone()),
    ));
    let asked = table.clone();
    clock.ask(move || {
        let _ = asked.len();
    });
    let size = finishes(move || {
        table.budget("fs");
        table.len()
    });
    assert_eq!(size, 1);
    assert!(
        clock.asked.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the clock did ask"
    );
}

#[test]
fn a_slow_call_timing_breaker_whose_clock_asks_it_its_state_admits_a_probe() {
    let clock = Arc::new(CallingBack::default());
    let breaker = CircuitBreaker::new(
        "fs",
        tripping_config(&clock).slow_calls(Duration::from_secs(5), 1.0),
    );
    trip(&breaker);
    clock.time.advance(Duration::from_secs(10));
    // Every reading asks, the hook's own reading included: a flag stops the recursion.
    let asking = Arc::new(std::sync::atomic::AtomicBool::new(false));
    fn ask(
        clock: Arc<CallingBack>,
        breaker: CircuitBreaker,
        asking: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let (again, inner, flag) = (clock.clone(), breaker.clone(), asking.clone());
        clock.arm(move || {
            if !flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let _ = inner.state();
                flag.store(false, std::sync::atomic::Ordering::SeqCst);
            }
            ask(again.clone(), inner.clone(), flag.clone());
        });
    }
    ask(clock.clone(), breaker.clone(), asking);
    let probe = finishes(move || {
        let probe = breaker.try_acquire().map(|permit| permit.is_probe());
        probe.ok()
    });
    assert_eq!(probe, Some(true), "the open period is over: a probe");
}

// ---- a clock whose drop calls back into the registry ----

/// A `ManualClock` (with `CallingBack`'s hook on reading) whose `Drop` asks its registry for a
/// breaker: dropped under the registry's lock, it would wait for itself.
struct AsksWhenDropped {
    clock: CallingBack,
    registry: OnceLock<std::sync::Weak<BreakerRegistry>>,
    asked: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for AsksWhenDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsksWhenDropped")
    }
}

impl AsksWhenDropped {
    /// The clock, and the flag its drop raises once it has asked.
    fn new() -> (Arc<Self>, Arc<std::sync::atomic::AtomicBool>) {
        let asked = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clock = AsksWhenDropped {
            clock: CallingBack::default(),
            registry: OnceLock::new(),
            asked: asked.clone(),
        };
        (Arc::new(clock), asked)
    }

    fn asks(&self, registry: &Arc<BreakerRegistry>) {
        assert!(self.registry.set(Arc::downgrade(registry)).is_ok());
    }
}

impl Clock for AsksWhenDropped {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn system_time(&self) -> SystemTime {
        self.clock.system_time()
    }
}

impl Drop for AsksWhenDropped {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.get().and_then(std::sync::Weak::upgrade) {
            let _ = registry.get("asked-on-drop");
            let _ = registry.breaker("asked-on-drop");
            self.asked.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// [`finishes`], failing after a second: the calls here are short (a clock dropped under the
/// registry's lock would wait for it in its drop).
fn finishes_soon<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    finishes_within(Duration::from_secs(1), "a call dropping a clock", call)
}

#[test]
fn a_configuration_replaced_by_configure_drops_its_clock_outside_the_lock() {
    let registry = Arc::new(BreakerRegistry::default());
    let (clock, asked) = AsksWhenDropped::new();
    clock.asks(&registry);
    // The registry holds the only handle to the clock: no breaker was made with it.
    registry
        .configure("fs", CircuitBreakerConfig::new().clock(clock))
        .unwrap();
    let other = registry.clone();
    let replaced = finishes_soon(move || other.configure("fs", CircuitBreakerConfig::new()));
    assert!(replaced.is_ok());
    assert!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        "the drop asked"
    );
    assert!(registry.get("asked-on-drop").is_some());
}

#[test]
fn a_default_replaced_by_set_default_drops_its_clock_outside_the_lock() {
    let (clock, asked) = AsksWhenDropped::new();
    let registry = Arc::new(BreakerRegistry::new(
        CircuitBreakerConfig::new().clock(clock.clone()),
    ));
    clock.asks(&registry);
    drop(clock);
    let other = registry.clone();
    finishes_soon(move || other.set_default(CircuitBreakerConfig::new()));
    assert!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        "the drop asked"
    );
}

#[test]
fn a_clock_reconfigured_away_while_an_insertion_reads_it_is_dropped_outside_the_lock() {
    // The insertion holds the clocks it reads before its lock; the clock's reading replaces
    // the configuration that held it, so the insertion's handle is the last one.
    let registry = Arc::new(BreakerRegistry::default());
    let (clock, asked) = AsksWhenDropped::new();
    clock.asks(&registry);
    registry
        .configure("fs", CircuitBreakerConfig::new().clock(clock.clone()))
        .unwrap();
    let inner = Arc::downgrade(&registry);
    clock.clock.arm(move || {
        if let Some(registry) = inner.upgrade() {
            registry
                .configure("fs", CircuitBreakerConfig::new())
                .unwrap();
        }
    });
    drop(clock);
    let other = registry.clone();
    let made = finishes_soon(move || other.breaker("fs").service().to_owned());
    assert_eq!(made, "fs");
    assert!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        "the drop asked"
    );
}

/// Makes `service`'s breaker with a clock that only the breaker holds afterwards.
fn breaker_holding_its_clock(
    registry: &Arc<BreakerRegistry>,
    service: &str,
) -> Arc<std::sync::atomic::AtomicBool> {
    let (clock, asked) = AsksWhenDropped::new();
    clock.asks(registry);
    registry.set_default(CircuitBreakerConfig::new().clock(clock));
    registry.breaker(service);
    registry.set_default(CircuitBreakerConfig::new());
    asked
}

#[test]
fn breakers_removed_evicted_or_replaced_drop_their_clocks_outside_the_lock() {
    // Each of these hands the breaker to the gauge queue, drained after the lock: kept so.
    let registry = Arc::new(BreakerRegistry::default());
    let asked = breaker_holding_its_clock(&registry, "fs");
    let other = registry.clone();
    assert!(finishes_soon(move || other.remove("fs")));
    assert!(asked.load(std::sync::atomic::Ordering::SeqCst), "removed");

    let registry = Arc::new(BreakerRegistry::default());
    let asked = breaker_holding_its_clock(&registry, "fs");
    let other = registry.clone();
    finishes_soon(move || other.configure("fs", CircuitBreakerConfig::new()).unwrap());
    assert!(asked.load(std::sync::atomic::Ordering::SeqCst), "replaced");

    let registry = Arc::new(BreakerRegistry::default().max_services(1));
    let asked = breaker_holding_its_clock(&registry, "fs");
    let other = registry.clone();
    finishes_soon(move || other.breaker("search"));
    assert!(asked.load(std::sync::atomic::Ordering::SeqCst), "evicted");
    assert!(registry.get("fs").is_none());
}

//! `#[circuit_breaker]` keeps each call site's last breaker per thread: these tests show that
//! it never uses a breaker the registry no longer holds (removed, evicted, reconfigured, or of
//! another registry or service), keeps the registry's eviction order, and allocates nothing
//! once warm.

use std::sync::mpsc;
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, CircuitState, ErrorKind, McpStoreError, SlidingWindow,
    circuit_breaker,
};
use mcpstore_errors_tests::{CountingAllocator, allocations_during, capture_events};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Opens after 2 failures in the last 2 calls.
fn touchy() -> CircuitBreakerConfig {
    CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .failure_rate(0.5)
        .open_duration(Duration::from_secs(3600))
        .jitter(0.0)
}

#[circuit_breaker(service = service, registry = registry)]
fn call(registry: &BreakerRegistry, service: &str, up: bool) -> Result<(), McpStoreError> {
    match up {
        true => Ok(()),
        false => Err(McpStoreError::connection("refused")),
    }
}

fn calls_of(registry: &BreakerRegistry, service: &str) -> u64 {
    registry.get(service).expect("kept").metrics().calls
}

#[test]
fn a_removed_service_gets_its_new_breaker_at_the_same_call_site() {
    let registry = BreakerRegistry::new(touchy());
    call(&registry, "fs", true).unwrap();
    let old = registry.get("fs").unwrap();
    assert!(registry.remove("fs"));

    call(&registry, "fs", true).unwrap();
    assert_eq!(
        calls_of(&registry, "fs"),
        1,
        "the new breaker counted the call"
    );
    assert_eq!(old.metrics().calls, 1, "the forgotten one did not");

    registry.get("fs").unwrap().force_open();
    let refused = call(&registry, "fs", true).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::CircuitOpen);
}

#[test]
fn a_reconfigured_service_gets_its_new_breaker_at_the_same_call_site() {
    let registry = BreakerRegistry::new(touchy());
    call(&registry, "fs", true).unwrap();
    let old = registry.get("fs").unwrap();
    registry
        .configure("fs", touchy().window(SlidingWindow::Count(7)))
        .unwrap();

    call(&registry, "fs", true).unwrap();
    let new = registry.get("fs").unwrap();
    assert_eq!(new.config().sliding_window(), SlidingWindow::Count(7));
    assert_eq!(new.metrics().calls, 1);
    assert_eq!(old.metrics().calls, 1);
}

#[test]
fn an_evicted_service_is_made_again_when_called_at_the_same_call_site() {
    let registry = BreakerRegistry::new(touchy()).max_services(1);
    call(&registry, "a", true).unwrap();
    let first_a = registry.get("a").unwrap();
    call(&registry, "b", true).unwrap(); // evicts "a"
    assert_eq!(registry.services(), ["b"]);

    call(&registry, "a", true).unwrap(); // evicts "b", makes "a" again
    assert_eq!(registry.services(), ["a"]);
    assert_eq!(calls_of(&registry, "a"), 1);
    assert_eq!(first_a.metrics().calls, 1);
}

#[test]
fn two_services_through_one_call_site_never_share_a_breaker() {
    let registry = BreakerRegistry::new(touchy());
    for _ in 0..2 {
        assert!(call(&registry, "down", false).is_err());
        call(&registry, "up", true).unwrap();
    }
    assert_eq!(registry.get("down").unwrap().state(), CircuitState::Open);
    assert_eq!(registry.get("up").unwrap().state(), CircuitState::Closed);
    assert_eq!(calls_of(&registry, "up"), 2);
    // Back and forth at one site: each call goes to its own service's breaker.
    for _ in 0..3 {
        call(&registry, "up", true).unwrap();
        let refused = call(&registry, "down", true).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::CircuitOpen);
    }
    // Same names, another string each time: compared by content.
    let name = String::from("up");
    call(&registry, &name, true).unwrap();
    assert_eq!(
        registry.get("up").unwrap().metrics().rejected,
        0,
        "no call for \"down\" reached \"up\""
    );
}

#[test]
fn two_registries_through_one_call_site_never_share_a_breaker() {
    let first = BreakerRegistry::new(touchy());
    let second = BreakerRegistry::new(touchy());
    call(&first, "fs", true).unwrap();
    call(&second, "fs", true).unwrap();
    call(&second, "fs", true).unwrap();
    assert_eq!(calls_of(&first, "fs"), 1);
    assert_eq!(calls_of(&second, "fs"), 2);
}

#[test]
fn a_registry_made_where_a_dropped_one_was_gets_its_own_breakers() {
    // The allocator is free to hand the second box the first one's address; the site must not
    // mistake one registry for the other either way.
    let first = Box::new(BreakerRegistry::new(touchy()));
    call(&first, "fs", true).unwrap();
    drop(first);
    let second = Box::new(BreakerRegistry::new(touchy()));
    call(&second, "fs", true).unwrap();
    assert_eq!(calls_of(&second, "fs"), 1);
}

macro_rules! site {
    ($name:ident, $service:literal) => {
        #[circuit_breaker(service = $service, registry = registry)]
        fn $name(registry: &BreakerRegistry) -> Result<(), McpStoreError> {
            Ok(())
        }
    };
}
site!(call_a, "a");
site!(call_b, "b");
site!(call_c, "c");

#[test]
fn an_evicted_service_is_made_again_at_a_call_site_that_used_it_last() {
    let registry = BreakerRegistry::new(touchy()).max_services(1);
    call_a(&registry).unwrap();
    let first_a = registry.get("a").unwrap();
    call_b(&registry).unwrap(); // evicts "a"
    call_a(&registry).unwrap();
    assert_eq!(registry.services(), ["a"]);
    assert_eq!(calls_of(&registry, "a"), 1);
    assert_eq!(first_a.metrics().calls, 1);
}

#[test]
fn a_use_through_a_call_sites_cache_counts_for_the_eviction_order() {
    let registry = BreakerRegistry::new(touchy()).max_services(2);
    call_a(&registry).unwrap();
    call_b(&registry).unwrap();
    call_a(&registry).unwrap(); // from the site's cache: "a" is now more recent than "b"
    call_c(&registry).unwrap();
    let mut kept = registry.services();
    kept.sort();
    assert_eq!(
        kept,
        ["a", "c"],
        "the least recently used, \"b\", was forgotten"
    );
}

#[test]
fn an_unkept_disabled_breaker_is_not_cached() {
    let registry = BreakerRegistry::new(touchy()).max_services(1);
    call(&registry, "a", true).unwrap();
    registry.get("a").unwrap().force_open();
    call(&registry, "b", false).unwrap_err();
    call(&registry, "b", false).unwrap_err();
    assert_eq!(
        registry.overflows(),
        2,
        "each call asked the registry again"
    );

    registry.get("a").unwrap().reset();
    call(&registry, "b", true).unwrap(); // "a" is closed again: evicted, "b" kept
    assert_eq!(registry.services(), ["b"]);
    assert_eq!(calls_of(&registry, "b"), 1);
}

#[circuit_breaker(service = names[depth], registry = registry)]
fn nested(registry: &BreakerRegistry, names: &[&str], depth: usize) -> Result<(), McpStoreError> {
    if depth + 1 < names.len() {
        nested(registry, names, depth + 1)?;
    }
    match depth {
        0 => Err(McpStoreError::connection("refused")),
        _ => Ok(()),
    }
}

#[test]
fn a_recursive_call_with_another_service_leaves_the_outer_calls_breaker_alone() {
    let registry = BreakerRegistry::new(touchy());
    for _ in 0..2 {
        nested(&registry, &["outer", "inner", "innermost"], 0).unwrap_err();
    }
    let outer = registry.get("outer").unwrap().metrics();
    assert_eq!((outer.calls, outer.failures), (2, 2));
    assert_eq!(outer.state, CircuitState::Open);
    for name in ["inner", "innermost"] {
        let metrics = registry.get(name).unwrap().metrics();
        assert_eq!((metrics.calls, metrics.failures), (2, 0), "{name}");
    }
}

#[test]
fn a_removal_on_one_thread_reaches_the_cache_of_another() {
    let registry = BreakerRegistry::new(touchy());
    let (go, wait) = mpsc::channel::<()>();
    let (done, called) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let registry = &registry;
        scope.spawn(move || {
            for _ in 0..2 {
                wait.recv().unwrap();
                call(registry, "fs", true).unwrap();
                done.send(()).unwrap();
            }
        });
        go.send(()).unwrap();
        called.recv().unwrap();
        let old = registry.get("fs").unwrap();
        assert!(registry.remove("fs"));
        go.send(()).unwrap();
        called.recv().unwrap();
        assert_eq!(old.metrics().calls, 1);
        assert_eq!(calls_of(registry, "fs"), 1);
    });
}

#[circuit_breaker(service = "fs", registry = registry)]
async fn call_async(registry: &BreakerRegistry) -> Result<(), McpStoreError> {
    Ok(())
}

#[test]
fn an_async_call_keeps_a_handle_of_its_own_and_stays_send() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let registry = BreakerRegistry::new(touchy());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(assert_send(call_async(&registry)))
        .unwrap();
    assert!(registry.remove("fs"));
    runtime.block_on(call_async(&registry)).unwrap();
    assert_eq!(calls_of(&registry, "fs"), 1);
}

#[test]
fn a_warm_call_site_allocates_nothing() {
    let registry = BreakerRegistry::new(touchy());
    call(&registry, "fs", true).unwrap();
    let ((), allocations) = allocations_during(|| {
        for _ in 0..1000 {
            call(&registry, "fs", true).unwrap();
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(calls_of(&registry, "fs"), 2, "a window of 2 calls");
}

#[test]
fn a_service_expression_that_is_blank_at_run_time_gets_a_kept_breaker_and_a_warning() {
    // A blank literal is refused at compile time; an expression is only known at run time,
    // where the registry keeps its breaker (so it still guards) and warns once.
    let registry = BreakerRegistry::new(touchy());
    let events = capture_events("mcpstore_errors::breaker", || {
        for _ in 0..2 {
            call(&registry, "", false).unwrap_err();
        }
    });
    let refused = call(&registry, "", true).unwrap_err();
    assert_eq!(
        refused.kind(),
        ErrorKind::CircuitOpen,
        "the blank service's breaker tripped"
    );
    assert_eq!(
        registry.get("").map(|b| b.state()),
        Some(CircuitState::Open)
    );
    let blank: Vec<_> = events
        .iter()
        .filter(|e| e.field("message").is_some_and(|m| m.contains("blank")))
        .collect();
    assert_eq!(blank.len(), 1, "{events:?}");
}

//! User code a cache runs while it holds its lock: a key's `Eq` that panics during a lookup
//! leaves the cache usable, and a value whose `Drop` calls back into the same cache (when it
//! is replaced, evicted, expired or cleared) completes instead of deadlocking. Each is checked
//! on `ResponseCache` directly and through `#[fallback(cache)]`.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcpstore_errors::{ManualClock, ResponseCache, fallback};
use mcpstore_errors_tests::finishes_within;

const TEN_MINUTES: Duration = Duration::from_secs(600);

/// Fails the test if `body` has not returned within a second: a deadlock fails it instead of
/// hanging it.
fn completes(what: &str, body: impl FnOnce() + Send + 'static) {
    finishes_within(Duration::from_secs(1), what, body);
}

/// Equal by number; while its switch is armed, the next comparison disarms it and panics.
/// Every value hashes alike, so a lookup compares the caller's key with those stored.
#[derive(Debug, Clone)]
struct Flaky(u32, &'static AtomicBool);

impl PartialEq for Flaky {
    fn eq(&self, other: &Self) -> bool {
        if self.1.swap(false, Ordering::SeqCst) {
            panic!("Flaky::eq panicked");
        }
        self.0 == other.0
    }
}

impl Eq for Flaky {}

impl Hash for Flaky {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[test]
fn response_cache_stays_usable_after_a_key_eq_panics_in_a_lookup() {
    static ARMED: AtomicBool = AtomicBool::new(false);
    let cache = ResponseCache::new(TEN_MINUTES, 8);
    let key = |n| Flaky(n, &ARMED);
    cache.insert(key(1), "one");
    cache.insert(key(2), "two");
    ARMED.store(true, Ordering::SeqCst);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.get(&key(1))));
    assert!(panicked.is_err(), "the key's Eq panics, and so does get");
    assert!(!ARMED.load(Ordering::SeqCst), "it panicked once");
    // Every later call works, here and on other threads, and serves the right values.
    assert_eq!(cache.get(&key(1)), Some("one"));
    assert_eq!(cache.get(&key(2)), Some("two"));
    cache.insert(key(3), "three");
    assert_eq!(cache.len(), 3);
    let shared = cache.clone();
    let other = std::thread::spawn(move || (shared.get(&key(3)), shared.get(&key(4))));
    assert_eq!(
        other.join().expect("another thread uses it"),
        (Some("three"), None)
    );
}

static FLAKY_ARMED: AtomicBool = AtomicBool::new(false);
static FLAKY_UP: AtomicBool = AtomicBool::new(true);

#[fallback(cache)]
fn flaky_load(key: Flaky) -> Result<String, String> {
    if FLAKY_UP.load(Ordering::SeqCst) {
        Ok(format!("data of {}", key.0))
    } else {
        Err("down".to_string())
    }
}

#[test]
fn an_attribute_cache_stays_usable_after_an_argument_eq_panics_in_a_lookup() {
    let key = |n| Flaky(n, &FLAKY_ARMED);
    assert_eq!(flaky_load(key(1)).unwrap(), "data of 1");
    assert_eq!(flaky_load(key(2)).unwrap(), "data of 2");
    FLAKY_UP.store(false, Ordering::SeqCst);
    FLAKY_ARMED.store(true, Ordering::SeqCst);
    let panicked = std::panic::catch_unwind(|| flaky_load(key(1)));
    assert!(
        panicked.is_err(),
        "the argument's Eq panics, and so does the call"
    );
    assert!(!FLAKY_ARMED.load(Ordering::SeqCst), "it panicked once");
    // Served from the cache by every later call, on this thread and others.
    assert_eq!(flaky_load(key(1)).unwrap(), "data of 1");
    assert_eq!(flaky_load(key(2)).unwrap(), "data of 2");
    assert!(flaky_load(key(3)).is_err(), "never cached");
    let other = std::thread::spawn(move || flaky_load(key(2)));
    assert_eq!(
        other.join().expect("another thread calls it").unwrap(),
        "data of 2"
    );
    FLAKY_UP.store(true, Ordering::SeqCst);
    assert_eq!(flaky_load(key(3)).unwrap(), "data of 3");
}

/// A cached value whose `Drop` looks itself up in, and stores into, the cache holding it.
struct CallsBack {
    name: &'static str,
    cache: &'static OnceLock<ResponseCache<&'static str, CallsBack>>,
    /// Clones (served copies, the copy stored by a re-entrant insert) do not call back.
    calls_back: bool,
    drops: &'static AtomicUsize,
}

impl Clone for CallsBack {
    fn clone(&self) -> Self {
        CallsBack {
            calls_back: false,
            ..*self
        }
    }
}

impl Drop for CallsBack {
    fn drop(&mut self) {
        if !self.calls_back {
            return;
        }
        let cache = self.cache.get().expect("set before any value");
        let _ = cache.get(self.name);
        let _ = cache.len();
        cache.insert("stored by a drop", self.clone());
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn response_cache_values_whose_drop_uses_the_cache_are_replaced_evicted_expired_and_cleared() {
    static CACHE: OnceLock<ResponseCache<&'static str, CallsBack>> = OnceLock::new();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let clock = Arc::new(ManualClock::new());
    let cache =
        CACHE.get_or_init(|| ResponseCache::with_clock(Duration::from_secs(60), 2, clock.clone()));
    let value = |name| CallsBack {
        name,
        cache: &CACHE,
        calls_back: true,
        drops: &DROPS,
    };
    // Each step must drop at least one value that calls back, and return.
    let step = |what: &str, body: Box<dyn FnOnce() + Send>| {
        let before = DROPS.load(Ordering::SeqCst);
        completes(what, body);
        assert!(
            DROPS.load(Ordering::SeqCst) > before,
            "{what}: no value called back"
        );
    };
    step(
        "replace",
        Box::new(move || {
            cache.insert("a", value("a"));
            cache.insert("a", value("a"));
        }),
    );
    step(
        "evict",
        Box::new(move || {
            cache.insert("b", value("b"));
            cache.insert("c", value("c"));
            cache.insert("d", value("d"));
        }),
    );
    let aging = clock.clone();
    step(
        "expire",
        Box::new(move || {
            cache.clear();
            cache.insert("e", value("e"));
            aging.advance(Duration::from_secs(60));
            assert!(cache.get("e").is_none(), "expired");
        }),
    );
    step(
        "clear",
        Box::new(move || {
            cache.insert("f", value("f"));
            cache.clear();
        }),
    );
    cache.clear();
    cache.insert("g", value("g"));
    assert_eq!(cache.get("g").map(|v| v.name), Some("g"), "still serves");
}

static REENTRANT_UP: AtomicBool = AtomicBool::new(true);
static REENTRANT_DROPS: AtomicUsize = AtomicUsize::new(0);

/// A value whose `Drop` calls the cached function it came from (once: the calls it makes store
/// values that do not call back).
#[derive(Debug, PartialEq)]
struct CallsAgain {
    id: u32,
    calls_back: bool,
}

impl Clone for CallsAgain {
    fn clone(&self) -> Self {
        // What the cache stores and serves is a clone: those are the ones that call back.
        CallsAgain {
            id: self.id,
            calls_back: self.id < 100,
        }
    }
}

impl Drop for CallsAgain {
    fn drop(&mut self) {
        if self.calls_back {
            // Looked up (the service is down, or a new key) or stored: the same FnCache.
            let _ = reentrant_load(self.id + 100);
            REENTRANT_DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[fallback(cache(capacity = 2))]
fn reentrant_load(id: u32) -> Result<CallsAgain, String> {
    if REENTRANT_UP.load(Ordering::SeqCst) {
        Ok(CallsAgain {
            id,
            calls_back: false,
        })
    } else {
        Err("down".to_string())
    }
}

#[test]
fn an_attribute_cache_replaces_and_evicts_values_whose_drop_calls_the_function() {
    completes("replace and evict", || {
        drop(reentrant_load(1)); // stored: a clone that calls back
        drop(reentrant_load(1)); // replaces it
        drop(reentrant_load(2));
        drop(reentrant_load(3)); // full: evicts one
    });
    assert!(REENTRANT_DROPS.load(Ordering::SeqCst) >= 2);
    REENTRANT_UP.store(false, Ordering::SeqCst);
    completes("served", || {
        assert_eq!(reentrant_load(3).map(|v| v.id), Ok(3), "still served");
    });
}

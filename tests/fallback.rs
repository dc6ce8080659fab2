//! The fallback runtime: `FallbackChain` with its cache, default, alternative and custom
//! strategies; the bounded TTL cache under a controllable clock; `FnCache` and the `tracing`
//! events that attribute-generated code calls; sync and async; the free success path.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// `FnCache` and the event functions are what attribute-generated code calls; these tests pin
// that contract.
use mcpstore_errors::__private::{FallbackRun, FnCache};
use mcpstore_errors::{
    BoxError, ChainKey, ErrorKind, FallbackChain, FallbackStrategy, ManualClock, McpStoreError,
    ResponseCache, ServedBy,
};
use mcpstore_errors_tests::{CapturedEvent, CountingAllocator, allocations_during};

const TEN_MINUTES: Duration = Duration::from_secs(600);

/// A cache aged by a clock the test moves.
fn manual_cache<K, T>(ttl: Duration, capacity: usize) -> (ResponseCache<K, T>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    (
        ResponseCache::with_clock(ttl, capacity, clock.clone()),
        clock,
    )
}

/// An error that is not `Clone` and carries a heap payload, so the test can tell the very
/// value the primary returned from any copy or rebuild.
#[derive(Debug)]
struct Original {
    id: u32,
    payload: Box<u64>,
}

impl Original {
    fn new(id: u32) -> Self {
        Original {
            id,
            payload: Box::new(u64::from(id) * 1000),
        }
    }
}

impl fmt::Display for Original {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "original failure {}", self.id)
    }
}

// ---- the seed's example ----

fn get_service_tools(service_name: &str, store_up: bool) -> Result<Vec<String>, McpStoreError> {
    if store_up {
        Ok(vec![
            format!("{service_name}.read_file"),
            format!("{service_name}.write_file"),
        ])
    } else {
        Err(McpStoreError::connection("store unreachable"))
    }
}

#[test]
fn seed_example_tools_behind_a_ten_minute_cache_then_an_empty_list() {
    let (cache, clock) = manual_cache(TEN_MINUTES, 100);
    let chain = FallbackChain::new()
        .operation("get_service_tools")
        .cache(cache)
        .default_value(Vec::new());

    let fresh = chain
        .execute_outcome("filesystem", |name| get_service_tools(name, true))
        .unwrap();
    assert_eq!(fresh.served_by, ServedBy::Primary);
    assert_eq!(fresh.value.len(), 2);

    clock.advance(Duration::from_secs(9 * 60));
    let cached = chain
        .execute_outcome("filesystem", |name| get_service_tools(name, false))
        .unwrap();
    assert_eq!(cached.served_by, ServedBy::Cache);
    assert_eq!(cached.value, fresh.value);

    clock.advance(Duration::from_secs(60));
    let defaulted = chain
        .execute_outcome("filesystem", |name| get_service_tools(name, false))
        .unwrap();
    assert_eq!(defaulted.served_by, ServedBy::Default);
    assert!(defaulted.value.is_empty());
}

// ---- order and the original error ----

/// A custom strategy that records its call and fails or serves as told.
struct Recording {
    name: &'static str,
    log: Arc<Mutex<Vec<&'static str>>>,
    serve: Option<u32>,
}

impl FallbackStrategy<u32, u32, Original> for Recording {
    fn name(&self) -> &'static str {
        self.name
    }

    fn recover(&self, _args: &u32, _error: &Original) -> Result<u32, BoxError> {
        self.log.lock().unwrap().push(self.name);
        self.serve
            .ok_or_else(|| format!("{} has nothing", self.name).into())
    }
}

fn recording(
    log: &Arc<Mutex<Vec<&'static str>>>,
    name: &'static str,
    serve: Option<u32>,
) -> Recording {
    Recording {
        name,
        log: log.clone(),
        serve,
    }
}

#[test]
fn strategies_run_in_the_order_added_and_stop_at_the_first_that_serves() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let alternative_log = log.clone();
    let default_log = log.clone();
    let chain = FallbackChain::new()
        .strategy(recording(&log, "first", None))
        .alternative(move |_: &u32| {
            alternative_log.lock().unwrap().push("alternative");
            Err::<u32, _>("alternative down")
        })
        .strategy(recording(&log, "third", Some(3)))
        .default_with(move || {
            default_log.lock().unwrap().push("default");
            0
        });

    let served = chain
        .execute_outcome(&1, |_| Err(Original::new(1)))
        .unwrap();
    assert_eq!(served.value, 3);
    assert_eq!(served.served_by, ServedBy::Custom("third"));
    assert_eq!(*log.lock().unwrap(), ["first", "alternative", "third"]);
}

#[test]
fn when_every_strategy_fails_the_original_error_is_returned_untouched() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (cache, _clock) = manual_cache(TEN_MINUTES, 10);
    let chain = FallbackChain::new()
        .cache(cache)
        .alternative(|_: &u32| Err::<u32, _>(McpStoreError::connection("backup down")))
        .strategy(recording(&log, "custom", None))
        .recover(|_: &u32, _: &Original| Err::<u32, _>("cannot recover"));

    let original = Original::new(7);
    let payload_address: *const u64 = &*original.payload;
    let error = chain.execute(&1, move |_| Err(original)).unwrap_err();
    assert_eq!(error.id, 7);
    assert_eq!(*error.payload, 7000);
    assert!(
        std::ptr::eq(&*error.payload, payload_address),
        "the error was rebuilt"
    );
    assert_eq!(*log.lock().unwrap(), ["custom"]);
}

#[test]
fn a_chain_without_strategies_returns_the_failure_as_it_is() {
    let chain: FallbackChain<str, u32, McpStoreError> = FallbackChain::new();
    assert!(chain.is_empty());
    let error = chain
        .execute("fs", |name| Err(McpStoreError::service_not_found(name)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(error.to_string(), "Service 'fs' not found");
}

#[test]
fn the_primary_value_is_returned_and_no_strategy_runs_on_success() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (a, b) = (calls.clone(), calls.clone());
    let chain = FallbackChain::new()
        .alternative(move |_: &u32| {
            a.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(0)
        })
        .default_with(move || {
            b.fetch_add(1, Ordering::SeqCst);
            0
        });
    let served = chain
        .execute_outcome(&5, |n| Ok::<_, Original>(n * 2))
        .unwrap();
    assert_eq!(served.value, 10);
    assert_eq!(served.served_by, ServedBy::Primary);
    assert!(!served.is_fallback());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// ---- each strategy ----

fn backup_tools(args: &(String, u32)) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![format!("{}#{} from backup", args.0, args.1)])
}

#[test]
fn an_alternative_gets_the_same_arguments_and_is_named_by_its_path() {
    let chain = FallbackChain::new().alternative(backup_tools);
    let args = ("filesystem".to_string(), 3);
    let served = chain
        .execute_outcome(&args, |_| Err(McpStoreError::connection("down")))
        .unwrap();
    assert_eq!(served.value, ["filesystem#3 from backup"]);
    match served.served_by {
        ServedBy::Alternative(name) => assert!(name.ends_with("backup_tools"), "{name}"),
        other => panic!("served by {other:?}"),
    }
}

#[test]
fn a_custom_strategy_gets_the_arguments_and_the_original_error() {
    struct Inspect(Arc<Mutex<Option<(u32, u32)>>>);
    impl FallbackStrategy<u32, String, Original> for Inspect {
        fn recover(&self, args: &u32, error: &Original) -> Result<String, BoxError> {
            *self.0.lock().unwrap() = Some((*args, error.id));
            Ok(format!("recovered {args} after {error}"))
        }
    }

    let seen = Arc::new(Mutex::new(None));
    let chain = FallbackChain::new().strategy(Inspect(seen.clone()));
    let served = chain
        .execute_outcome(&4, |_| Err(Original::new(9)))
        .unwrap();
    assert_eq!(served.value, "recovered 4 after original failure 9");
    assert_eq!(*seen.lock().unwrap(), Some((4, 9)));
    match served.served_by {
        ServedBy::Custom(name) => assert!(name.ends_with("Inspect"), "{name}"),
        other => panic!("served by {other:?}"),
    }
}

#[test]
fn a_recovery_closure_decides_from_the_error() {
    let chain = FallbackChain::new().recover(|_: &str, error: &McpStoreError| {
        if error.kind().is_a(ErrorKind::Service) {
            Ok(Vec::<String>::new())
        } else {
            Err(error.clone())
        }
    });
    let missing = chain.execute("fs", |name| Err(McpStoreError::service_not_found(name)));
    assert_eq!(missing.unwrap(), Vec::<String>::new());
    let config = chain.execute("fs", |_| Err(McpStoreError::configuration("bad path")));
    assert_eq!(config.unwrap_err().kind(), ErrorKind::Configuration);
}

#[test]
fn defaults_are_a_value_a_closure_or_the_types_default() {
    let value = FallbackChain::new().default_value(vec![1, 2]);
    assert_eq!(value.execute(&(), |_| Err("down")), Ok(vec![1, 2]));
    assert_eq!(
        value.execute(&(), |_| Err("down")),
        Ok(vec![1, 2]),
        "served twice"
    );

    let made = FallbackChain::new().default_with(|| "made".to_string());
    assert_eq!(made.execute(&(), |_| Err("down")), Ok("made".to_string()));

    let typed = FallbackChain::new().or_default();
    let served = typed
        .execute_outcome(&(), |_| Err::<(u8, String), _>("down"))
        .unwrap();
    assert_eq!(served.value, (0, String::new()));
    assert_eq!(served.served_by, ServedBy::Default);
}

// ---- the cache ----

#[test]
fn the_cache_serves_while_younger_than_its_ttl_and_not_at_it() {
    let (cache, clock) = manual_cache(Duration::from_secs(60), 10);
    let chain = FallbackChain::new().cache(cache);
    chain.execute("fs", |_| Ok::<_, String>(1)).unwrap();

    clock.advance(Duration::from_millis(59_999));
    assert_eq!(chain.execute("fs", |_| Err("down".to_string())), Ok(1));
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        chain.execute("fs", |_| Err("down".to_string())),
        Err("down".to_string())
    );
}

#[test]
fn the_cache_serves_only_the_same_arguments() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 10);
    let chain = FallbackChain::new().cache(cache);
    chain
        .execute(&("fs", 1), |_| Ok::<_, String>("fs-1"))
        .unwrap();
    assert_eq!(
        chain.execute(&("fs", 1), |_| Err("down".into())),
        Ok("fs-1")
    );
    assert_eq!(
        chain.execute(&("fs", 2), |_| Err("down".to_string())),
        Err("down".to_string())
    );
    assert_eq!(
        chain.execute(&("web", 1), |_| Err("down".to_string())),
        Err("down".to_string())
    );
}

#[test]
fn each_success_refreshes_the_cached_value_and_its_age() {
    let (cache, clock) = manual_cache(TEN_MINUTES, 10);
    let chain = FallbackChain::new().cache(cache);
    chain.execute("fs", |_| Ok::<_, String>("old")).unwrap();
    clock.advance(Duration::from_secs(8 * 60));
    chain.execute("fs", |_| Ok::<_, String>("new")).unwrap();
    clock.advance(Duration::from_secs(8 * 60)); // 16 minutes after the first store
    assert_eq!(chain.execute("fs", |_| Err("down".to_string())), Ok("new"));
}

#[test]
fn a_failure_does_not_refresh_the_cache() {
    let (cache, clock) = manual_cache(TEN_MINUTES, 10);
    let chain = FallbackChain::new().cache(cache);
    chain.execute("fs", |_| Ok::<_, String>(1)).unwrap();
    clock.advance(Duration::from_secs(9 * 60));
    assert_eq!(chain.execute("fs", |_| Err("down".to_string())), Ok(1));
    clock.advance(Duration::from_secs(60));
    assert!(chain.execute("fs", |_| Err("down".to_string())).is_err());
}

#[test]
fn the_cache_holds_at_most_its_capacity_dropping_the_oldest() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 3);
    let chain = FallbackChain::new().cache(cache.clone());
    for n in 0..10u32 {
        chain.execute(&n, |n| Ok::<_, String>(n * 10)).unwrap();
        assert!(cache.len() <= 3);
    }
    assert_eq!(cache.len(), 3);
    for n in 0..7u32 {
        assert!(
            chain.execute(&n, |_| Err("down".to_string())).is_err(),
            "{n} kept"
        );
    }
    for n in 7..10u32 {
        assert_eq!(chain.execute(&n, |_| Err("down".to_string())), Ok(n * 10));
    }
}

#[test]
fn a_served_entry_is_recently_used_and_survives_eviction() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 2);
    cache.insert("a", 1);
    cache.insert("b", 2);
    assert_eq!(cache.get("a"), Some(1));
    cache.insert("c", 3);
    assert_eq!(cache.get("b"), None);
    assert_eq!(cache.get("a"), Some(1));
    assert_eq!(cache.get("c"), Some(3));
}

/// Against a model of the cache's definition, over random gets and inserts of a few keys on a
/// clock that moves by whole seconds (TTL 10 s): every value served, and the entry a full
/// cache gives up (the first stored if it has expired, else the least recently used; among
/// entries stored at one reading, the first stored).
#[test]
fn a_random_run_serves_and_evicts_exactly_as_the_model_of_the_cache_does() {
    use std::collections::HashMap;
    struct Modelled {
        value: u64,
        stored_at: u64,
        stored_order: u64,
        last_used: u64,
    }
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for capacity in [1usize, 2, 3, 5] {
        let (cache, clock) = manual_cache(Duration::from_secs(10), capacity);
        let (mut now, mut order) = (0u64, 0u64);
        let mut model: HashMap<u32, Modelled> = HashMap::new();
        for step in 0..20_000u64 {
            let by = next() % 4;
            clock.advance(Duration::from_secs(by));
            now += by;
            order += 1;
            let key = (next() % 8) as u32;
            if next() % 2 == 0 {
                let expected = match model.get_mut(&key) {
                    Some(entry) if now - entry.stored_at < 10 => {
                        entry.last_used = order;
                        Some(entry.value)
                    }
                    Some(_) => {
                        model.remove(&key);
                        None
                    }
                    None => None,
                };
                assert_eq!(
                    cache.get(&key),
                    expected,
                    "capacity {capacity}, step {step}"
                );
            } else {
                if !model.contains_key(&key) && model.len() >= capacity {
                    let first = model
                        .iter()
                        .min_by_key(|(_, entry)| (entry.stored_at, entry.stored_order))
                        .map(|(key, entry)| (*key, entry.stored_at))
                        .expect("full");
                    let gone = if now - first.1 >= 10 {
                        first.0
                    } else {
                        let lru = model.iter().min_by_key(|(_, entry)| entry.last_used);
                        *lru.expect("full").0
                    };
                    model.remove(&gone);
                }
                let entry = Modelled {
                    value: step,
                    stored_at: now,
                    stored_order: order,
                    last_used: order,
                };
                model.insert(key, entry);
                cache.insert(key, step);
            }
            assert_eq!(cache.len(), model.len(), "capacity {capacity}, step {step}");
        }
    }
}

#[test]
fn a_zero_capacity_cache_stores_nothing() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 0);
    let chain = FallbackChain::new().cache(cache.clone());
    chain.execute("fs", |_| Ok::<_, String>(1)).unwrap();
    assert!(cache.is_empty());
    assert!(chain.execute("fs", |_| Err("down".to_string())).is_err());
}

#[test]
fn chains_sharing_a_cache_never_read_each_others_entries() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 10);
    let tools = FallbackChain::new()
        .operation("list_tools")
        .cache(cache.clone());
    let prompts = FallbackChain::new()
        .operation("list_prompts")
        .cache(cache.clone());
    tools
        .execute("fs", |_| Ok::<_, String>("tools of fs"))
        .unwrap();
    prompts
        .execute("fs", |_| Ok::<_, String>("prompts of fs"))
        .unwrap();
    assert_eq!(cache.len(), 2);
    assert_eq!(
        tools.execute("fs", |_| Err("down".into())),
        Ok("tools of fs")
    );
    assert_eq!(
        prompts.execute("fs", |_| Err("down".into())),
        Ok("prompts of fs")
    );
}

#[test]
fn the_cache_keeps_its_position_in_the_chain() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 10);
    let chain = FallbackChain::new().default_value(0).cache(cache);
    chain.execute(&1, |_| Ok::<_, String>(5)).unwrap();
    let served = chain
        .execute_outcome(&1, |_| Err("down".to_string()))
        .unwrap();
    assert_eq!(
        served.served_by,
        ServedBy::Default,
        "the default comes first"
    );
}

#[test]
fn the_cache_is_thread_safe_and_bounded_under_concurrent_use() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 16);
    let chain = Arc::new(FallbackChain::new().cache(cache.clone()));
    let threads: Vec<_> = (0..8u64)
        .map(|thread| {
            let chain = chain.clone();
            std::thread::spawn(move || {
                for round in 0..200u64 {
                    let key = (thread, round % 4);
                    let expected = thread * 1000 + round % 4;
                    chain
                        .execute(&key, |k| Ok::<_, String>(k.0 * 1000 + k.1))
                        .unwrap();
                    let served = chain.execute_outcome(&key, |_| Err("down".to_string()));
                    if let Ok(served) = served {
                        assert_eq!(served.value, expected, "another key's value");
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(cache.len() <= 16);
}

// ---- FnCache, for attribute-generated code ----

static FN_CLOCK: ManualClock = ManualClock::new();

#[test]
fn the_cache_step_of_the_fallback_engine_looks_up_and_reports() {
    static CACHE: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
    let key = FnCache::key(&(), Some(()), "serve");
    let run = FallbackRun::new("op");
    let events = capture_events(|| {
        assert_eq!(run.cache(CACHE.lookup::<u32, _, _>(&key), &"boom"), None);
        CACHE.store(key.clone(), &3u32);
        assert_eq!(run.cache(CACHE.lookup::<u32, _, _>(&key), &"boom"), Some(3));
    });
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].level, tracing::Level::INFO);
    assert_eq!(events[0].field("strategy"), Some("cache"));
    assert_eq!(events[0].field("error"), Some("no fresh cached value"));
    assert_eq!(events[1].level, tracing::Level::WARN);
    assert_eq!(events[1].field("strategy"), Some("cache"));
    assert_eq!(events[1].field("error"), Some("boom"));
    CACHE.clear();
    assert!(CACHE.is_empty());
}

// ---- async ----

async fn fetch_tools(service: &str, up: bool) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    get_service_tools(service, up)
}

#[tokio::test]
async fn async_primary_may_borrow_the_arguments_and_fills_the_cache() {
    let (cache, clock) = manual_cache(TEN_MINUTES, 10);
    let chain = FallbackChain::new().cache(cache).default_value(Vec::new());
    let service = String::from("filesystem");

    let tools = chain
        .execute_async(service.as_str(), fetch_tools(&service, true))
        .await;
    assert_eq!(tools.unwrap().len(), 2);
    let served = chain
        .execute_async_outcome(service.as_str(), fetch_tools(&service, false))
        .await
        .unwrap();
    assert_eq!((served.value.len(), served.served_by), (2, ServedBy::Cache));

    clock.advance(TEN_MINUTES);
    let served = chain
        .execute_async_outcome(service.as_str(), fetch_tools(&service, false))
        .await
        .unwrap();
    assert_eq!(
        (served.value.len(), served.served_by),
        (0, ServedBy::Default)
    );
}

async fn replica_tools(service: String) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    Ok(vec![format!("{service}.read_file (replica)")])
}

#[tokio::test]
async fn async_alternatives_run_in_order_with_sync_strategies() {
    let chain = FallbackChain::new()
        .alternative(|_: &str| Err::<Vec<String>, _>("sync backup down"))
        .alternative_async(|service: &str| replica_tools(service.to_owned()))
        .default_value(Vec::new());
    let served = chain
        .execute_async_outcome("fs", fetch_tools("fs", false))
        .await
        .unwrap();
    assert_eq!(served.value, ["fs.read_file (replica)"]);
    assert!(
        matches!(served.served_by, ServedBy::Alternative(name) if name.contains("async_alternatives"))
    );
}

#[tokio::test]
async fn async_all_failing_returns_the_original_error() {
    let chain = FallbackChain::new()
        .alternative_async(|_: &u32| async { Err::<u32, _>("replica down") })
        .strategy(recording(&Arc::new(Mutex::new(Vec::new())), "custom", None));
    let error = chain
        .execute_async(&1, async { Err(Original::new(5)) })
        .await
        .unwrap_err();
    assert_eq!(error.id, 5);
}

#[test]
fn a_sync_call_skips_an_async_alternative_and_says_so() {
    let chain = FallbackChain::new()
        .operation("list_tools")
        .alternative_async(|service: &str| replica_tools(service.to_owned()))
        .default_value(Vec::new());
    let events = capture_events(|| {
        let served = chain
            .execute_outcome("fs", |name| get_service_tools(name, false))
            .unwrap();
        assert_eq!(served.served_by, ServedBy::Default);
    });
    assert_eq!(events[0].field("operation"), Some("list_tools"));
    assert!(events[0].field("error").unwrap().contains("asynchronous"));
    assert_eq!(events[1].field("strategy"), Some("default"));
}

#[test]
fn a_sync_call_never_runs_the_closure_of_the_async_alternative_it_skips() {
    static BUILT: AtomicUsize = AtomicUsize::new(0);
    let chain: FallbackChain<str, u32, String> = FallbackChain::new()
        .alternative_async(|_: &str| {
            BUILT.fetch_add(1, Ordering::SeqCst);
            // Built eagerly, as a tokio timer is: outside a runtime this panics.
            tokio::time::timeout(Duration::from_secs(1), std::future::pending::<u32>())
        })
        .default_value(0);
    assert_eq!(chain.execute("fs", |_| Err("down".to_owned())), Ok(0));
    assert_eq!(BUILT.load(Ordering::SeqCst), 0);
}

#[test]
fn a_full_cache_gives_up_an_expired_entry_before_a_fresh_one() {
    let (cache, clock) = manual_cache::<&str, u32>(Duration::from_secs(10), 2);
    cache.insert("a", 1); // stale from 10 s
    clock.advance(Duration::from_secs(5));
    cache.insert("b", 2); // fresh until 15 s
    clock.advance(Duration::from_secs(4));
    assert_eq!(cache.get("a"), Some(1)); // served, so the most recently used
    clock.advance(Duration::from_secs(2));
    cache.insert("c", 3); // full at 11 s: "a" has expired, "b" has not
    assert_eq!(cache.get("b"), Some(2), "the fresh entry is kept");
    assert_eq!(cache.get("a"), None);
}

#[test]
fn the_async_chain_future_is_send() {
    fn assert_send<F: std::future::Future + Send>(_: F) {}
    let chain: FallbackChain<str, Vec<String>, McpStoreError> = FallbackChain::new()
        .cache(ResponseCache::new(TEN_MINUTES, 4))
        .alternative_async(|service: &str| replica_tools(service.to_owned()));
    assert_send(chain.execute_async("fs", fetch_tools("fs", false)));
}

// ---- tracing events ----

fn capture_events(body: impl FnOnce()) -> Vec<CapturedEvent> {
    mcpstore_errors_tests::capture_events("mcpstore_errors::fallback", body)
}

#[test]
fn the_serving_strategy_is_a_warn_event_with_the_original_error() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 4);
    let chain = FallbackChain::new()
        .operation("get_service_tools")
        .cache(cache)
        .default_value(Vec::new());
    let events = capture_events(|| {
        let _ = chain.execute("fs", |name| get_service_tools(name, false));
    });
    assert_eq!(events.len(), 2, "{events:?}");
    let miss = &events[0];
    assert_eq!(miss.level, tracing::Level::INFO);
    assert_eq!(miss.field("operation"), Some("get_service_tools"));
    assert_eq!(miss.field("strategy"), Some("cache"));
    assert_eq!(miss.field("error"), Some("no fresh cached value"));
    let served = &events[1];
    assert_eq!(served.level, tracing::Level::WARN);
    assert_eq!(served.field("strategy"), Some("default"));
    assert_eq!(served.field("error"), Some("store unreachable"));
}

#[test]
fn a_failing_strategy_reports_its_own_error_and_exhaustion_the_original() {
    let chain = FallbackChain::new()
        .operation("start")
        .alternative(|_: &u32| Err::<u32, _>("backup refused"));
    let events = capture_events(|| {
        let _ = chain.execute(&1, |_| Err(Original::new(2)));
    });
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].field("error"), Some("backup refused"));
    assert!(events[0].field("strategy").unwrap().contains("{{closure}}"));
    assert_eq!(events[1].level, tracing::Level::WARN);
    assert_eq!(events[1].field("operation"), Some("start"));
    assert_eq!(events[1].field("strategy"), None);
    assert_eq!(events[1].field("error"), Some("original failure 2"));
}

#[test]
fn a_success_emits_no_event() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 4);
    let chain = FallbackChain::new().cache(cache).default_value(0);
    let events = capture_events(|| {
        chain.execute(&1, |_| Ok::<_, String>(1)).unwrap();
    });
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn the_fallback_engine_reports_each_step_with_its_fields() {
    let events = capture_events(|| {
        let run = FallbackRun::new("list_tools");
        run.served("with = backup", &"refused");
        run.failed("recover", &"no luck");
        run.exhausted(&"refused");
    });
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.level,
                e.field("operation"),
                e.field("strategy"),
                e.field("error"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                tracing::Level::WARN,
                Some("list_tools"),
                Some("with = backup"),
                Some("refused")
            ),
            (
                tracing::Level::INFO,
                Some("list_tools"),
                Some("recover"),
                Some("no luck")
            ),
            (
                tracing::Level::WARN,
                Some("list_tools"),
                None,
                Some("refused")
            ),
        ]
    );
}

// ---- the success path ----

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn without_a_cache_a_success_allocates_nothing() {
    let chain = FallbackChain::new()
        .alternative(backup_tools)
        .default_value(Vec::new())
        .recover(|_: &(String, u32), _: &McpStoreError| Ok::<_, String>(Vec::new()));
    let args = ("fs".to_string(), 1);
    let (result, allocations) = allocations_during(|| {
        chain.execute_outcome(&args, |_| Ok::<Vec<String>, McpStoreError>(Vec::new()))
    });
    assert_eq!(result.unwrap().served_by, ServedBy::Primary);
    assert_eq!(allocations, 0);

    let (result, allocations) = allocations_during(|| {
        let future = chain.execute_async(&args, async {
            Ok::<Vec<String>, McpStoreError>(Vec::new())
        });
        poll_once(future)
    });
    assert!(matches!(result, std::task::Poll::Ready(Ok(_))));
    assert_eq!(allocations, 0);
}

#[test]
fn with_a_cache_a_success_is_stored() {
    let (cache, _clock) = manual_cache(TEN_MINUTES, 4);
    let chain = FallbackChain::new().cache(cache.clone());
    let (_, allocations) = allocations_during(|| chain.execute(&1, |_| Ok::<_, String>(1)));
    assert!(allocations > 0, "the first store builds the map");
    assert_eq!(cache.len(), 1);
}

fn poll_once<F: std::future::Future>(future: F) -> std::task::Poll<F::Output> {
    let future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    future.poll(&mut cx)
}

type ToolsChain = FallbackChain<str, Vec<String>, McpStoreError>;

/// Builds an unnamed chain on the caller's behalf: every chain it makes gets its cache on one
/// line.
fn unnamed_chain_from_one_place(
    cache: &ResponseCache<(ChainKey, String), Vec<String>>,
) -> ToolsChain {
    FallbackChain::new().cache(cache.clone())
}

#[test]
fn unnamed_chains_sharing_a_cache_never_serve_each_others_entries() {
    let (cache, _) = manual_cache(TEN_MINUTES, 16);
    let tools: ToolsChain = FallbackChain::new().cache(cache.clone());
    let prompts: ToolsChain = FallbackChain::new().cache(cache.clone());
    let down = |_: &str| Err(McpStoreError::connection("down"));
    tools
        .execute("fs", |_| Ok(vec!["read_file".to_owned()]))
        .unwrap();
    // The same argument, another chain: nothing of its own cached, so the error.
    assert_eq!(prompts.execute("fs", down).unwrap_err().message(), "down");
    assert_eq!(tools.execute("fs", down).unwrap(), ["read_file"]);

    // Chains given their cache by the same line (a chain rebuilt per call) share their
    // entries.
    let first = unnamed_chain_from_one_place(&cache);
    first
        .execute("web", |_| Ok(vec!["fetch".to_owned()]))
        .unwrap();
    let again = unnamed_chain_from_one_place(&cache);
    assert_eq!(again.execute("web", down).unwrap(), ["fetch"]);
    assert_eq!(prompts.execute("web", down).unwrap_err().message(), "down");

    // Named chains share by name, wherever they were built.
    let named: ToolsChain = FallbackChain::new()
        .operation("list_tools")
        .cache(cache.clone());
    named
        .execute("git", |_| Ok(vec!["log".to_owned()]))
        .unwrap();
    let same_name: ToolsChain = FallbackChain::default()
        .operation("list_tools")
        .cache(cache.clone());
    assert_eq!(same_name.execute("git", down).unwrap(), ["log"]);
    assert_eq!(tools.execute("git", down).unwrap_err().message(), "down");
}

#[derive(Default)]
struct UnnamedChains {
    tools: ToolsChain,
    prompts: ToolsChain,
}

#[test]
fn unnamed_chains_made_by_a_derive_or_by_std_stay_apart_once_given_a_cache() {
    let (cache, _) = manual_cache(TEN_MINUTES, 16);
    let down = |_: &str| Err(McpStoreError::connection("down"));
    let chains = UnnamedChains::default();
    let tools = chains.tools.cache(cache.clone());
    let prompts = chains.prompts.cache(cache.clone());
    tools
        .execute("fs", |_| Ok(vec!["read_file".to_owned()]))
        .unwrap();
    assert_eq!(prompts.execute("fs", down).unwrap_err().message(), "down");

    // `mem::take` makes the replacement with `Default::default()`, called inside core.
    let mut slot: ToolsChain = FallbackChain::new();
    let first = std::mem::take(&mut slot).cache(cache.clone());
    let second = std::mem::take(&mut slot).cache(cache.clone());
    first
        .execute("git", |_| Ok(vec!["log".to_owned()]))
        .unwrap();
    assert_eq!(second.execute("git", down).unwrap_err().message(), "down");
    assert_eq!(first.execute("git", down).unwrap(), ["log"]);
}

mod debug_outside_the_lock {
    use std::fmt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock, mpsc};
    use std::time::{Duration, Instant, SystemTime};

    use mcpstore_errors::{Clock, ResponseCache};

    static CACHE: OnceLock<ResponseCache<u32, u32>> = OnceLock::new();
    static FOUND_LOCKED: AtomicUsize = AtomicUsize::new(0);

    /// A clock whose `Debug` asks, from another thread, for the cache's length.
    struct LookingClock;

    impl fmt::Debug for LookingClock {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let (done, waited) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = CACHE.get().unwrap().len();
                let _ = done.send(());
            });
            // At once when the cache is not locked; the bound only ends a wait on a held lock.
            if waited.recv_timeout(Duration::from_millis(300)).is_err() {
                FOUND_LOCKED.fetch_add(1, Ordering::SeqCst);
            }
            f.write_str("LookingClock")
        }
    }

    impl Clock for LookingClock {
        fn now(&self) -> Instant {
            Instant::now()
        }
        fn system_time(&self) -> SystemTime {
            SystemTime::now()
        }
    }

    #[test]
    fn debug_formats_the_clock_with_the_cache_unlocked() {
        let cache = CACHE.get_or_init(|| {
            ResponseCache::with_clock(Duration::from_secs(10), 4, Arc::new(LookingClock))
        });
        let shown = format!("{cache:?}");
        assert!(shown.contains("LookingClock"), "{shown}");
        assert_eq!(FOUND_LOCKED.load(Ordering::SeqCst), 0);
    }
}

mod a_panicking_key_eq {
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{OnceLock, mpsc};
    use std::time::Duration;

    use mcpstore_errors::__private::FnCache;
    use mcpstore_errors::ResponseCache;

    /// Equal by number; comparing with 666 panics. Every key hashes alike, so inserting one
    /// compares it with those stored.
    #[derive(Debug, Clone)]
    struct Touchy(u32);

    impl PartialEq for Touchy {
        fn eq(&self, other: &Self) -> bool {
            assert!(self.0 != 666 && other.0 != 666, "Touchy::eq panicked");
            self.0 == other.0
        }
    }

    impl Eq for Touchy {}

    impl Hash for Touchy {
        fn hash<H: Hasher>(&self, _: &mut H) {}
    }

    /// Whether `touch` (a call into a cache) returns while this thread waits: at once unless
    /// the cache is locked.
    fn unlocked(touch: fn()) -> bool {
        let (done, waited) = mpsc::channel();
        std::thread::spawn(move || {
            touch();
            let _ = done.send(());
        });
        waited.recv_timeout(Duration::from_millis(300)).is_ok()
    }

    /// A value whose drop records whether its cache was locked then.
    #[derive(Debug)]
    struct Watched {
        touch: fn(),
        dropped_locked: &'static AtomicUsize,
        dropped: &'static AtomicUsize,
    }

    impl Clone for Watched {
        fn clone(&self) -> Self {
            Watched { ..*self }
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
            if !unlocked(self.touch) {
                self.dropped_locked.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    static FN_CACHE: FnCache = FnCache::new(Duration::from_secs(60), 8);
    static FN_DROPPED: AtomicUsize = AtomicUsize::new(0);
    static FN_DROPPED_LOCKED: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn fn_cache_drops_the_new_value_after_unlocking_and_stays_usable() {
        let key = |n| FnCache::key(&(), (), (Touchy(n),));
        let value = Watched {
            touch: || {
                let _ = FN_CACHE.len();
            },
            dropped_locked: &FN_DROPPED_LOCKED,
            dropped: &FN_DROPPED,
        };
        FN_CACHE.store(key(1), &value);
        let dropped = FN_DROPPED.load(Ordering::SeqCst);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            FN_CACHE.store(key(666), &value);
        }));
        assert!(
            panicked.is_err(),
            "the key's Eq panics, and so does the store"
        );
        assert!(
            FN_DROPPED.load(Ordering::SeqCst) > dropped,
            "the copy was dropped"
        );
        assert_eq!(FN_DROPPED_LOCKED.load(Ordering::SeqCst), 0);
        FN_CACHE.store(key(2), &value);
        assert!(FN_CACHE.lookup::<Watched, _, _>(&key(2)).is_some());
    }

    static CACHE: OnceLock<ResponseCache<Touchy, Watched>> = OnceLock::new();
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    static DROPPED_LOCKED: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn response_cache_drops_the_new_value_after_unlocking_and_stays_usable() {
        let cache = CACHE.get_or_init(|| ResponseCache::new(Duration::from_secs(60), 8));
        let value = || Watched {
            touch: || {
                let _ = CACHE.get().unwrap().len();
            },
            dropped_locked: &DROPPED_LOCKED,
            dropped: &DROPPED,
        };
        cache.insert(Touchy(1), value());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.insert(Touchy(666), value());
        }));
        assert!(
            panicked.is_err(),
            "the key's Eq panics, and so does the insert"
        );
        assert_eq!(
            DROPPED.load(Ordering::SeqCst),
            1,
            "the new value was dropped"
        );
        assert_eq!(DROPPED_LOCKED.load(Ordering::SeqCst), 0);
        cache.insert(Touchy(2), value());
        assert_eq!(cache.len(), 2, "usable after the panic");
    }
}

/// A clock whose first reading is taken, then held back until the test lets it return: the
/// caller it serves stands between reading the clock and taking the cache's lock.
#[derive(Debug)]
struct HeldReading {
    clock: Arc<ManualClock>,
    held: Mutex<Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>>,
}

impl mcpstore_errors::Clock for HeldReading {
    fn now(&self) -> std::time::Instant {
        let now = self.clock.now();
        let held = self.held.lock().unwrap().take();
        if let Some((read, release)) = held {
            read.send(()).unwrap();
            release.recv().unwrap();
        }
        now
    }

    fn system_time(&self) -> std::time::SystemTime {
        self.clock.system_time()
    }
}

#[test]
fn a_store_that_read_the_clock_first_but_locked_last_does_not_replace_the_newer_value() {
    use std::sync::mpsc::channel;
    let (read_tx, read_rx) = channel();
    let (release_tx, release_rx) = channel();
    let clock = Arc::new(ManualClock::new());
    let held = Arc::new(HeldReading {
        clock: clock.clone(),
        held: Mutex::new(Some((read_tx, release_rx))),
    });
    let cache = Arc::new(ResponseCache::with_clock(
        Duration::from_secs(10),
        4,
        held.clone(),
    ));
    let slow = std::thread::spawn({
        let cache = cache.clone();
        move || cache.insert("files", "read at 0 s")
    });
    read_rx.recv().unwrap(); // the slow caller has read 0 s
    clock.advance(Duration::from_secs(5));
    cache.insert("files", "read at 5 s");
    release_tx.send(()).unwrap();
    slow.join().unwrap();

    assert_eq!(cache.get("files"), Some("read at 5 s"));
    clock.advance(Duration::from_secs(9)); // 14 s: fresh from 5 s, stale from 0 s
    assert_eq!(cache.get("files"), Some("read at 5 s"));
}

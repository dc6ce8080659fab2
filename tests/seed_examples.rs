//! The four examples of the MCPStore error-handling page, written with the attributes: retrying a
//! service start, the health check with `should_retry`, the tool list behind a cache and a
//! default, and the managed start whose errors are collected.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use mcpstore_errors::{
    ErrorKind, McpStoreError, RetryConfig, VirtualSleeper, collect_errors, fallback,
    global_collector, retry,
};
use serde_json::Value;

/// A stand-in for the MCPStore: known services and their tools, scripted outcomes for starts and
/// status checks, and a switch that takes it down.
#[derive(Debug)]
struct FakeStore {
    id: u32,
    tools: HashMap<String, Vec<String>>,
    starts: Mutex<VecDeque<Result<bool, McpStoreError>>>,
    statuses: Mutex<VecDeque<Result<&'static str, McpStoreError>>>,
    down: AtomicBool,
    calls: AtomicU32,
}

// The cache keys on the arguments; a store is the same store while its id is.
impl Hash for FakeStore {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PartialEq for FakeStore {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for FakeStore {}

// Not `Clone`: `#[fallback(cache)]` keys a store argument by its id.
impl mcpstore_errors::CacheIdentity for FakeStore {
    type Id = u32;
    fn cache_identity(&self) -> u32 {
        self.id
    }
}

impl FakeStore {
    fn new(id: u32) -> Self {
        let tools = HashMap::from([
            (
                "filesystem".to_string(),
                vec!["read_file".to_string(), "write_file".to_string()],
            ),
            ("git".to_string(), vec!["git_log".to_string()]),
        ]);
        FakeStore {
            id,
            tools,
            starts: Mutex::default(),
            statuses: Mutex::default(),
            down: AtomicBool::new(false),
            calls: AtomicU32::new(0),
        }
    }

    fn script_starts(&self, outcomes: impl IntoIterator<Item = Result<bool, McpStoreError>>) {
        self.starts.lock().unwrap().extend(outcomes);
    }

    fn script_statuses(
        &self,
        outcomes: impl IntoIterator<Item = Result<&'static str, McpStoreError>>,
    ) {
        self.statuses.lock().unwrap().extend(outcomes);
    }

    fn calls(&self) -> u32 {
        self.calls.swap(0, Ordering::SeqCst)
    }

    fn start_service(&self, name: &str) -> Result<bool, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.tools.contains_key(name) {
            return Err(McpStoreError::service_not_found(name));
        }
        self.starts.lock().unwrap().pop_front().unwrap_or(Ok(true))
    }

    fn get_service_status(&self, name: &str) -> Result<&'static str, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.tools.contains_key(name) {
            return Err(McpStoreError::service_not_found(name));
        }
        self.statuses
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok("running"))
    }

    fn list_tools(&self, service_name: &str) -> Result<Vec<String>, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(McpStoreError::connection("store unreachable"));
        }
        self.tools
            .get(service_name)
            .cloned()
            .ok_or_else(|| McpStoreError::service_not_found(service_name))
    }
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

// ---------------------------------------------------------------------------------------------
// @retry(max_attempts=3, delay=1.0, exceptions=(ServiceStartError, ServiceTimeoutError))

static START_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

/// The attribute's defaults, sleeping on a virtual clock.
fn start_policy() -> RetryConfig {
    RetryConfig::attribute_default().sleeper(START_SLEEPER.clone())
}

#[retry(
    config = start_policy(),
    max_attempts = 3,
    delay = 1.0,
    on = [ServiceStart, ServiceTimeout]
)]
fn start_service_with_retry(store: &FakeStore, service_name: &str) -> Result<bool, McpStoreError> {
    store.start_service(service_name)
}

#[test]
fn start_service_with_retry_retries_start_failures_but_not_a_missing_service() {
    let store = FakeStore::new(1);

    // Fails twice to start, then starts: two waits of 1 s and 2 s, each ±25 %.
    store.script_starts([
        Err(McpStoreError::service_start_failed(
            "filesystem",
            "port busy",
        )),
        Err(McpStoreError::service_start_failed(
            "filesystem",
            "port busy",
        )),
        Ok(true),
    ]);
    assert!(start_service_with_retry(&store, "filesystem").unwrap());
    assert_eq!(store.calls(), 3);
    let delays = START_SLEEPER.delays();
    assert_eq!(delays.len(), 2, "{delays:?}");
    assert!(
        (Duration::from_millis(750)..=Duration::from_millis(1250)).contains(&delays[0]),
        "{delays:?}"
    );
    assert!(
        (Duration::from_millis(1500)..=Duration::from_millis(2500)).contains(&delays[1]),
        "{delays:?}"
    );
    START_SLEEPER.clear();

    // A missing service is not in the list: one call, no wait.
    let error = start_service_with_retry(&store, "nonexistent_service").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(error.to_string(), "Service 'nonexistent_service' not found");
    assert_eq!(store.calls(), 1);
    assert!(START_SLEEPER.delays().is_empty());

    // Timeouts are retried until the attempts run out; the last error comes back.
    store.script_starts([
        Err(McpStoreError::service_timeout("filesystem", secs(5))),
        Err(McpStoreError::service_timeout("filesystem", secs(5))),
        Err(McpStoreError::service_start_failed("filesystem", "last")),
    ]);
    let error = start_service_with_retry(&store, "filesystem").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceStart);
    assert_eq!(error.details()["reason"], "last");
    assert_eq!(store.calls(), 3);
    assert_eq!(START_SLEEPER.delays().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// RetryConfig(max_attempts=5, strategy=EXPONENTIAL, base_delay=1.0, max_delay=30.0,
//             exceptions=(ServiceError, ConnectionError), should_retry=lambda result: not result)

static HEALTH_SLEEPER: LazyLock<Arc<VirtualSleeper>> = LazyLock::new(Default::default);

fn health_policy() -> RetryConfig {
    RetryConfig::attribute_default().sleeper(HEALTH_SLEEPER.clone())
}

#[retry(
    config = health_policy(),
    max_attempts = 5,
    strategy = exponential,
    delay = "1s",
    max_delay = "30s",
    jitter = false,
    on = [Service, Connection],
    retry_if_result = |ok: &bool| !*ok
)]
fn check_service_health(store: &FakeStore, service_name: &str) -> Result<bool, McpStoreError> {
    let status = store.get_service_status(service_name)?;
    Ok(status == "running")
}

#[test]
fn check_service_health_retries_errors_and_unhealthy_results() {
    let store = FakeStore::new(2);

    // Errors of the listed kinds and `false` results are retried alike: waits 1, 2, 4, 8 s.
    store.script_statuses([
        Err(McpStoreError::connection("refused")),
        Ok("starting"),
        Err(McpStoreError::service_timeout("filesystem", secs(3))),
        Ok("starting"),
        Ok("running"),
    ]);
    assert!(check_service_health(&store, "filesystem").unwrap());
    assert_eq!(store.calls(), 5);
    assert_eq!(
        HEALTH_SLEEPER.delays(),
        [secs(1), secs(2), secs(4), secs(8)]
    );
    HEALTH_SLEEPER.clear();

    // Never healthy: the last `false` is the answer after five checks.
    store.script_statuses(std::iter::repeat_n(Ok("stopped"), 5));
    assert!(!check_service_health(&store, "filesystem").unwrap());
    assert_eq!(store.calls(), 5);
    assert_eq!(HEALTH_SLEEPER.delays().len(), 4);
    HEALTH_SLEEPER.clear();

    // An error outside ServiceError and ConnectionError is not retried.
    store.script_statuses([Err(McpStoreError::tool_execution_failed(
        "status", "crashed", None,
    ))]);
    let error = check_service_health(&store, "filesystem").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ToolExecution);
    assert_eq!(store.calls(), 1);
    assert!(HEALTH_SLEEPER.delays().is_empty());
}

// ---------------------------------------------------------------------------------------------
// FallbackManager with CacheFallback(cache_duration=600) and DefaultValueFallback([])

#[fallback(cache(ttl = "10m"), default)]
fn get_service_tools(store: &FakeStore, service_name: &str) -> Result<Vec<String>, McpStoreError> {
    store.list_tools(service_name)
}

#[test]
fn get_service_tools_falls_back_to_the_cache_then_to_an_empty_list() {
    let store = FakeStore::new(3);
    assert_eq!(
        get_service_tools(&store, "filesystem").unwrap(),
        ["read_file", "write_file"]
    );

    store.down.store(true, Ordering::SeqCst);
    // The store is asked first, fails, and the cached list is served.
    assert_eq!(
        get_service_tools(&store, "filesystem").unwrap(),
        ["read_file", "write_file"]
    );
    assert_eq!(store.calls(), 2);
    // Never listed before: nothing cached, so the default, an empty list.
    assert!(get_service_tools(&store, "git").unwrap().is_empty());
    // Another store is another key.
    let other = FakeStore::new(4);
    other.down.store(true, Ordering::SeqCst);
    assert!(get_service_tools(&other, "filesystem").unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// @collect_errors(context={"operation": "service_management"})

#[collect_errors(context = {"operation": "service_management"})]
fn managed_start_service(store: &FakeStore, service_name: &str) -> Result<bool, McpStoreError> {
    store.start_service(service_name)
}

#[test]
fn managed_start_service_collects_the_error_and_returns_it_unchanged() {
    let store = FakeStore::new(5);
    assert!(managed_start_service(&store, "filesystem").unwrap());

    let error = managed_start_service(&store, "nonexistent_service").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceNotFound);
    assert_eq!(error.to_string(), "Service 'nonexistent_service' not found");
    assert_eq!(error.details()["service_name"], "nonexistent_service");

    // This is the only test of this binary that reaches the global collector.
    let records: Vec<Value> = global_collector()
        .records()
        .iter()
        .map(|record| serde_json::to_value(record).unwrap())
        .collect();
    assert_eq!(records.len(), 1, "{records:#?}");
    let record = &records[0];
    assert_eq!(record["error_type"], "ServiceNotFoundError");
    assert_eq!(record["error_code"], "SERVICE_NOT_FOUND");
    assert_eq!(
        record["error_message"],
        "Service 'nonexistent_service' not found"
    );
    assert_eq!(record["details"]["service_name"], "nonexistent_service");
    assert_eq!(record["context"]["operation"], "service_management");
    assert_eq!(
        record["context"]["function"],
        format!("{}::managed_start_service", module_path!())
    );

    let summary = global_collector().summary(Duration::from_secs(24 * 3600));
    assert_eq!(summary.total_errors, 1);
    assert_eq!(summary.error_types["ServiceNotFoundError"], 1);
    assert_eq!(summary.error_codes["SERVICE_NOT_FOUND"], 1);
}

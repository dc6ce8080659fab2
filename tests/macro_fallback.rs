//! `#[fallback]`: the cache, default values, alternatives and recovery, tried in the order
//! written, and the original error when every one fails.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use mcpstore_errors::{CacheIdentity, ErrorKind, ManualClock, McpStoreError, fallback};

/// A service whose availability a test switches, counting the calls it answers.
#[derive(Debug)]
struct Backend {
    up: AtomicBool,
    calls: AtomicU32,
}

impl Backend {
    const fn new() -> Self {
        Backend {
            up: AtomicBool::new(true),
            calls: AtomicU32::new(0),
        }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// `["<service>.read", "<service>.write"]` while up, a connection error while down.
    fn list_tools(&self, service: &str) -> Result<Vec<String>, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.up.load(Ordering::SeqCst) {
            Ok(vec![format!("{service}.read"), format!("{service}.write")])
        } else {
            Err(McpStoreError::connection(format!(
                "backend down for {service}"
            )))
        }
    }
}

fn tools(service: &str) -> Vec<String> {
    vec![format!("{service}.read"), format!("{service}.write")]
}

// ---------------------------------------------------------------------------------------------
// default

#[fallback(default)]
fn tools_or_empty(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    backend.list_tools(service)
}

#[test]
fn default_returns_the_value_while_the_function_succeeds() {
    let backend = Backend::new();
    assert_eq!(tools_or_empty(&backend, "fs").unwrap(), tools("fs"));
    assert_eq!(backend.calls(), 1);
}

#[test]
fn default_serves_the_default_value_when_the_function_fails() {
    let backend = Backend::new();
    backend.set_up(false);
    assert_eq!(
        tools_or_empty(&backend, "fs").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(backend.calls(), 1);
}

static DEFAULT_EVALUATIONS: AtomicU32 = AtomicU32::new(0);

fn placeholder_tools() -> Vec<String> {
    DEFAULT_EVALUATIONS.fetch_add(1, Ordering::SeqCst);
    vec!["placeholder".to_string()]
}

#[fallback(default = placeholder_tools())]
fn tools_or_placeholder(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    backend.list_tools(service)
}

#[test]
fn default_expression_is_served_on_failure_and_evaluated_only_then() {
    let backend = Backend::new();
    assert_eq!(tools_or_placeholder(&backend, "fs").unwrap(), tools("fs"));
    assert_eq!(DEFAULT_EVALUATIONS.load(Ordering::SeqCst), 0);

    backend.set_up(false);
    assert_eq!(
        tools_or_placeholder(&backend, "fs").unwrap(),
        ["placeholder"]
    );
    assert_eq!(DEFAULT_EVALUATIONS.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// with: an alternative called with the same arguments

static BACKUP_ARGUMENTS: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());
static BACKUP_UP: AtomicBool = AtomicBool::new(true);

fn page_from_backup(service: String, page: u32) -> Result<Vec<String>, McpStoreError> {
    BACKUP_ARGUMENTS
        .lock()
        .unwrap()
        .push((service.clone(), page));
    if BACKUP_UP.load(Ordering::SeqCst) {
        Ok(vec![format!("{service} page {page} from backup")])
    } else {
        Err(McpStoreError::connection("backup down too"))
    }
}

static PRIMARY_UP: AtomicBool = AtomicBool::new(true);
static PRIMARY_CALLS: AtomicU32 = AtomicU32::new(0);

#[fallback(with = page_from_backup)]
fn page(service: String, page: u32) -> Result<Vec<String>, McpStoreError> {
    PRIMARY_CALLS.fetch_add(1, Ordering::SeqCst);
    if PRIMARY_UP.load(Ordering::SeqCst) {
        Ok(vec![format!("{service} page {page}")])
    } else {
        Err(McpStoreError::connection(format!(
            "primary down for {service}"
        )))
    }
}

// One test drives `page` through its states, so that the statics above see one sequence.
#[test]
fn with_calls_the_alternative_with_the_same_arguments_only_after_a_failure() {
    assert_eq!(page("fs".to_string(), 2).unwrap(), ["fs page 2"]);
    assert!(BACKUP_ARGUMENTS.lock().unwrap().is_empty());

    PRIMARY_UP.store(false, Ordering::SeqCst);
    assert_eq!(
        page("git".to_string(), 7).unwrap(),
        ["git page 7 from backup"]
    );
    assert_eq!(*BACKUP_ARGUMENTS.lock().unwrap(), [("git".to_string(), 7)]);

    // Both down: the ORIGINAL error comes back, not the alternative's.
    BACKUP_UP.store(false, Ordering::SeqCst);
    let error = page("db".to_string(), 1).unwrap_err();
    assert_eq!(error.message(), "primary down for db");
    assert_eq!(BACKUP_ARGUMENTS.lock().unwrap().len(), 2);
    assert_eq!(PRIMARY_CALLS.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------------------------------------
// recover: the same arguments plus the error

static RECOVERED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn describe_failure(
    backend: &Backend,
    service: &str,
    error: &McpStoreError,
) -> Result<Vec<String>, McpStoreError> {
    let _ = backend;
    RECOVERED
        .lock()
        .unwrap()
        .push((service.to_string(), error.message().to_string()));
    Ok(vec![format!("unavailable: {}", error.code())])
}

#[fallback(recover = describe_failure)]
fn tools_or_description(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    backend.list_tools(service)
}

#[test]
fn recover_receives_the_arguments_and_the_error() {
    let backend = Backend::new();
    assert_eq!(tools_or_description(&backend, "fs").unwrap(), tools("fs"));
    assert!(RECOVERED.lock().unwrap().is_empty());

    backend.set_up(false);
    assert_eq!(
        tools_or_description(&backend, "git").unwrap(),
        ["unavailable: CONNECTION_ERROR"]
    );
    assert_eq!(
        *RECOVERED.lock().unwrap(),
        [("git".to_string(), "backend down for git".to_string())]
    );
}

fn refuse_to_recover(
    backend: &Backend,
    service: &str,
    error: &McpStoreError,
) -> Result<Vec<String>, McpStoreError> {
    let _ = (backend, error);
    Err(McpStoreError::service_not_found(service))
}

#[fallback(recover = refuse_to_recover)]
fn tools_unrecoverable(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    backend.list_tools(service)
}

#[test]
fn a_failed_recovery_returns_the_original_error() {
    let backend = Backend::new();
    backend.set_up(false);
    let error = tools_unrecoverable(&backend, "fs").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection);
    assert_eq!(error.message(), "backend down for fs");
}

// ---------------------------------------------------------------------------------------------
// Order

static ORDER_LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn failing_alternative(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    let _ = backend;
    ORDER_LOG.lock().unwrap().push("with");
    Err(McpStoreError::connection(format!(
        "alternative down for {service}"
    )))
}

fn logged_recovery(
    backend: &Backend,
    service: &str,
    error: &McpStoreError,
) -> Result<Vec<String>, McpStoreError> {
    let _ = (backend, service, error);
    ORDER_LOG.lock().unwrap().push("recover");
    Ok(vec!["recovered".to_string()])
}

fn logged_default() -> Vec<String> {
    ORDER_LOG.lock().unwrap().push("default");
    vec!["default".to_string()]
}

#[fallback(with = failing_alternative, recover = logged_recovery, default = logged_default())]
fn chain_in_order(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    ORDER_LOG.lock().unwrap().push("original");
    backend.list_tools(service)
}

#[fallback(recover = logged_recovery, with = failing_alternative)]
fn recover_first(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    ORDER_LOG.lock().unwrap().push("original");
    backend.list_tools(service)
}

#[test]
fn strategies_are_tried_in_the_order_written_until_one_succeeds() {
    let backend = Backend::new();
    backend.set_up(false);

    assert_eq!(chain_in_order(&backend, "fs").unwrap(), ["recovered"]);
    assert_eq!(
        std::mem::take(&mut *ORDER_LOG.lock().unwrap()),
        ["original", "with", "recover"]
    );

    assert_eq!(recover_first(&backend, "fs").unwrap(), ["recovered"]);
    assert_eq!(
        std::mem::take(&mut *ORDER_LOG.lock().unwrap()),
        ["original", "recover"]
    );
}

// ---------------------------------------------------------------------------------------------
// cache

static CACHED_BACKEND: Backend = Backend::new();

#[fallback(cache(ttl = "10m"))]
fn cached_tools(service: &str) -> Result<Vec<String>, McpStoreError> {
    CACHED_BACKEND.list_tools(service)
}

#[test]
fn cache_serves_the_last_success_for_the_same_arguments() {
    assert_eq!(cached_tools("fs").unwrap(), tools("fs"));

    CACHED_BACKEND.set_up(false);
    assert_eq!(cached_tools("fs").unwrap(), tools("fs"));
    // The function is still called first: the cache is a fallback, not a memo.
    assert_eq!(CACHED_BACKEND.calls(), 2);

    // Nothing cached for other arguments, and no other strategy: the original error.
    let error = cached_tools("git").unwrap_err();
    assert_eq!(error.message(), "backend down for git");
}

static UPDATED_UP: AtomicBool = AtomicBool::new(true);
static UPDATED_VERSION: AtomicU32 = AtomicU32::new(0);

#[fallback(cache(ttl = "10m"))]
fn versioned(service: &str) -> Result<String, McpStoreError> {
    if UPDATED_UP.load(Ordering::SeqCst) {
        let version = UPDATED_VERSION.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(format!("{service} v{version}"))
    } else {
        Err(McpStoreError::connection("down"))
    }
}

#[test]
fn cache_keeps_the_newest_success() {
    assert_eq!(versioned("fs").unwrap(), "fs v1");
    assert_eq!(versioned("fs").unwrap(), "fs v2");
    UPDATED_UP.store(false, Ordering::SeqCst);
    assert_eq!(versioned("fs").unwrap(), "fs v2");
}

static SHORT_TTL_BACKEND: Backend = Backend::new();

#[fallback(cache(ttl = "1ms"))]
fn short_lived(service: &str) -> Result<Vec<String>, McpStoreError> {
    SHORT_TTL_BACKEND.list_tools(service)
}

#[test]
fn cache_entries_expire_after_their_ttl() {
    // Every cache of this test binary now ages by this clock, which only moves when told; the
    // other tests' entries live for minutes, so a frozen clock changes nothing for them.
    static CLOCK: ManualClock = ManualClock::new();
    mcpstore_errors::set_fn_cache_clock(&CLOCK);
    assert_eq!(short_lived("fs").unwrap(), tools("fs"));
    SHORT_TTL_BACKEND.set_up(false);
    assert_eq!(
        short_lived("fs").unwrap(),
        tools("fs"),
        "served while fresh"
    );
    CLOCK.advance(Duration::from_millis(1));
    let error = short_lived("fs").unwrap_err();
    assert_eq!(error.message(), "backend down for fs");
}

static SMALL_CACHE_BACKEND: Backend = Backend::new();

#[fallback(cache(ttl = "10m", capacity = 1))]
fn small_cache(service: &str) -> Result<Vec<String>, McpStoreError> {
    SMALL_CACHE_BACKEND.list_tools(service)
}

#[test]
fn cache_holds_at_most_capacity_entries() {
    assert_eq!(small_cache("fs").unwrap(), tools("fs"));
    assert_eq!(small_cache("git").unwrap(), tools("git"));
    SMALL_CACHE_BACKEND.set_up(false);
    // One entry only: the newer one stays, the older one is gone.
    assert_eq!(small_cache("git").unwrap(), tools("git"));
    assert!(small_cache("fs").is_err());
}

static PAGES_UP: AtomicBool = AtomicBool::new(true);

#[fallback(cache(ttl = "10m"))]
fn cached_page(service: String, page: u32) -> Result<String, McpStoreError> {
    if PAGES_UP.load(Ordering::SeqCst) {
        Ok(format!("{service}#{page}"))
    } else {
        Err(McpStoreError::connection("down"))
    }
}

#[test]
fn cache_keys_on_every_argument() {
    assert_eq!(cached_page("fs".into(), 1).unwrap(), "fs#1");
    assert_eq!(cached_page("fs".into(), 2).unwrap(), "fs#2");
    PAGES_UP.store(false, Ordering::SeqCst);
    assert_eq!(cached_page("fs".into(), 2).unwrap(), "fs#2");
    assert_eq!(cached_page("fs".into(), 1).unwrap(), "fs#1");
    assert!(cached_page("fs".into(), 3).is_err());
    assert!(cached_page("git".into(), 1).is_err());
}

static SHARED_NAME_UP: AtomicBool = AtomicBool::new(true);

#[fallback(cache(ttl = "10m"))]
fn first_cached(service: &str) -> Result<String, McpStoreError> {
    if SHARED_NAME_UP.load(Ordering::SeqCst) {
        Ok(format!("first {service}"))
    } else {
        Err(McpStoreError::connection("first down"))
    }
}

#[fallback(cache(ttl = "10m"))]
fn second_cached(service: &str) -> Result<String, McpStoreError> {
    if SHARED_NAME_UP.load(Ordering::SeqCst) {
        Ok(format!("second {service}"))
    } else {
        Err(McpStoreError::connection("second down"))
    }
}

#[test]
fn each_function_has_its_own_cache() {
    assert_eq!(first_cached("fs").unwrap(), "first fs");
    SHARED_NAME_UP.store(false, Ordering::SeqCst);
    assert_eq!(first_cached("fs").unwrap(), "first fs");
    // Same argument, other function: never served the first one's value.
    assert_eq!(second_cached("fs").unwrap_err().message(), "second down");
}

static CHAIN_BACKEND: Backend = Backend::new();

#[fallback(cache(ttl = "10m"), default = vec!["offline".to_string()])]
fn cache_then_default(service: &str) -> Result<Vec<String>, McpStoreError> {
    CHAIN_BACKEND.list_tools(service)
}

#[test]
fn a_cache_miss_falls_through_to_the_next_strategy() {
    assert_eq!(cache_then_default("fs").unwrap(), tools("fs"));
    CHAIN_BACKEND.set_up(false);
    assert_eq!(cache_then_default("fs").unwrap(), tools("fs"));
    assert_eq!(cache_then_default("git").unwrap(), ["offline"]);
}

// ---------------------------------------------------------------------------------------------
// async fn

async fn async_backup(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    let _ = backend;
    tokio::task::yield_now().await;
    Ok(vec![format!("{service} from async backup")])
}

#[fallback(with = async_backup)]
async fn async_tools(backend: &Backend, service: &str) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    backend.list_tools(service)
}

#[fallback(cache(ttl = "10m"), default)]
async fn async_cached(service: String) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    ASYNC_CACHED_BACKEND.list_tools(&service)
}

static ASYNC_CACHED_BACKEND: Backend = Backend::new();

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn async_fn_falls_back_to_an_async_alternative() {
    let backend = Backend::new();
    let future = async_tools(&backend, "fs");
    assert_send(&future);
    assert_eq!(future.await.unwrap(), tools("fs"));

    backend.set_up(false);
    assert_eq!(
        async_tools(&backend, "fs").await.unwrap(),
        ["fs from async backup"]
    );
}

#[tokio::test]
async fn async_fn_cache_then_default() {
    let future = async_cached("fs".to_string());
    assert_send(&future);
    assert_eq!(future.await.unwrap(), tools("fs"));
    ASYNC_CACHED_BACKEND.set_up(false);
    assert_eq!(async_cached("fs".to_string()).await.unwrap(), tools("fs"));
    assert!(async_cached("git".to_string()).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Methods: `Self::` paths

#[derive(Debug)]
struct ToolDirectory {
    primary: Backend,
    backup_calls: AtomicU32,
    failures: Mutex<Vec<String>>,
}

impl ToolDirectory {
    fn new() -> Self {
        ToolDirectory {
            primary: Backend::new(),
            backup_calls: AtomicU32::new(0),
            failures: Mutex::new(Vec::new()),
        }
    }

    #[fallback(with = Self::list_tools_from_backup)]
    fn list_tools(&self, service: &str) -> Result<Vec<String>, McpStoreError> {
        self.primary.list_tools(service)
    }

    fn list_tools_from_backup(&self, service: &str) -> Result<Vec<String>, McpStoreError> {
        self.backup_calls.fetch_add(1, Ordering::SeqCst);
        Ok(vec![format!("{service}.backup")])
    }

    #[fallback(recover = Self::on_failure)]
    fn count_tools(&self, service: &str) -> Result<usize, McpStoreError> {
        Ok(self.primary.list_tools(service)?.len())
    }

    fn on_failure(&self, service: &str, error: &McpStoreError) -> Result<usize, McpStoreError> {
        self.failures
            .lock()
            .unwrap()
            .push(format!("{service}: {error}"));
        Ok(0)
    }
}

#[test]
fn methods_fall_back_to_other_methods_of_self() {
    let directory = ToolDirectory::new();
    assert_eq!(directory.list_tools("fs").unwrap(), tools("fs"));
    assert_eq!(directory.count_tools("fs").unwrap(), 2);
    assert_eq!(directory.backup_calls.load(Ordering::SeqCst), 0);

    directory.primary.set_up(false);
    assert_eq!(directory.list_tools("fs").unwrap(), ["fs.backup"]);
    assert_eq!(directory.backup_calls.load(Ordering::SeqCst), 1);
    assert_eq!(directory.count_tools("git").unwrap(), 0);
    assert_eq!(
        *directory.failures.lock().unwrap(),
        ["git: backend down for git"]
    );
}

// ---------------------------------------------------------------------------------------------
// Methods: the cache is per instance, told apart by its `CacheIdentity` or by its value

/// A service whose tools are named after it; `Backend` decides whether it answers.
#[derive(Debug)]
struct NamedService {
    name: &'static str,
    backend: Backend,
}

impl CacheIdentity for NamedService {
    type Id = &'static str;
    fn cache_identity(&self) -> &'static str {
        self.name
    }
}

impl NamedService {
    const fn new(name: &'static str) -> Self {
        NamedService {
            name,
            backend: Backend::new(),
        }
    }

    #[fallback(cache(ttl = "10m"))]
    fn list_tools(&self) -> Result<Vec<String>, McpStoreError> {
        self.backend.list_tools(self.name)
    }

    #[fallback(cache(ttl = "10m"))]
    fn list_tools_mut(&mut self) -> Result<Vec<String>, McpStoreError> {
        self.backend.list_tools(self.name)
    }

    #[fallback(cache(ttl = "10m"))]
    fn list_tools_shared(self: std::sync::Arc<Self>) -> Result<Vec<String>, McpStoreError> {
        self.backend.list_tools(self.name)
    }
}

#[test]
fn a_method_cache_never_serves_one_instance_the_entries_of_another() {
    let fs = NamedService::new("fs");
    let git = NamedService::new("git");
    assert_eq!(fs.list_tools().unwrap(), tools("fs"));
    git.backend.set_up(false);
    assert_eq!(
        git.list_tools().unwrap_err().message(),
        "backend down for git"
    );
    fs.backend.set_up(false);
    assert_eq!(fs.list_tools().unwrap(), tools("fs"), "its own entry");
}

#[test]
fn a_mut_self_method_cache_is_per_instance() {
    let mut fs = NamedService::new("fs");
    let mut git = NamedService::new("git");
    assert_eq!(fs.list_tools_mut().unwrap(), tools("fs"));
    git.backend.set_up(false);
    assert!(git.list_tools_mut().is_err());
    fs.backend.set_up(false);
    assert_eq!(fs.list_tools_mut().unwrap(), tools("fs"));
}

#[test]
fn a_smart_pointer_receiver_keys_on_the_instance_it_points_to() {
    let fs = std::sync::Arc::new(NamedService::new("fs"));
    let git = std::sync::Arc::new(NamedService::new("git"));
    assert_eq!(fs.clone().list_tools_shared().unwrap(), tools("fs"));
    git.backend.set_up(false);
    assert!(git.clone().list_tools_shared().is_err());
    fs.backend.set_up(false);
    // Another `Arc` to the same instance: the same entry.
    assert_eq!(fs.clone().list_tools_shared().unwrap(), tools("fs"));
}

static BY_VALUE_UP: AtomicBool = AtomicBool::new(true);

/// A receiver taken by value is keyed by its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ServiceName(&'static str);

impl ServiceName {
    #[fallback(cache(ttl = "10m"))]
    fn into_tools(self) -> Result<Vec<String>, McpStoreError> {
        if BY_VALUE_UP.load(Ordering::SeqCst) {
            Ok(tools(self.0))
        } else {
            Err(McpStoreError::connection(format!("down for {}", self.0)))
        }
    }
}

static PLAIN_NAME_UP: AtomicBool = AtomicBool::new(true);

/// Neither identified nor special: keyed by its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PlainName(&'static str);

impl PlainName {
    #[fallback(cache(ttl = "10m"))]
    fn tools(&self) -> Result<Vec<String>, McpStoreError> {
        if PLAIN_NAME_UP.load(Ordering::SeqCst) {
            Ok(tools(self.0))
        } else {
            Err(McpStoreError::connection(format!("down for {}", self.0)))
        }
    }
}

/// Each call's instance is a temporary in this function's frame: one address for all.
#[inline(never)]
fn tools_of_a_temporary(name: &'static str) -> Result<Vec<String>, McpStoreError> {
    PlainName(name).tools()
}

#[test]
fn instances_at_one_address_in_turn_are_told_apart_by_value() {
    assert_eq!(tools_of_a_temporary("mail").unwrap(), tools("mail"));
    PLAIN_NAME_UP.store(false, Ordering::SeqCst);
    // Keyed by address, "chat" would be served "mail"'s entry.
    assert_eq!(
        tools_of_a_temporary("chat").unwrap_err().message(),
        "down for chat"
    );
    assert_eq!(tools_of_a_temporary("mail").unwrap(), tools("mail"));
}

#[test]
fn a_by_value_receiver_keys_on_its_value() {
    assert_eq!(ServiceName("fs").into_tools().unwrap(), tools("fs"));
    BY_VALUE_UP.store(false, Ordering::SeqCst);
    // An equal value, another instance: the same entry.
    assert_eq!(ServiceName("fs").into_tools().unwrap(), tools("fs"));
    assert_eq!(
        ServiceName("git").into_tools().unwrap_err().message(),
        "down for git"
    );
}

// One static cache serves every instantiation of a generic function; the generic arguments
// keep their entries apart.
trait Source {
    const NAME: &'static str;
}

struct Files;
struct Repos;

impl Source for Files {
    const NAME: &'static str = "files";
}

impl Source for Repos {
    const NAME: &'static str = "repos";
}

static GENERIC_BACKEND_UP: AtomicBool = AtomicBool::new(true);

#[fallback(cache(ttl = "10m"))]
fn load<S: Source>(name: &str) -> Result<String, McpStoreError> {
    if GENERIC_BACKEND_UP.load(Ordering::SeqCst) {
        Ok(format!("{}:{name}", S::NAME))
    } else {
        Err(McpStoreError::connection("backend down"))
    }
}

#[test]
fn instantiations_of_a_generic_function_never_share_cache_entries() {
    assert_eq!(load::<Files>("x").unwrap(), "files:x");
    GENERIC_BACKEND_UP.store(false, Ordering::SeqCst);
    assert_eq!(
        load::<Files>("x").unwrap(),
        "files:x",
        "served from the cache"
    );
    assert!(load::<Repos>("x").is_err(), "another instantiation's entry");
}

// ---- an argument an attribute's expression reads ----

/// Not `Clone`: a body that only borrows it still lets `default` read it, with no
/// `no_clone` needed (the body gets the original; nothing is copied).
struct Label(&'static str);

#[fallback(default = label.0.len())]
fn default_reads_a_borrowed_argument(label: Label) -> Result<usize, McpStoreError> {
    Err(McpStoreError::connection(label.0))
}

#[fallback(default = label.0.len())]
#[mcpstore_errors::circuit_breaker(service = "borrowed-argument")]
async fn default_reads_a_borrowed_argument_async(label: Label) -> Result<usize, McpStoreError> {
    Err(McpStoreError::connection(label.0))
}

#[test]
fn a_default_reads_an_argument_the_body_borrowed() {
    assert_eq!(default_reads_a_borrowed_argument(Label("abc")).unwrap(), 3);
    let answer = futures_block_on(default_reads_a_borrowed_argument_async(Label("abcd")));
    assert_eq!(answer.unwrap(), 4);
}

fn futures_block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

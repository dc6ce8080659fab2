//! The attributes on every form of function: free and `async`, methods with every receiver,
//! generics, lifetimes, `where` clauses, `impl Trait` arguments, trait impls, `#[async_trait]`,
//! visibilities; docs and other attributes survive.
// Docs and lint attributes on annotated items must survive: these turn their loss into errors.
#![deny(missing_docs)]
#![deny(unused_variables)]

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use mcpstore_errors::{ErrorCollector, McpStoreError, collect_errors, fallback, retry};

fn next_call(calls: &AtomicU32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst) + 1
}

fn start_failure(call: u32) -> McpStoreError {
    McpStoreError::service_start_failed("fs", format!("attempt {call}"))
}

/// Fails before call `succeed_at`, then returns the call's number.
fn fail_until(calls: &AtomicU32, succeed_at: u32) -> Result<u32, McpStoreError> {
    let call = next_call(calls);
    if call < succeed_at {
        Err(start_failure(call))
    } else {
        Ok(call)
    }
}

fn assert_send<T: Send>(_: &T) {}

// ---------------------------------------------------------------------------------------------
// Free functions, docs, attributes, visibility

/// Starts a service, retried. A public item: `missing_docs` proves the doc comment is kept.
#[retry(max_attempts = 3, delay = 0)]
#[allow(unused_variables)]
pub fn documented_and_allowed(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    // Only compiles while the `allow` above stays on the function with its body.
    let unused = 1;
    fail_until(calls, 3)
}

/// Documented, under `#[fallback]`, with another attribute before it.
#[allow(unused_variables)]
#[fallback(default)]
pub fn documented_fallback(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    let unused = 1;
    Err(start_failure(next_call(calls)))
}

/// Documented, under `#[collect_errors]`.
#[collect_errors(collector = &FORMS_COLLECTOR)]
#[allow(unused_variables)]
pub fn documented_collected(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    let unused = 1;
    Err(start_failure(next_call(calls)))
}

static FORMS_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[test]
fn free_functions_keep_docs_and_attributes() {
    let calls = AtomicU32::new(0);
    assert_eq!(documented_and_allowed(&calls).unwrap(), 3);
    let calls = AtomicU32::new(0);
    assert_eq!(documented_fallback(&calls).unwrap(), 0);
    let calls = AtomicU32::new(0);
    assert!(documented_collected(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

mod services {
    use super::*;

    #[retry(max_attempts = 2, delay = 0)]
    pub(crate) fn crate_visible(calls: &AtomicU32) -> Result<u32, McpStoreError> {
        fail_until(calls, 2)
    }

    #[fallback(default)]
    pub(super) fn parent_visible(calls: &AtomicU32) -> Result<u32, McpStoreError> {
        Err(start_failure(next_call(calls)))
    }

    #[collect_errors(collector = &FORMS_COLLECTOR)]
    pub(in crate::services) fn module_visible() -> Result<(), McpStoreError> {
        Ok(())
    }

    pub(crate) fn call_module_visible() -> Result<(), McpStoreError> {
        module_visible()
    }
}

#[test]
fn visibility_is_kept() {
    let calls = AtomicU32::new(0);
    assert_eq!(services::crate_visible(&calls).unwrap(), 2);
    assert_eq!(services::parent_visible(&calls).unwrap(), 0);
    assert!(services::call_module_visible().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Generics, lifetimes, `where` clauses, `impl Trait`

#[retry(max_attempts = 3, delay = 0)]
fn first_match<'a, T, P>(
    items: &'a [T],
    predicate: P,
    calls: &AtomicU32,
) -> Result<&'a T, McpStoreError>
where
    T: Debug + PartialEq,
    P: Fn(&T) -> bool + Clone,
{
    let call = next_call(calls);
    if call < 2 {
        return Err(start_failure(call));
    }
    items
        .iter()
        .find(|item| predicate(item))
        .ok_or_else(|| McpStoreError::tool_not_found(format!("{items:?}"), None))
}

#[test]
fn generics_with_lifetimes_and_where_clauses() {
    let calls = AtomicU32::new(0);
    let items = [1, 4, 9, 16];
    let found = first_match(&items, |n: &i32| *n > 5, &calls).unwrap();
    assert!(std::ptr::eq(found, &items[2]));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[retry(max_attempts = 3, delay = 0)]
fn with_impl_trait(
    name: impl Into<String> + Clone,
    sink: &mut impl Extend<String>,
    calls: &AtomicU32,
) -> Result<String, McpStoreError> {
    let name: String = name.into();
    let call = next_call(calls);
    sink.extend([format!("{name} {call}")]);
    if call < 3 {
        Err(start_failure(call))
    } else {
        Ok(name)
    }
}

#[test]
fn impl_trait_arguments() {
    let calls = AtomicU32::new(0);
    let mut sink = Vec::new();
    assert_eq!(with_impl_trait("fs", &mut sink, &calls).unwrap(), "fs");
    assert_eq!(sink, ["fs 1", "fs 2", "fs 3"]);
}

#[fallback(default)]
fn generic_default<T: Default + Clone, E>(result: Result<T, E>) -> Result<T, E>
where
    E: Clone,
{
    result
}

#[test]
fn generic_functions_under_fallback() {
    assert_eq!(generic_default::<u32, String>(Ok(4)).unwrap(), 4);
    assert_eq!(
        generic_default::<Vec<u8>, String>(Err("down".into())).unwrap(),
        Vec::<u8>::new()
    );
}

static GENERIC_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[collect_errors(collector = &GENERIC_COLLECTOR)]
fn generic_collected<'a, K>(key: &'a K) -> Result<&'a K, McpStoreError>
where
    K: Debug + ?Sized,
{
    Err(McpStoreError::configuration(format!("bad key {key:?}")))
}

#[test]
fn generic_functions_under_collect_errors() {
    let error = generic_collected("port").unwrap_err();
    assert_eq!(error.message(), "bad key \"port\"");
    assert_eq!(GENERIC_COLLECTOR.records().len(), 1);
}

#[retry(max_attempts = 3, delay = 0)]
async fn generic_async<T>(value: T, calls: &AtomicU32) -> Result<T, McpStoreError>
where
    T: Clone + Send,
{
    tokio::task::yield_now().await;
    fail_until(calls, 2).map(|_| value)
}

#[tokio::test]
async fn generic_async_functions() {
    let calls = AtomicU32::new(0);
    let future = generic_async(vec![1, 2], &calls);
    assert_send(&future);
    assert_eq!(future.await.unwrap(), [1, 2]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// Receivers: &self, &mut self, self: Arc<Self>, self

#[derive(Debug, Default, Clone)]
struct Service {
    name: String,
    starts: Arc<AtomicU32>,
}

#[derive(Debug, Default)]
struct Counter {
    attempts: u32,
    log: Vec<String>,
}

impl Service {
    fn named(name: &str) -> Self {
        Service {
            name: name.to_string(),
            starts: Arc::default(),
        }
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn start(&self, succeed_at: u32) -> Result<String, McpStoreError> {
        fail_until(&self.starts, succeed_at).map(|call| format!("{} on {call}", self.name))
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn start_shared(self: Arc<Self>, succeed_at: u32) -> Result<String, McpStoreError> {
        fail_until(&self.starts, succeed_at).map(|call| format!("{} shared on {call}", self.name))
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn start_owned(mut self, succeed_at: u32) -> Result<String, McpStoreError> {
        // Each attempt gets its own copy: the suffix never accumulates.
        self.name.push_str(" (owned)");
        fail_until(&self.starts, succeed_at).map(|call| format!("{} on {call}", self.name))
    }

    #[retry(max_attempts = 3, delay = 0)]
    async fn start_async(&self, succeed_at: u32) -> Result<String, McpStoreError> {
        tokio::task::yield_now().await;
        fail_until(&self.starts, succeed_at).map(|call| format!("{} async on {call}", self.name))
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn connect(name: &str, succeed_at: u32, calls: &AtomicU32) -> Result<Self, McpStoreError> {
        fail_until(calls, succeed_at).map(|_| Self::named(name))
    }
}

impl Counter {
    #[retry(max_attempts = 4, delay = 0)]
    fn bump(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        self.attempts += 1;
        self.log.push(format!("attempt {}", self.attempts));
        if self.attempts < succeed_at {
            Err(start_failure(self.attempts))
        } else {
            Ok(self.attempts)
        }
    }

    #[retry(max_attempts = 4, delay = 0)]
    async fn bump_async(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        tokio::task::yield_now().await;
        self.attempts += 1;
        if self.attempts < succeed_at {
            Err(start_failure(self.attempts))
        } else {
            Ok(self.attempts)
        }
    }

    #[fallback(default)]
    fn bump_or_zero(&mut self, fail: bool) -> Result<u32, McpStoreError> {
        self.attempts += 1;
        if fail {
            Err(start_failure(self.attempts))
        } else {
            Ok(self.attempts)
        }
    }

    #[collect_errors(collector = &RECEIVER_COLLECTOR)]
    fn bump_collected(&mut self) -> Result<u32, McpStoreError> {
        self.attempts += 1;
        Err(start_failure(self.attempts))
    }
}

static RECEIVER_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[test]
fn ref_self_methods() {
    let service = Service::named("fs");
    assert_eq!(service.start(3).unwrap(), "fs on 3");
    assert_eq!(service.starts.load(Ordering::SeqCst), 3);
}

#[test]
fn mut_self_methods_see_their_own_changes_across_attempts() {
    let mut counter = Counter::default();
    assert_eq!(counter.bump(3).unwrap(), 3);
    assert_eq!(counter.log, ["attempt 1", "attempt 2", "attempt 3"]);

    assert_eq!(counter.bump_or_zero(true).unwrap(), 0);
    assert_eq!(counter.bump_or_zero(false).unwrap(), 5);

    assert!(counter.bump_collected().is_err());
    assert_eq!(counter.attempts, 6);
    assert_eq!(RECEIVER_COLLECTOR.records().len(), 1);
}

#[tokio::test]
async fn async_mut_self_methods() {
    let mut counter = Counter::default();
    let future = counter.bump_async(2);
    assert_send(&future);
    assert_eq!(future.await.unwrap(), 2);
    assert_eq!(counter.attempts, 2);
}

#[test]
fn arc_self_methods() {
    let service = Arc::new(Service::named("fs"));
    assert_eq!(service.clone().start_shared(2).unwrap(), "fs shared on 2");
    assert_eq!(Arc::strong_count(&service), 1);
}

#[test]
fn owned_self_methods_get_a_fresh_copy_per_attempt() {
    let service = Service::named("fs");
    let starts = service.starts.clone();
    assert_eq!(service.start_owned(3).unwrap(), "fs (owned) on 3");
    assert_eq!(starts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn async_ref_self_methods() {
    let service = Service::named("fs");
    let future = service.start_async(2);
    assert_send(&future);
    assert_eq!(future.await.unwrap(), "fs async on 2");
}

#[test]
fn associated_functions_returning_self() {
    let calls = AtomicU32::new(0);
    let service = Service::connect("git", 2, &calls).unwrap();
    assert_eq!(service.name, "git");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

// Methods of a generic impl

#[derive(Debug)]
struct Pool<T> {
    items: Vec<T>,
    calls: AtomicU32,
}

impl<T: Clone + Debug> Pool<T> {
    #[retry(max_attempts = 3, delay = 0)]
    fn take<'a>(&'a self, index: usize) -> Result<&'a T, McpStoreError> {
        let call = next_call(&self.calls);
        if call < 2 {
            return Err(start_failure(call));
        }
        self.items
            .get(index)
            .ok_or_else(|| McpStoreError::tool_not_found(index.to_string(), None))
    }

    #[fallback(default)]
    fn first_or_default(&self) -> Result<T, McpStoreError>
    where
        T: Default,
    {
        self.items
            .first()
            .cloned()
            .ok_or_else(|| McpStoreError::configuration("empty pool"))
    }
}

#[test]
fn methods_of_generic_impls() {
    let pool = Pool {
        items: vec!["a".to_string(), "b".to_string()],
        calls: AtomicU32::new(0),
    };
    assert_eq!(pool.take(1).unwrap(), "b");
    assert_eq!(pool.calls.load(Ordering::SeqCst), 2);

    let empty: Pool<u8> = Pool {
        items: Vec::new(),
        calls: AtomicU32::new(0),
    };
    assert_eq!(empty.first_or_default().unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Trait impls

trait Lifecycle {
    fn start(&self, succeed_at: u32) -> Result<u32, McpStoreError>;
    fn stop(&mut self) -> Result<u32, McpStoreError>;
}

#[derive(Debug, Default)]
struct Process {
    starts: AtomicU32,
    stops: u32,
}

impl Lifecycle for Process {
    #[retry(max_attempts = 3, delay = 0)]
    fn start(&self, succeed_at: u32) -> Result<u32, McpStoreError> {
        fail_until(&self.starts, succeed_at)
    }

    #[fallback(default)]
    fn stop(&mut self) -> Result<u32, McpStoreError> {
        self.stops += 1;
        Err(McpStoreError::service_stop_failed("fs", "busy"))
    }
}

#[test]
fn trait_impl_methods() {
    let mut process = Process::default();
    assert_eq!(process.start(3).unwrap(), 3);
    assert_eq!(process.stop().unwrap(), 0);
    assert_eq!(process.stops, 1);

    let process: Box<dyn Lifecycle> = Box::new(Process::default());
    assert_eq!(process.start(2).unwrap(), 2);
}

// ---------------------------------------------------------------------------------------------
// #[async_trait]

#[async_trait]
trait RemoteService {
    async fn call(&self, tool: &str) -> Result<String, McpStoreError>;
    async fn reset(&mut self) -> Result<u32, McpStoreError>;
    async fn describe(&self) -> Result<String, McpStoreError>;
}

#[derive(Debug, Default)]
struct Remote {
    calls: AtomicU32,
    resets: u32,
}

static ASYNC_TRAIT_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[async_trait]
impl RemoteService for Remote {
    #[retry(max_attempts = 3, delay = 0)]
    async fn call(&self, tool: &str) -> Result<String, McpStoreError> {
        tokio::task::yield_now().await;
        let call = next_call(&self.calls);
        if call < 3 {
            Err(McpStoreError::connection(format!("{tool}: refused")))
        } else {
            Ok(format!("{tool} answered on {call}"))
        }
    }

    #[retry(max_attempts = 2, delay = 0)]
    async fn reset(&mut self) -> Result<u32, McpStoreError> {
        tokio::task::yield_now().await;
        self.resets += 1;
        if self.resets < 2 {
            Err(start_failure(self.resets))
        } else {
            Ok(self.resets)
        }
    }

    #[collect_errors(collector = &ASYNC_TRAIT_COLLECTOR)]
    #[fallback(default)]
    async fn describe(&self) -> Result<String, McpStoreError> {
        tokio::task::yield_now().await;
        Err(McpStoreError::connection("no description"))
    }
}

#[tokio::test]
async fn async_trait_methods() {
    let mut remote = Remote::default();
    assert_eq!(remote.call("read").await.unwrap(), "read answered on 3");
    assert_eq!(remote.reset().await.unwrap(), 2);
    assert_eq!(remote.describe().await.unwrap(), "");
    assert!(ASYNC_TRAIT_COLLECTOR.records().is_empty());

    let shared: Arc<dyn RemoteService + Send + Sync> = Arc::new(Remote::default());
    let task = tokio::spawn(async move { shared.call("write").await });
    assert_eq!(task.await.unwrap().unwrap(), "write answered on 3");
}

// ---------------------------------------------------------------------------------------------
// Futures stay Send

#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
#[collect_errors(collector = &SEND_COLLECTOR)]
async fn holds_data_across_awaits(
    name: String,
    shared: Arc<Mutex<Vec<String>>>,
) -> Result<usize, McpStoreError> {
    let local = format!("{name}!");
    tokio::task::yield_now().await;
    shared.lock().unwrap().push(local);
    let len = shared.lock().unwrap().len();
    if len < 2 {
        Err(start_failure(len as u32))
    } else {
        Ok(len)
    }
}

static SEND_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_futures_are_send_and_spawnable() {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let future = holds_data_across_awaits("fs".to_string(), shared.clone());
    assert_send(&future);
    assert_eq!(tokio::spawn(future).await.unwrap().unwrap(), 2);
    assert_eq!(*shared.lock().unwrap(), ["fs!", "fs!"]);
    assert_eq!(SEND_COLLECTOR.records().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// A receiver taken by value, named inside format strings

#[derive(Debug, Clone)]
struct Label(&'static str);

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&format!("label {}", self.0))
    }
}

static LABEL_CALLS: AtomicU32 = AtomicU32::new(0);

/// Fails the first call of each pair, so every method below runs twice.
fn every_second_call() -> Result<(), String> {
    match LABEL_CALLS.fetch_add(1, Ordering::SeqCst) % 2 {
        0 => Err("first try".to_string()),
        _ => Ok(()),
    }
}

impl Label {
    #[retry(max_attempts = 2, delay = 0)]
    fn show(self) -> Result<String, String> {
        every_second_call()?;
        Ok(format!("{self:?} / {self} / {{self}} / {}", self.0))
    }

    #[retry(max_attempts = 2, delay = 0)]
    fn show_raw(self) -> Result<String, String> {
        every_second_call()?;
        Ok(format!(r#"{self:>12} "{self:?}""#))
    }

    #[retry(max_attempts = 2, delay = 0)]
    fn show_shared(self: Arc<Self>) -> Result<Vec<String>, String> {
        every_second_call()?;
        Ok(vec![
            format!("{self}"),
            format!("{}", Arc::strong_count(&self)),
        ])
    }
}

#[test]
fn by_value_self_in_inline_format_arguments() {
    assert_eq!(
        Label("fs").show().unwrap(),
        r#"Label("fs") / label fs / {self} / fs"#
    );
    assert_eq!(
        Label("fs").show_raw().unwrap(),
        r#"    label fs "Label("fs")""#
    );
    let label = Arc::new(Label("git"));
    // Seen by the attempt: the caller's handle, the one kept for another attempt, its own.
    assert_eq!(label.clone().show_shared().unwrap(), ["label git", "3"]);
    assert_eq!(
        Arc::strong_count(&label),
        1,
        "every copy is dropped after the call"
    );
}

// ---------------------------------------------------------------------------------------------
// The return type through an alias of `Result`

type Outcome<T> = Result<T, McpStoreError>;
type Port = Result<u16, String>;

static ALIAS_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max_attempts = 3, delay = 0)]
fn through_a_generic_alias(succeed_at: u32) -> Outcome<u32> {
    let call = ALIAS_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if call < succeed_at {
        Err(start_failure(call))
    } else {
        Ok(call)
    }
}

#[collect_errors(collector = &ALIAS_COLLECTOR)]
#[fallback(default = 8080)]
#[retry(max_attempts = 2, delay = 0)]
fn through_a_plain_alias() -> Port {
    Err("closed".to_string())
}

static ALIAS_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

#[retry(max_attempts = 2, delay = 0)]
async fn async_through_an_alias() -> Outcome<&'static str> {
    tokio::task::yield_now().await;
    Ok("up")
}

// An alias whose value type is an `impl Trait`.
#[collect_errors(collector = &ALIAS_COLLECTOR)]
fn alias_of_an_impl() -> Outcome<impl std::fmt::Display> {
    Ok(7)
}

#[retry(max_attempts = 2, delay = 0)]
async fn async_alias_of_an_impl() -> Outcome<impl std::fmt::Display> {
    tokio::task::yield_now().await;
    Ok("seven")
}

#[tokio::test]
async fn a_result_alias_is_a_result() {
    assert_eq!(alias_of_an_impl().unwrap().to_string(), "7");
    assert_eq!(async_alias_of_an_impl().await.unwrap().to_string(), "seven");
    assert_eq!(through_a_generic_alias(3).unwrap(), 3);
    assert_eq!(ALIAS_CALLS.load(Ordering::SeqCst), 3);
    assert_eq!(through_a_plain_alias(), Ok(8080));
    assert!(ALIAS_COLLECTOR.records().is_empty());
    assert_eq!(async_through_an_alias().await.unwrap(), "up");
}

//! What the attributes' own expressions may read: the function's arguments (by an outer layer
//! after the retries, or by a later step of the same layer), the receiver whatever its form,
//! temporaries; and that the expansion leaves the user's strings and warnings alone.
#![deny(unused_variables)]

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, ErrorCollector, McpStoreError, circuit_breaker,
    collect_errors, fallback, retry, timeout,
};
use serde_json::json;

static COLLECTED: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));
static CALLS: AtomicU32 = AtomicU32::new(0);

// Every argument by value or `&T`: the retries take them as arguments of each run, and an
// outer layer still reads them after the retries.
#[collect_errors(collector = &COLLECTED, context = {"service": service})]
#[retry(max_attempts = 2, delay = 0, jitter = false)]
fn list_tools(service: String) -> Result<u32, McpStoreError> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection(format!("{service} down")))
}

#[test]
fn an_outer_layer_reads_an_argument_the_retries_were_handed() {
    assert!(list_tools("fs".to_owned()).is_err());
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    let records = COLLECTED.records();
    let record = records
        .iter()
        .find(|r| r.message() == "fs down")
        .expect("collected");
    assert_eq!(record.context()["service"], json!("fs"));
}

#[fallback(default = service.len() as u32)]
#[retry(max_attempts = 2, delay = 0, jitter = false)]
fn name_length(service: String) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("{service} down")))
}

fn from_mirror(code: String) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("mirror of {code} down")))
}

// The last `with` would take the original argument, but the default after it reads it.
#[fallback(with = from_mirror, default = code.len() as u32)]
fn code_length(code: String) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("{code} down")))
}

#[test]
fn a_default_reads_an_argument_after_the_retries_and_after_a_with() {
    assert_eq!(name_length("files".to_owned()).unwrap(), 5);
    assert_eq!(code_length("abc".to_owned()).unwrap(), 3);
}

// Read only by an outer layer's expression: neither the argument nor a run's copy of it is
// unused (this file denies `unused_variables`).
#[circuit_breaker(service = name, registry = &REGISTRY)]
#[retry(max_attempts = 2, delay = 0, jitter = false)]
fn guarded(name: String) -> Result<u32, McpStoreError> {
    Ok(1)
}

#[circuit_breaker(service = name, registry = &REGISTRY)]
#[retry(max_attempts = 2, delay = 0, jitter = false)]
async fn guarded_async(name: String) -> Result<u32, McpStoreError> {
    Ok(1)
}

static REGISTRY: LazyLock<BreakerRegistry> =
    LazyLock::new(|| BreakerRegistry::new(CircuitBreakerConfig::new()));

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn an_argument_only_an_attribute_reads_compiles_without_a_warning() {
    assert_eq!(guarded("fs".to_owned()).unwrap(), 1);
    assert_eq!(block_on(guarded_async("git".to_owned())).unwrap(), 1);
    assert!(REGISTRY.get("fs").is_some() && REGISTRY.get("git").is_some());
}

/// A formatting macro of the user's own.
macro_rules! shout {
    ($($format:tt)*) => {
        format!($($format)*).to_uppercase()
    };
}

/// A service whose methods take `self` in every form the attributes rename.
struct Service {
    name: &'static str,
    collector: ErrorCollector,
    registry: BreakerRegistry,
    fallback_value: u32,
    limit: Duration,
    calls: u32,
}

impl Service {
    fn new(name: &'static str) -> Self {
        Service {
            name,
            collector: ErrorCollector::new(10),
            registry: BreakerRegistry::new(CircuitBreakerConfig::new()),
            fallback_value: 7,
            limit: Duration::from_secs(60),
            calls: 0,
        }
    }

    fn label(&self) -> String {
        format!("svc-{}", self.name)
    }

    #[collect_errors(collector = &self.collector)]
    #[fallback(default = self.fallback_value)]
    #[retry(max_attempts = 2, delay = 0, jitter = false)]
    #[circuit_breaker(service = self.name, registry = &self.registry)]
    fn call_mut(&mut self) -> Result<u32, McpStoreError> {
        self.calls += 1;
        Err(McpStoreError::connection("refused"))
    }

    // A temporary: the breaker's name lives as long as the call.
    #[circuit_breaker(service = self.label(), registry = &self.registry)]
    fn labelled(&self) -> Result<u32, McpStoreError> {
        Ok(2)
    }

    #[circuit_breaker(service = format!("{}-{id}", self.name), registry = &self.registry)]
    fn numbered(&self, id: u32) -> Result<u32, McpStoreError> {
        Ok(id)
    }

    // Evaluated per call, so an instance's own limit is fine.
    #[timeout(after = self.limit)]
    async fn bounded(&mut self) -> Result<u32, McpStoreError> {
        self.calls += 1;
        Ok(self.calls)
    }

    #[retry(max_attempts = 2, delay = 0, jitter = false)]
    fn strings(&mut self) -> Result<Vec<String>, McpStoreError> {
        // A literal without a placeholder before the format string.
        assert_eq!(self.name, "fs", "wrong service on {self}");
        assert!(self.name < "z", "out of order: {self}");
        Ok(vec![
            stringify!(self).to_string(),
            "{self}".to_string(),
            String::from("literal {self} text"),
            format!("{self}"),
            format!("{self:>6}|{{self}}"),
            format!("{}", "{self}"),
            shout!("{self} down"),
        ])
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name)
    }
}

#[test]
fn a_mut_self_methods_attributes_read_self() {
    let mut service = Service::new("fs");
    assert_eq!(service.call_mut().unwrap(), 7);
    assert_eq!(service.calls, 2);
    assert_eq!(service.collector.records().len(), 0, "the default answered");
    assert!(service.registry.get("fs").is_some());
}

#[test]
fn a_breakers_service_may_be_a_temporary() {
    let service = Service::new("fs");
    assert_eq!(service.labelled().unwrap(), 2);
    assert_eq!(service.numbered(3).unwrap(), 3);
    assert!(service.registry.get("svc-fs").is_some());
    assert!(service.registry.get("fs-3").is_some());
}

#[test]
fn a_timeout_reads_the_instances_limit() {
    let mut service = Service::new("fs");
    assert_eq!(block_on(service.bounded()).unwrap(), 1);
}

#[test]
fn only_format_strings_name_the_renamed_receiver() {
    let mut service = Service::new("fs");
    assert_eq!(
        service.strings().unwrap(),
        [
            "self",
            "{self}",
            "literal {self} text",
            "fs",
            "    fs|{self}",
            "{self}",
            "FS DOWN"
        ]
    );
}

/// A receiver taken by value, which the attributes rename in the body.
#[derive(Clone)]
struct Owned;

impl Owned {
    #[retry(max_attempts = 2, delay = 0, jitter = false)]
    fn written(self) -> Result<(&'static str, &'static str), McpStoreError> {
        Ok((stringify!(self), stringify!(self.0, [self])))
    }
}

#[test]
fn stringify_shows_a_by_value_receiver_as_written() {
    assert_eq!(Owned.written().unwrap(), ("self", "self.0, [self]"));
}

mod policy {
    pub fn of(attempts: u32) -> mcpstore_errors::RetryConfig {
        mcpstore_errors::RetryConfig::new()
            .max_attempts(attempts)
            .base_delay(std::time::Duration::ZERO)
    }
}

struct Options {
    attempts: u32,
}

fn policy_from(options: Options) -> mcpstore_errors::RetryConfig {
    policy::of(options.attempts)
}

// Names that are an argument's only in spelling: a module path, a struct literal's field, a
// closure's parameter, a macro's tokens. The values are still evaluated once, without the
// argument.
#[retry(config = policy::of(2))]
fn through_a_module(policy: u32) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("down {policy}")))
}

#[retry(config = policy_from(Options { attempts: 2 }))]
fn through_a_field(attempts: u32) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("down {attempts}")))
}

#[retry(config = policy::of([1u32].iter().map(|attempts| attempts + 1).sum()))]
fn through_a_closure(attempts: u32) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("down {attempts}")))
}

#[retry(config = policy::of(stringify!(ab).len() as u32))]
fn through_a_macro(ab: u32) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("down {ab}")))
}

// A `cfg_attr` that only adds a lint takes no parameter away.
#[retry(max_attempts = 2, delay = 0, jitter = false)]
fn linted(
    #[cfg_attr(debug_assertions, allow(unused_mut))] value: u32,
) -> Result<u32, McpStoreError> {
    Ok(value)
}

#[test]
fn a_name_spelled_like_an_argument_is_not_taken_for_it() {
    for result in [
        through_a_module(9),
        through_a_field(9),
        through_a_closure(9),
        through_a_macro(9),
    ] {
        assert_eq!(result.unwrap_err().message(), "down 9");
    }
    assert_eq!(linted(3).unwrap(), 3);
}

// Names the value binds itself, shadowing an argument: a `let`, a `for`, an `if let` and a
// `match` arm. Each policy makes three attempts.
thread_local! {
    static SHADOWED_CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn shadowed_call(attempts: u32) -> Result<u32, McpStoreError> {
    SHADOWED_CALLS.with(|calls| calls.set(calls.get() + 1));
    Err(McpStoreError::connection(format!("down {attempts}")))
}

#[retry(config = { let attempts: u32 = 3; policy::of(attempts) })]
fn shadowed_by_let(attempts: u32) -> Result<u32, McpStoreError> {
    shadowed_call(attempts)
}

#[retry(config = { let mut last = 0; for attempts in 1..=3u32 { last = attempts; } policy::of(last) })]
fn shadowed_by_for(attempts: u32) -> Result<u32, McpStoreError> {
    shadowed_call(attempts)
}

#[retry(config = if let Some(attempts) = Some(3u32) { policy::of(attempts) } else { policy::of(1) })]
fn shadowed_by_if_let(attempts: u32) -> Result<u32, McpStoreError> {
    shadowed_call(attempts)
}

#[retry(config = match Some(3u32) { Some(attempts) if attempts > 0 => policy::of(attempts), _ => policy::of(1) })]
fn shadowed_by_match(attempts: u32) -> Result<u32, McpStoreError> {
    shadowed_call(attempts)
}

#[test]
fn a_name_the_value_binds_itself_is_not_taken_for_the_argument() {
    let calls: [fn(u32) -> Result<u32, McpStoreError>; 4] = [
        shadowed_by_let,
        shadowed_by_for,
        shadowed_by_if_let,
        shadowed_by_match,
    ];
    for (index, call) in calls.into_iter().enumerate() {
        SHADOWED_CALLS.with(|calls| calls.set(0));
        assert_eq!(call(9).unwrap_err().message(), "down 9", "function {index}");
        assert_eq!(
            SHADOWED_CALLS.with(|calls| calls.get()),
            3,
            "function {index}"
        );
    }
}

// An argument an outer layer reads only through a format string's inline argument.
fn key_from_backup(key: String) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("backup has no {key}")))
}

#[collect_errors(collector = &COLLECTED, context = {"key": format!("{key}!")})]
#[fallback(with = key_from_backup)]
fn inline_after_with(key: String) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(key))
}

#[collect_errors(collector = &COLLECTED, context = {"key": format!("{key:>4}")})]
#[retry(max_attempts = 2, delay = 0, jitter = false)]
fn inline_after_retries(key: String) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(key))
}

#[test]
fn an_argument_read_through_an_inline_format_argument_is_kept_for_the_attribute() {
    assert_eq!(
        inline_after_with("tools".into()).unwrap_err().message(),
        "tools"
    );
    assert_eq!(
        inline_after_retries("fs-inline".into())
            .unwrap_err()
            .message(),
        "fs-inline"
    );
    let records = COLLECTED.records();
    let context_of = |message: &str| {
        records
            .iter()
            .find(|r| r.message() == message)
            .map(|r| r.context()["key"].clone())
    };
    assert_eq!(context_of("tools"), Some(json!("tools!")));
    assert_eq!(context_of("fs-inline"), Some(json!("fs-inline")));
}

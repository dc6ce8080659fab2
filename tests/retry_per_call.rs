//! `#[retry]` keys that read `self` or an argument are evaluated on every call: a policy per
//! instance (`config = &self.retry`, `max_attempts = self.attempts`), per service
//! (`config = policy_for(service)`), given by reference without a clone; keys that read
//! nothing of the call are still evaluated once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, Jitter, McpStoreError, RetryConfig, RetryManager,
    SeededRandom, VirtualSleeper, circuit_breaker, retry,
};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn down() -> McpStoreError {
    McpStoreError::connection("refused")
}

/// `attempts` attempts, 10 ms apart, sleeping on `sleeper`.
fn policy(attempts: u32, sleeper: &Arc<VirtualSleeper>) -> RetryConfig {
    RetryConfig::new()
        .max_attempts(attempts)
        .base_delay(Duration::from_millis(10))
        .jitter(Jitter::None)
        .sleeper(sleeper.clone())
}

// ---- a policy per instance ----

struct Client {
    retry: RetryConfig,
    sleeper: Arc<VirtualSleeper>,
    calls: AtomicU32,
}

impl Client {
    fn new(attempts: u32) -> Client {
        let sleeper = Arc::new(VirtualSleeper::new());
        Client {
            retry: policy(attempts, &sleeper),
            sleeper,
            calls: AtomicU32::new(0),
        }
    }

    #[retry(config = &self.retry)]
    fn call(&self) -> Result<u32, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(down())
    }

    #[retry(config = &self.retry)]
    async fn call_async(&self) -> Result<u32, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(down())
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[test]
fn two_instances_retry_by_their_own_policy() {
    let (two, five) = (Client::new(2), Client::new(5));
    for _ in 0..2 {
        assert!(two.call().is_err());
        assert!(five.call().is_err());
    }
    assert_eq!(
        (two.calls(), five.calls()),
        (4, 10),
        "2 and 5 attempts a call"
    );
    // Each waited on its own policy's sleeper: one and four waits a call.
    assert_eq!((two.sleeper.sleeps(), five.sleeper.sleeps()), (2, 8));
}

#[test]
fn two_instances_retry_by_their_own_policy_async() {
    let (two, five) = (Client::new(2), Client::new(5));
    for _ in 0..2 {
        assert!(block_on(two.call_async()).is_err());
        assert!(block_on(five.call_async()).is_err());
    }
    assert_eq!(
        (two.calls(), five.calls()),
        (4, 10),
        "2 and 5 attempts a call"
    );
    assert_eq!((two.sleeper.sleeps(), five.sleeper.sleeps()), (2, 8));
}

/// `&mut self`: a key that copies from `self` leaves it free for the attempts to borrow.
struct Counter {
    attempts: u32,
    calls: u32,
}

impl Counter {
    #[retry(max_attempts = self.attempts, delay = 0)]
    fn bump(&mut self) -> Result<u32, McpStoreError> {
        self.calls += 1;
        Err(down())
    }

    #[retry(max_attempts = self.attempts, delay = 0)]
    async fn bump_async(&mut self) -> Result<u32, McpStoreError> {
        self.calls += 1;
        Err(down())
    }
}

#[test]
fn a_mut_self_method_retries_by_its_instance_policy() {
    let mut one = Counter {
        attempts: 1,
        calls: 0,
    };
    let mut three = Counter {
        attempts: 3,
        calls: 0,
    };
    assert!(one.bump().is_err());
    assert!(three.bump().is_err());
    assert_eq!((one.calls, three.calls), (1, 3));
    // Changed between calls, the next call follows.
    three.attempts = 4;
    assert!(block_on(one.bump_async()).is_err());
    assert!(block_on(three.bump_async()).is_err());
    assert_eq!((one.calls, three.calls), (2, 7));
}

// ---- a policy per service, chosen from an argument ----

static FS_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));
static FS: LazyLock<RetryConfig> = LazyLock::new(|| policy(2, &FS_SLEEPER));
static DB_SLEEPER: LazyLock<Arc<VirtualSleeper>> =
    LazyLock::new(|| Arc::new(VirtualSleeper::new()));
static DB: LazyLock<RetryConfig> = LazyLock::new(|| policy(4, &DB_SLEEPER));

fn policy_for(service: &str) -> &'static RetryConfig {
    match service {
        "fs" => &FS,
        _ => &DB,
    }
}

#[retry(config = policy_for(service))]
fn list_tools(service: &str, calls: &AtomicU32) -> Result<u32, McpStoreError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection(format!("{service}: refused")))
}

#[test]
fn each_service_retries_by_the_policy_chosen_for_it() {
    let (fs, db) = (AtomicU32::new(0), AtomicU32::new(0));
    assert!(list_tools("fs", &fs).is_err());
    assert!(list_tools("db", &db).is_err());
    assert!(list_tools("fs", &fs).is_err());
    assert_eq!(
        (fs.load(Ordering::SeqCst), db.load(Ordering::SeqCst)),
        (4, 4)
    );
    assert_eq!(FS_SLEEPER.sleeps(), 2, "one wait per fs call");
    assert_eq!(DB_SLEEPER.sleeps(), 3, "three waits for the db call");
}

// ---- the same engine as `RetryManager` ----

/// Five attempts, exponential with full jitter from a seeded source, on `sleeper`.
fn jittered(sleeper: &Arc<VirtualSleeper>) -> RetryConfig {
    RetryConfig::new()
        .max_attempts(5)
        .base_delay(Duration::from_millis(100))
        .jitter(Jitter::Full)
        .random(Arc::new(SeededRandom::new(0x5eed)))
        .sleeper(sleeper.clone())
}

/// Fails until the `succeed_at`-th call.
fn scripted(calls: &AtomicU32, succeed_at: u32) -> Result<u32, McpStoreError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call < succeed_at {
        Err(McpStoreError::service_start_failed(
            "fs",
            format!("call {call}"),
        ))
    } else {
        Ok(call)
    }
}

#[retry(config = config)]
fn through_the_attribute(
    config: &RetryConfig,
    calls: &AtomicU32,
    succeed_at: u32,
) -> Result<u32, McpStoreError> {
    scripted(calls, succeed_at)
}

#[test]
fn a_policy_read_per_call_retries_as_retry_manager_does() {
    for succeed_at in [1, 3, 9] {
        let (attribute_sleeper, manager_sleeper) = (
            Arc::new(VirtualSleeper::new()),
            Arc::new(VirtualSleeper::new()),
        );
        let (attribute_calls, manager_calls) = (AtomicU32::new(0), AtomicU32::new(0));
        let attribute =
            through_the_attribute(&jittered(&attribute_sleeper), &attribute_calls, succeed_at);
        let manager = RetryManager::new(jittered(&manager_sleeper))
            .execute(|| scripted(&manager_calls, succeed_at));
        let outcome = |result: Result<u32, McpStoreError>| result.map_err(|e| e.to_string());
        assert_eq!(
            outcome(attribute),
            outcome(manager),
            "succeed_at {succeed_at}"
        );
        assert_eq!(
            attribute_calls.load(Ordering::SeqCst),
            manager_calls.load(Ordering::SeqCst)
        );
        assert_eq!(attribute_sleeper.delays(), manager_sleeper.delays());
    }
    // The jitter was drawn: the delays are not the bare exponential ones.
    let sleeper = Arc::new(VirtualSleeper::new());
    let _ = through_the_attribute(&jittered(&sleeper), &AtomicU32::new(0), 9);
    assert_eq!(sleeper.sleeps(), 4);
    assert_ne!(
        sleeper.delays(),
        [100, 200, 400, 800].map(Duration::from_millis)
    );
}

// ---- a reference is used as it is ----

/// The config's sleeper, counted: each `RetryConfig` holding it holds one count.
struct Shared {
    retry: RetryConfig,
    sleeper: Arc<VirtualSleeper>,
}

impl Shared {
    fn new() -> Shared {
        let sleeper = Arc::new(VirtualSleeper::new());
        Shared {
            retry: policy(2, &sleeper),
            sleeper,
        }
    }

    /// The sleeper's count, seen from inside an attempt.
    #[retry(config = &self.retry)]
    fn by_reference(&self) -> Result<usize, McpStoreError> {
        Ok(Arc::strong_count(&self.sleeper))
    }

    #[retry(config = self.retry.clone())]
    fn by_value(&self) -> Result<usize, McpStoreError> {
        Ok(Arc::strong_count(&self.sleeper))
    }

    /// Another key changes the policy: the referenced one is copied to change it.
    #[retry(config = &self.retry, max_attempts = 3)]
    fn changed(&self) -> Result<usize, McpStoreError> {
        Ok(Arc::strong_count(&self.sleeper))
    }
}

#[test]
fn a_config_given_by_reference_is_not_cloned() {
    let shared = Shared::new();
    // `shared.sleeper` and `shared.retry`'s.
    assert_eq!(Arc::strong_count(&shared.sleeper), 2);
    assert_eq!(shared.by_reference().unwrap(), 2, "no copy of the config");
    assert_eq!(
        shared.by_value().unwrap(),
        3,
        "the clone the expression makes"
    );
    assert_eq!(shared.changed().unwrap(), 3, "the copy other keys change");
    assert_eq!(Arc::strong_count(&shared.sleeper), 2);
}

// ---- keys that read nothing of the call are still evaluated once ----

static BASE_BUILT: AtomicU32 = AtomicU32::new(0);

fn base() -> RetryConfig {
    BASE_BUILT.fetch_add(1, Ordering::SeqCst);
    RetryConfig::new()
        .base_delay(Duration::ZERO)
        .jitter(Jitter::None)
}

struct Mixed {
    attempts: u32,
    calls: AtomicU32,
}

impl Mixed {
    #[retry(config = base(), max_attempts = self.attempts)]
    fn call(&self) -> Result<u32, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(down())
    }
}

#[test]
fn a_key_read_per_call_changes_a_policy_built_once() {
    let two = Mixed {
        attempts: 2,
        calls: AtomicU32::new(0),
    };
    let four = Mixed {
        attempts: 4,
        calls: AtomicU32::new(0),
    };
    for _ in 0..3 {
        assert!(two.call().is_err());
        assert!(four.call().is_err());
    }
    assert_eq!(two.calls.load(Ordering::SeqCst), 6);
    assert_eq!(four.calls.load(Ordering::SeqCst), 12);
    assert_eq!(
        BASE_BUILT.load(Ordering::SeqCst),
        1,
        "`config` read no argument"
    );
}

// ---- receivers the expansion renames, functions `macro_rules!` makes ----

struct Owned {
    attempts: u32,
    calls: Arc<AtomicU32>,
}

impl Owned {
    #[retry(max_attempts = self.attempts, delay = 0)]
    fn consume(self) -> Result<u32, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(down())
    }
}

impl Clone for Owned {
    fn clone(&self) -> Owned {
        Owned {
            attempts: self.attempts,
            calls: self.calls.clone(),
        }
    }
}

impl Client {
    #[retry(config = &self.retry)]
    fn shared(self: Arc<Self>) -> Result<u32, McpStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(down())
    }
}

/// The attribute forwarded through `$(#[$m:meta])*`, the parameter named by the caller.
macro_rules! forwarded {
    ($(#[$m:meta])* fn $name:ident($service:ident)) => {
        $(#[$m])*
        fn $name($service: &str, calls: &AtomicU32) -> Result<u32, McpStoreError> {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(down())
        }
    };
}

forwarded! {
    #[retry(config = policy_for(service))]
    fn forwarded_for(service)
}

/// A key arriving as an `$attempts:expr` fragment (in an invisible group).
macro_rules! by_fragment {
    ($name:ident, $attempts:expr, $parameter:ident) => {
        #[retry(max_attempts = $attempts, delay = 0)]
        fn $name($parameter: u32, calls: &AtomicU32) -> Result<u32, McpStoreError> {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(McpStoreError::connection(format!(
                "down after {}",
                $parameter
            )))
        }
    };
}

by_fragment!(by_argument, attempts, attempts);

/// A method whose policy field the caller names.
macro_rules! with_policy_field {
    ($name:ident, $field:ident) => {
        impl Client {
            #[retry(config = &self.$field)]
            fn $name(&self) -> Result<u32, McpStoreError> {
                self.calls.fetch_add(1, Ordering::SeqCst);
                Err(down())
            }
        }
    };
}

with_policy_field!(through_a_field, retry);

#[test]
fn renamed_receivers_and_macro_made_functions_read_the_call() {
    let calls = Arc::new(AtomicU32::new(0));
    let owned = |attempts| Owned {
        attempts,
        calls: calls.clone(),
    };
    assert!(owned(2).consume().is_err());
    assert!(owned(3).consume().is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    let (two, three) = (Arc::new(Client::new(2)), Arc::new(Client::new(3)));
    assert!(two.clone().shared().is_err());
    assert!(three.clone().shared().is_err());
    assert_eq!((two.calls(), three.calls()), (2, 3));

    let (fs, db) = (AtomicU32::new(0), AtomicU32::new(0));
    assert!(forwarded_for("fs", &fs).is_err());
    assert!(forwarded_for("db", &db).is_err());
    assert_eq!(
        (fs.load(Ordering::SeqCst), db.load(Ordering::SeqCst)),
        (2, 4)
    );

    let client = Client::new(3);
    assert!(client.through_a_field().is_err());
    assert_eq!(client.calls(), 3);

    let calls = AtomicU32::new(0);
    assert!(by_argument(2, &calls).is_err());
    assert!(by_argument(4, &calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

// ---- the attempt timeout over a breaker, checked per call, reported once per site ----

static BREAKERS: LazyLock<BreakerRegistry> =
    LazyLock::new(|| BreakerRegistry::new(CircuitBreakerConfig::new()));

struct Guarded {
    retry: RetryConfig,
}

impl Guarded {
    #[retry(config = &self.retry)]
    #[circuit_breaker(service = "per-call", registry = &BREAKERS)]
    async fn call(&self) -> Result<u8, McpStoreError> {
        Ok(1)
    }
}

#[test]
fn a_per_call_attempt_timeout_over_a_breaker_is_reported_once_per_site() {
    let guarded = |timeout: Option<Duration>| {
        let retry = RetryConfig::new().max_attempts(1);
        Guarded {
            retry: match timeout {
                Some(timeout) => retry.attempt_timeout(timeout),
                None => retry,
            },
        }
    };
    let warnings = |call: &dyn Fn()| {
        mcpstore_errors_tests::capture_events("mcpstore_errors::retry", call)
            .into_iter()
            .filter(|event| event.level == tracing::Level::WARN)
            .collect::<Vec<_>>()
    };
    let (untimed, timed) = (guarded(None), guarded(Some(Duration::from_secs(2))));
    let none = warnings(&|| assert_eq!(block_on(untimed.call()).unwrap(), 1));
    assert!(none.is_empty(), "no attempt timeout: {none:?}");
    // The first call of an instance whose policy has one is reported, however many follow.
    let first = warnings(&|| {
        for _ in 0..3 {
            assert_eq!(block_on(timed.call()).unwrap(), 1);
        }
    });
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].field("attempt_timeout"), Some("2s"));
    assert_eq!(first[0].field("timeout_under_breaker"), Some("None"));
    let later = warnings(&|| {
        assert_eq!(
            block_on(guarded(Some(Duration::from_secs(1))).call()).unwrap(),
            1
        )
    });
    assert!(later.is_empty(), "said once for the site: {later:?}");
}

// ---- names that only look like the call's keep the policy built once ----

static COUNTED_BUILT: AtomicU32 = AtomicU32::new(0);

/// Two attempts, counted each time it is built.
fn counted(attempts: u32) -> RetryConfig {
    COUNTED_BUILT.fetch_add(1, Ordering::SeqCst);
    RetryConfig::new()
        .max_attempts(attempts)
        .base_delay(Duration::ZERO)
        .jitter(Jitter::None)
}

mod service {
    pub const ATTEMPTS: u32 = 2;
}

struct Limits {
    service: u32,
}

#[retry(config = counted(service::ATTEMPTS))]
fn through_a_path(service: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::connection(service))
}

#[retry(config = counted(Limits { service: 2 }.service))]
fn through_fields(service: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::connection(service))
}

#[retry(config = counted([1u32].iter().map(|service| service + 1).sum()))]
fn through_a_closure(service: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::connection(service))
}

#[retry(config = counted(stringify!(service).len() as u32 - 5))]
fn through_stringify(service: &str) -> Result<(), McpStoreError> {
    Err(McpStoreError::connection(service))
}

struct Module;

impl Module {
    #[retry(config = self::counted(2))]
    fn through_self_path(&self) -> Result<(), McpStoreError> {
        Err(down())
    }
}

/// Its inline argument reads `service`: evaluated on every call.
#[retry(config = policy_for(format!("{service}:").trim_end_matches(':')))]
fn through_a_format_string(service: &str, calls: &AtomicU32) -> Result<(), McpStoreError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(McpStoreError::connection(service))
}

#[test]
fn only_a_value_that_reads_the_call_is_evaluated_per_call() {
    for _ in 0..3 {
        assert!(through_a_path("fs").is_err());
        assert!(through_fields("fs").is_err());
        assert!(through_a_closure("fs").is_err());
        assert!(through_stringify("fs").is_err());
        assert!(Module.through_self_path().is_err());
    }
    assert_eq!(COUNTED_BUILT.load(Ordering::SeqCst), 5, "once per function");

    let (fs, db) = (AtomicU32::new(0), AtomicU32::new(0));
    assert!(through_a_format_string("fs", &fs).is_err());
    assert!(through_a_format_string("db", &db).is_err());
    assert_eq!(
        (fs.load(Ordering::SeqCst), db.load(Ordering::SeqCst)),
        (2, 4)
    );
}

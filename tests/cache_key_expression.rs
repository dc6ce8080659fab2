//! `#[fallback(cache(key = ..))]`: the expression's value replaces the arguments in the key, so
//! arguments it does not name need not be keyable; the function's instantiation and, for a
//! method, the instance stay in the key, so no entry is served across instances, `Self` types
//! or implementors. The expression is evaluated once per call, before the body.

// A crate may forbid these: the key's expansion draws none of them.
#![forbid(unused_imports, unused_variables)]

use std::marker::PhantomData;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use mcpstore_errors::{CacheIdentity, McpStoreError, fallback, retry};

/// Each test's switch, so that tests running in parallel never flip each other's service.
struct Switch(AtomicBool);

impl Switch {
    const fn up() -> Self {
        Switch(AtomicBool::new(true))
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::SeqCst);
    }

    fn answer<T>(&self, value: T) -> Result<T, String> {
        if self.0.load(Ordering::SeqCst) {
            Ok(value)
        } else {
            Err("down".to_string())
        }
    }
}

/// A client as a user has one: neither `Clone`, `Eq` nor `Hash`, and not ours to give
/// `CacheIdentity`.
struct Client {
    base: String,
    sent: AtomicU32,
}

impl Client {
    fn new(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            sent: AtomicU32::new(0),
        }
    }
}

// ---- arguments the key does not name ----

static FETCH: Switch = Switch::up();

/// Without `key`, each of `client`, `calls` and `render` is a compile error at the argument.
#[fallback(cache(key = (service, path.to_owned())))]
fn fetch(
    client: &Client,
    calls: &AtomicU32,
    render: impl Fn(&str) -> String,
    service: &str,
    path: &str,
) -> Result<String, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    client.sent.fetch_add(1, Ordering::SeqCst);
    FETCH.answer(render(&format!("{}/{service}{path}", client.base)))
}

#[test]
fn arguments_the_key_does_not_name_need_not_be_keyable_nor_tell_calls_apart() {
    let (first, other) = (Client::new("http://a"), Client::new("http://b"));
    let calls = AtomicU32::new(0);
    assert_eq!(
        fetch(&first, &calls, str::to_uppercase, "fs", "/tools").unwrap(),
        "HTTP://A/FS/TOOLS"
    );
    FETCH.set(false);
    // Another client and counter, the same key: served the entry.
    let counter = AtomicU32::new(0);
    assert_eq!(
        fetch(&other, &counter, str::to_uppercase, "fs", "/tools").unwrap(),
        "HTTP://A/FS/TOOLS"
    );
    assert_eq!(
        counter.load(Ordering::SeqCst),
        1,
        "the body ran, and failed"
    );
    assert_eq!(other.sent.load(Ordering::SeqCst), 1);
    // An `impl Fn` of another type is another instantiation of `fetch`, with its own entries.
    assert!(fetch(&first, &calls, |text| text.to_owned(), "fs", "/tools").is_err());
    // Either part of the key differing: another entry, of which there is none.
    assert!(fetch(&first, &calls, str::to_uppercase, "git", "/tools").is_err());
    assert!(fetch(&first, &calls, str::to_uppercase, "fs", "/prompts").is_err());
}

// ---- when the key is evaluated ----

/// A request the body takes apart; its `id` is the key.
#[derive(Clone)]
struct Request {
    id: u64,
    payload: String,
}

static LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
static SUBMIT: Switch = Switch::up();

/// The key, noting that it was evaluated.
fn noted(id: u64) -> u64 {
    LOG.lock().unwrap().push("key");
    id
}

#[fallback(cache(key = noted(request.id)))]
fn submit(request: Request) -> Result<String, String> {
    LOG.lock().unwrap().push("body");
    // Moves the argument the key read: the key was taken from it before.
    let Request { id, payload } = request;
    SUBMIT.answer(format!("{id}: {payload}"))
}

fn backup(_request: Request) -> Result<String, String> {
    Ok("from backup".to_owned())
}

static SUBMIT_OR_BACKUP: Switch = Switch::up();
static BACKUP_LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn noted_in_backup_log(id: u64) -> u64 {
    BACKUP_LOG.lock().unwrap().push("key");
    id
}

/// `with` before `cache`: a failure `with` serves never reaches the cache.
#[fallback(with = backup, cache(key = noted_in_backup_log(request.id)))]
fn submit_or_backup(request: Request) -> Result<String, String> {
    BACKUP_LOG.lock().unwrap().push("body");
    SUBMIT_OR_BACKUP.answer(request.payload)
}

#[test]
fn the_key_is_evaluated_once_per_call_before_the_body_on_success_and_failure() {
    let request = |id| Request {
        id,
        payload: format!("payload {id}"),
    };
    assert_eq!(submit(request(1)).unwrap(), "1: payload 1");
    SUBMIT.set(false);
    assert_eq!(submit(request(1)).unwrap(), "1: payload 1", "a hit");
    assert!(submit(request(2)).is_err(), "a miss");
    assert_eq!(
        *LOG.lock().unwrap(),
        ["key", "body", "key", "body", "key", "body"]
    );
}

#[test]
fn the_key_is_evaluated_even_when_a_step_before_the_cache_serves() {
    let request = Request {
        id: 1,
        payload: "p".to_owned(),
    };
    SUBMIT_OR_BACKUP.set(false);
    assert_eq!(submit_or_backup(request).unwrap(), "from backup");
    assert_eq!(*BACKUP_LOG.lock().unwrap(), ["key", "body"]);
}

static RETRIED_KEYS: AtomicU32 = AtomicU32::new(0);
static RETRIED_RUNS: AtomicU32 = AtomicU32::new(0);

fn counted(id: u64) -> u64 {
    RETRIED_KEYS.fetch_add(1, Ordering::SeqCst);
    id
}

/// Over a `#[retry]`: one key for the call, however many attempts run.
#[fallback(cache(key = counted(request.id)))]
#[retry(max_attempts = 3, delay = 0)]
fn retried(request: &Request, client: &Client) -> Result<String, String> {
    RETRIED_RUNS.fetch_add(1, Ordering::SeqCst);
    Err(format!("{} down for {}", client.base, request.payload))
}

#[test]
fn over_a_retry_the_key_is_evaluated_once_for_all_attempts() {
    let request = Request {
        id: 1,
        payload: "p".to_owned(),
    };
    assert!(retried(&request, &Client::new("a")).is_err());
    assert_eq!(RETRIED_RUNS.load(Ordering::SeqCst), 3);
    assert_eq!(RETRIED_KEYS.load(Ordering::SeqCst), 1);
}

// ---- the value: borrowed, then owned as an argument's ----

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Query {
    table: String,
}

static SELECT: Switch = Switch::up();

/// `key = query` names a `&Query`: keyed by an owned copy of what it points to.
#[fallback(cache(key = query))]
fn select(client: &Client, query: &Query) -> Result<String, String> {
    SELECT.answer(format!("{} from {}", client.base, query.table))
}

#[test]
fn a_key_naming_a_reference_is_keyed_by_the_value_it_points_to() {
    let client = Client::new("db");
    let query = Query {
        table: "tools".to_owned(),
    };
    assert_eq!(select(&client, &query).unwrap(), "db from tools");
    drop(query);
    SELECT.set(false);
    let equal = Query {
        table: "tools".to_owned(),
    };
    assert_eq!(select(&client, &equal).unwrap(), "db from tools");
    let other = Query {
        table: "prompts".to_owned(),
    };
    assert!(select(&client, &other).is_err());
}

/// Keyed by its id, as an argument would be.
struct Connection {
    id: u32,
    client: Client,
}

impl CacheIdentity for Connection {
    type Id = u32;
    fn cache_identity(&self) -> u32 {
        self.id
    }
}

static PING: Switch = Switch::up();

#[fallback(cache(key = *connection))]
fn ping(connection: &Connection, attempt_budget: &AtomicU32) -> Result<String, String> {
    attempt_budget.fetch_sub(1, Ordering::SeqCst);
    PING.answer(format!("{} via {}", connection.id, connection.client.base))
}

#[test]
fn a_key_of_an_identified_value_is_keyed_by_its_id() {
    let budget = AtomicU32::new(3);
    let connection = Connection {
        id: 7,
        client: Client::new("a"),
    };
    assert_eq!(ping(&connection, &budget).unwrap(), "7 via a");
    PING.set(false);
    let same_id = Connection {
        id: 7,
        client: Client::new("b"),
    };
    assert_eq!(ping(&same_id, &budget).unwrap(), "7 via a");
    let other_id = Connection {
        id: 8,
        client: Client::new("a"),
    };
    assert!(ping(&other_id, &budget).is_err());
    assert_eq!(budget.load(Ordering::SeqCst), 0, "every call ran the body");
}

// ---- async ----

static ASYNC_TOOLS: Switch = Switch::up();

#[fallback(cache(key = service.to_owned()))]
async fn async_tools(client: &Client, service: &str) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    client.sent.fetch_add(1, Ordering::SeqCst);
    ASYNC_TOOLS
        .answer(vec![format!("{}/{service}", client.base)])
        .map_err(McpStoreError::connection)
}

#[tokio::test]
async fn an_async_fn_is_keyed_by_its_key_expression() {
    let client = Client::new("a");
    assert_eq!(async_tools(&client, "fs").await.unwrap(), ["a/fs"]);
    ASYNC_TOOLS.set(false);
    let other = Client::new("b");
    assert_eq!(async_tools(&other, "fs").await.unwrap(), ["a/fs"]);
    assert!(async_tools(&client, "git").await.is_err());
    assert_eq!(other.sent.load(Ordering::SeqCst), 1);
}

/// The future of a cached `async fn` with a key stays `Send` when the body's is.
#[test]
fn an_async_fn_with_a_key_is_send() {
    fn assert_send<F: Send>(_: &F) {}
    let client = Client::new("a");
    let future = async_tools(&client, "fs");
    assert_send(&future);
    drop(future);
}

// ---- methods: the instance stays in the key ----

/// Two instances that give the key expression the same value.
struct Service {
    name: &'static str,
    up: bool,
}

impl CacheIdentity for Service {
    type Id = &'static str;
    fn cache_identity(&self) -> &'static str {
        self.name
    }
}

impl Service {
    #[fallback(cache(key = tool.len()))]
    fn call(&self, client: &Client, tool: &str) -> Result<String, String> {
        if self.up {
            Ok(format!("{} {tool} via {}", self.name, client.base))
        } else {
            Err("down".to_owned())
        }
    }

    #[fallback(cache(key = tool.to_owned()))]
    async fn call_later(&self, client: &Client, tool: &str) -> Result<String, String> {
        tokio::task::yield_now().await;
        self.call(client, tool)
    }
}

#[test]
fn two_instances_with_one_key_value_never_share_an_entry() {
    let client = Client::new("c");
    let fs = Service {
        name: "fs",
        up: true,
    };
    assert_eq!(fs.call(&client, "read").unwrap(), "fs read via c");
    let git = Service {
        name: "git",
        up: false,
    };
    // `tool.len()` is 4 for both calls, but the instance differs.
    assert!(git.call(&client, "pull").is_err());
    assert!(git.call(&client, "read").is_err());
    // The same instance (by its id) with an equal key is served, whatever the tool is.
    let fs_down = Service {
        name: "fs",
        up: false,
    };
    assert_eq!(fs_down.call(&client, "list").unwrap(), "fs read via c");
}

#[tokio::test]
async fn an_async_method_keeps_its_instances_apart_under_one_key() {
    let client = Client::new("c");
    let web = Service {
        name: "web",
        up: true,
    };
    assert_eq!(
        web.call_later(&client, "get").await.unwrap(),
        "web get via c"
    );
    let db = Service {
        name: "db",
        up: false,
    };
    assert!(db.call_later(&client, "get").await.is_err());
    let web_down = Service {
        name: "web",
        up: false,
    };
    assert_eq!(
        web_down.call_later(&Client::new("d"), "get").await.unwrap(),
        "web get via c"
    );
}

static RUN: Switch = Switch::up();

/// Taken by value, `self` is keyed by its value as without `key`.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Job {
    name: &'static str,
}

impl Job {
    #[fallback(cache(key = attempt))]
    fn run(self, attempt: u32, log: &AtomicU32) -> Result<String, String> {
        log.fetch_add(1, Ordering::SeqCst);
        RUN.answer(format!("{} #{attempt}", self.name))
    }
}

#[test]
fn a_by_value_self_stays_in_the_key() {
    let log = AtomicU32::new(0);
    assert_eq!(Job { name: "a" }.run(1, &log).unwrap(), "a #1");
    RUN.set(false);
    assert!(Job { name: "b" }.run(1, &log).is_err());
    assert_eq!(Job { name: "a" }.run(1, &log).unwrap(), "a #1");
}

// ---- the instantiation stays in the key ----

struct Holder<T>(PhantomData<T>);

static HOLDER: Switch = Switch::up();

impl<T> Holder<T> {
    #[fallback(cache(key = id))]
    fn label(id: u32, seen: &AtomicU32) -> Result<String, String> {
        seen.fetch_add(1, Ordering::SeqCst);
        HOLDER.answer(format!("{} {id}", std::any::type_name::<T>()))
    }
}

#[test]
fn one_key_value_under_two_instantiations_never_shares_an_entry() {
    let seen = AtomicU32::new(0);
    assert_eq!(Holder::<u8>::label(1, &seen).unwrap(), "u8 1");
    HOLDER.set(false);
    assert!(Holder::<String>::label(1, &seen).is_err());
    assert_eq!(Holder::<u8>::label(1, &seen).unwrap(), "u8 1");
}

static DESCRIBE: Switch = Switch::up();

/// A default method whose implementors give equal ids and equal key values.
trait Described: CacheIdentity {
    fn name(&self) -> String;

    #[fallback(cache(key = verbose))]
    fn describe(&self, verbose: bool, client: &Client) -> Result<String, String> {
        DESCRIBE.answer(format!("{} {verbose} via {}", self.name(), client.base))
    }
}

struct Disk;
struct Network;

impl CacheIdentity for Disk {
    type Id = u8;
    fn cache_identity(&self) -> u8 {
        1
    }
}

impl CacheIdentity for Network {
    type Id = u8;
    fn cache_identity(&self) -> u8 {
        1
    }
}

impl Described for Disk {
    fn name(&self) -> String {
        "disk".to_owned()
    }
}

impl Described for Network {
    fn name(&self) -> String {
        "network".to_owned()
    }
}

#[test]
fn a_trait_default_method_keeps_its_implementors_apart_under_one_key() {
    let client = Client::new("c");
    assert_eq!(Disk.describe(true, &client).unwrap(), "disk true via c");
    DESCRIBE.set(false);
    // Equal ids, equal key: only the implementor tells them apart.
    assert!(Network.describe(true, &client).is_err());
    assert_eq!(
        Disk.describe(true, &Client::new("d")).unwrap(),
        "disk true via c"
    );
}

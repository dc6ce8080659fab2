//! A cache entry is found only by a key equal to the call's: the arguments compared for
//! equality (a hash only picks the bucket), the instance for a method, and the full type
//! instantiation (`Self`, impl and fn generics).

// A crate may forbid unused imports: the keys' expansion needs no `allow` for its own.
#![forbid(unused_imports)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcpstore_errors::{CacheIdentity, FallbackChain, ResponseCache, fallback};
use mcpstore_errors_tests::capture_events;

const TEN_MINUTES: Duration = Duration::from_secs(600);

/// Two `u64`s whose `DefaultHasher` hashes are equal: the pair reported in the issue.
const COLLIDING: (u64, u64) = (5444564660425807139, 14813310245690780113);

fn default_hash(value: u64) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A key whose every value hashes alike: any cache that trusts the hash serves one value to all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameHash(pub u32);

impl Hash for SameHash {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[test]
fn the_colliding_pair_really_collides() {
    // Guards the premise of the tests below: if the hasher changed, they would prove nothing.
    assert_eq!(default_hash(COLLIDING.0), default_hash(COLLIDING.1));
}

#[test]
fn response_cache_never_serves_a_colliding_key_another_keys_value() {
    let cache = ResponseCache::new(TEN_MINUTES, 100);
    cache.insert(COLLIDING.0, "A's data");
    assert_eq!(cache.get(&COLLIDING.1), None);
    cache.insert(COLLIDING.1, "B's data");
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&COLLIDING.0), Some("A's data"));
    assert_eq!(cache.get(&COLLIDING.1), Some("B's data"));
}

#[test]
fn response_cache_tells_apart_keys_that_all_hash_alike() {
    let cache = ResponseCache::new(TEN_MINUTES, 100);
    for n in 0..10 {
        cache.insert(SameHash(n), n);
    }
    for n in 0..10 {
        assert_eq!(cache.get(&SameHash(n)), Some(n));
    }
    assert_eq!(cache.get(&SameHash(10)), None);
}

// The chain hashes its operation name with the arguments, so the pair does not collide there;
// a key type whose values all hash alike does.
#[test]
fn a_chain_cache_tells_apart_arguments_that_all_hash_alike() {
    let chain = FallbackChain::new()
        .operation("load")
        .cache(ResponseCache::new(TEN_MINUTES, 100));
    assert_eq!(
        chain.execute(&SameHash(1), |_| Ok::<_, String>("one")),
        Ok("one")
    );
    assert_eq!(
        chain.execute(&SameHash(2), |_| Err("down".to_string())),
        Err("down".to_string())
    );
    assert_eq!(
        chain.execute(&SameHash(1), |_| Err("down".to_string())),
        Ok("one")
    );
}

#[test]
fn a_chain_cache_never_serves_a_colliding_argument_another_arguments_value() {
    let chain = FallbackChain::new()
        .operation("load")
        .cache(ResponseCache::new(TEN_MINUTES, 100));
    assert_eq!(
        chain.execute(&COLLIDING.0, |_| Ok::<_, String>("A's data")),
        Ok("A's data")
    );
    assert_eq!(
        chain.execute(&COLLIDING.1, |_| Err("down".to_string())),
        Err("down".to_string())
    );
    assert_eq!(
        chain.execute(&COLLIDING.0, |_| Err("down".to_string())),
        Ok("A's data")
    );
}

#[test]
fn response_cache_looks_up_a_string_key_by_str() {
    let cache = ResponseCache::new(TEN_MINUTES, 4);
    cache.insert(String::from("fs"), 1);
    assert_eq!(cache.get("fs"), Some(1));
    assert_eq!(cache.get(&String::from("fs")), Some(1));
    assert_eq!(cache.get("web"), None);
}

#[test]
fn a_chain_over_str_arguments_keys_by_value_not_by_address() {
    let chain = FallbackChain::new().cache(ResponseCache::new(TEN_MINUTES, 4));
    let first = String::from("fs");
    chain
        .execute(first.as_str(), |_| Ok::<_, String>(7))
        .unwrap();
    drop(first);
    let second = String::from("fs");
    assert_eq!(
        chain.execute(second.as_str(), |_| Err("down".to_string())),
        Ok(7)
    );
}

// ---- #[fallback(cache)]: the arguments ----

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

static LOAD: Switch = Switch::up();

#[fallback(cache)]
fn load(id: u64) -> Result<String, String> {
    LOAD.answer(format!("data of {id}"))
}

#[test]
fn the_attribute_never_serves_a_colliding_u64_another_ones_value() {
    assert_eq!(
        load(COLLIDING.0).unwrap(),
        format!("data of {}", COLLIDING.0)
    );
    LOAD.set(false);
    assert_eq!(load(COLLIDING.1), Err("down".to_string()));
    assert_eq!(
        load(COLLIDING.0).unwrap(),
        format!("data of {}", COLLIDING.0)
    );
}

static LOOKUP: Switch = Switch::up();

/// Arguments that hold borrows: each is keyed by an owned copy of what it borrows.
#[fallback(cache)]
fn lookup(filter: Option<&str>, names: &[&str], tags: Vec<&str>) -> Result<String, String> {
    LOOKUP.answer(format!("{filter:?} {names:?} {tags:?}"))
}

#[test]
fn arguments_that_hold_borrows_are_keyed_by_what_they_borrow() {
    let owned_filter = String::from("fs");
    let answer = lookup(Some(&owned_filter), &["a", "b"], vec!["x"]).unwrap();
    assert_eq!(
        lookup(None, &["a", "b"], vec!["x"]).unwrap(),
        r#"None ["a", "b"] ["x"]"#
    );
    LOOKUP.set(false);
    // Equal values borrowed from elsewhere find the entry.
    let filter = "fs".to_owned();
    let names = ["a".to_owned(), "b".to_owned()];
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(lookup(Some(&filter), &name_refs, vec!["x"]), Ok(answer));
    // Any difference in what is borrowed is another key.
    assert!(lookup(Some("git"), &["a", "b"], vec!["x"]).is_err());
    assert!(lookup(Some("fs"), &["a"], vec!["x"]).is_err());
    assert!(lookup(Some("fs"), &["a", "b"], vec!["y"]).is_err());
    assert_eq!(
        lookup(None, &["a", "b"], vec!["x"]).unwrap(),
        r#"None ["a", "b"] ["x"]"#
    );
}

static DEEP: Switch = Switch::up();

/// Borrows nested in standard types: each argument is keyed by an owned copy of all it
/// borrows, however deep.
#[fallback(cache)]
fn deep(
    alias: Option<&&str>,
    pair: (&str, u32),
    labels: &[(&str, std::borrow::Cow<'_, str>)],
    path: Option<&std::path::Path>,
) -> Result<String, String> {
    DEEP.answer(format!("{alias:?} {pair:?} {labels:?} {path:?}"))
}

#[test]
fn arguments_with_borrows_nested_in_standard_types_are_keyed_by_what_they_borrow() {
    use std::borrow::Cow;
    use std::path::Path;
    let fs = "fs";
    let labels = [("env", Cow::Borrowed("prod"))];
    let answer = deep(Some(&fs), ("read", 1), &labels, Some(Path::new("/tmp"))).unwrap();
    DEEP.set(false);
    // Equal values borrowed from elsewhere find the entry.
    let (name, env, value) = (
        String::from("fs"),
        String::from("env"),
        String::from("prod"),
    );
    let other_labels = [(env.as_str(), Cow::Owned(value))];
    let read = String::from("read");
    assert_eq!(
        deep(
            Some(&name.as_str()),
            (&read, 1),
            &other_labels,
            Some(Path::new("/tmp"))
        ),
        Ok(answer)
    );
    // Any difference, at any depth, is another key.
    assert!(deep(Some(&"git"), ("read", 1), &labels, Some(Path::new("/tmp"))).is_err());
    assert!(deep(None, ("read", 1), &labels, Some(Path::new("/tmp"))).is_err());
    assert!(deep(Some(&fs), ("read", 2), &labels, Some(Path::new("/tmp"))).is_err());
    assert!(deep(Some(&fs), ("write", 1), &labels, Some(Path::new("/tmp"))).is_err());
    let staging = [("env", Cow::Borrowed("staging"))];
    assert!(deep(Some(&fs), ("read", 1), &staging, Some(Path::new("/tmp"))).is_err());
    assert!(deep(Some(&fs), ("read", 1), &labels, Some(Path::new("/var"))).is_err());
}

static GENERIC_ARGUMENTS: Switch = Switch::up();

/// Arguments of generic types, which no standard impl can be known to cover: a clone of the
/// value, or of what an `Option<&T>` borrows.
#[fallback(cache)]
fn generic_arguments<T, U>(value: T, maybe: Option<&U>, values: Vec<T>) -> Result<String, String>
where
    T: Clone + Eq + Hash + Send + Sync + std::fmt::Debug + 'static,
    U: Clone + Eq + Hash + Send + Sync + std::fmt::Debug + 'static,
{
    GENERIC_ARGUMENTS.answer(format!("{value:?} {maybe:?} {values:?}"))
}

#[test]
fn arguments_of_generic_types_are_keyed_by_a_clone() {
    let answer = generic_arguments(SameHash(1), Some(&SameHash(2)), vec![SameHash(3)]).unwrap();
    GENERIC_ARGUMENTS.set(false);
    assert_eq!(
        generic_arguments(SameHash(1), Some(&SameHash(2)), vec![SameHash(3)]),
        Ok(answer)
    );
    assert!(generic_arguments(SameHash(9), Some(&SameHash(2)), vec![SameHash(3)]).is_err());
    assert!(generic_arguments(SameHash(1), None::<&SameHash>, vec![SameHash(3)]).is_err());
    assert!(generic_arguments(SameHash(1), Some(&SameHash(2)), vec![]).is_err());
}

static JOINED: Switch = Switch::up();

trait Joined {
    fn joined(&self) -> Result<String, String>;
}

/// A method whose `Self` holds borrows: its instance is keyed by an owned copy.
impl Joined for Vec<&'static str> {
    #[fallback(cache)]
    fn joined(&self) -> Result<String, String> {
        JOINED.answer(self.join(","))
    }
}

#[test]
fn an_instance_that_holds_borrows_is_keyed_by_what_it_borrows() {
    assert_eq!(vec!["a", "b"].joined().unwrap(), "a,b");
    JOINED.set(false);
    assert_eq!(vec!["a", "b"].joined().unwrap(), "a,b");
    assert!(vec!["a"].joined().is_err());
}

static LOAD_SAME_HASH: Switch = Switch::up();

#[fallback(cache)]
fn load_same_hash(key: SameHash) -> Result<u32, String> {
    LOAD_SAME_HASH.answer(key.0)
}

#[test]
fn the_attribute_tells_apart_arguments_that_all_hash_alike() {
    assert_eq!(load_same_hash(SameHash(1)), Ok(1));
    assert_eq!(load_same_hash(SameHash(2)), Ok(2));
    LOAD_SAME_HASH.set(false);
    assert_eq!(load_same_hash(SameHash(1)), Ok(1));
    assert_eq!(load_same_hash(SameHash(2)), Ok(2));
    assert_eq!(load_same_hash(SameHash(3)), Err("down".to_string()));
}

static TOOLS: Switch = Switch::up();

#[fallback(cache)]
fn tools(service: &str) -> Result<String, String> {
    TOOLS.answer(format!("{service}.read"))
}

#[test]
fn str_arguments_key_by_value_whatever_their_address() {
    let first = String::from("fs");
    assert_eq!(tools(&first).unwrap(), "fs.read");
    drop(first);
    TOOLS.set(false);
    assert_eq!(
        tools("fs").unwrap(),
        "fs.read",
        "a literal equal to the cached String"
    );
    let heap = String::from("fs");
    assert_eq!(tools(heap.as_str()).unwrap(), "fs.read");
    assert_eq!(tools("fs2"), Err("down".to_string()));
    assert_eq!(tools("f"), Err("down".to_string()));
}

static OWNED: Switch = Switch::up();

#[fallback(cache)]
fn owned(service: String, ids: &[u32]) -> Result<String, String> {
    OWNED.answer(format!("{service}{ids:?}"))
}

#[test]
fn by_value_and_slice_arguments_key_by_value() {
    assert_eq!(owned("fs".to_string(), &[1, 2]).unwrap(), "fs[1, 2]");
    OWNED.set(false);
    let ids: Vec<u32> = (1..=2).collect();
    assert_eq!(owned(String::from("fs"), &ids).unwrap(), "fs[1, 2]");
    assert_eq!(owned("fs".to_string(), &[1]), Err("down".to_string()));
    assert_eq!(owned("fs".to_string(), &[1, 2, 3]), Err("down".to_string()));
}

// ---- #[fallback(cache)]: the type instantiation ----

struct Holder<T>(PhantomData<T>);

static HOLDER: Switch = Switch::up();

impl<T> Holder<T> {
    /// Generic only through the impl: the attribute sees no `T` and no `Self` in its signature.
    #[fallback(cache)]
    fn type_label() -> Result<String, String> {
        HOLDER.answer(std::any::type_name::<T>().to_string())
    }
}

#[test]
fn an_associated_fn_keys_on_the_impls_generic_arguments() {
    assert_eq!(Holder::<u8>::type_label().unwrap(), "u8");
    HOLDER.set(false);
    assert_eq!(Holder::<String>::type_label(), Err("down".to_string()));
    assert_eq!(Holder::<u8>::type_label().unwrap(), "u8");
}

static PARSE: Switch = Switch::up();

#[fallback(cache)]
fn parse<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
{
    PARSE.answer(())?;
    text.parse().map_err(|_| "not a number".to_string())
}

static NAME_OF: Switch = Switch::up();

#[fallback(cache)]
fn name_of<T>() -> Result<&'static str, String> {
    NAME_OF.answer(std::any::type_name::<T>())
}

#[test]
fn a_generic_fn_keys_on_each_instantiation() {
    assert_eq!(parse::<u8>("7"), Ok(7u8));
    assert_eq!(name_of::<u8>(), Ok("u8"));
    PARSE.set(false);
    NAME_OF.set(false);
    assert_eq!(parse::<u8>("7"), Ok(7u8));
    assert_eq!(parse::<u16>("7"), Err("down".to_string()));
    // Same `Ok` type for every instantiation: only the generic argument tells them apart.
    assert_eq!(name_of::<u8>(), Ok("u8"));
    assert_eq!(name_of::<u16>(), Err("down".to_string()));
}

static KIND: Switch = Switch::up();
static DESCRIBE: Switch = Switch::up();

/// A default method's `Self` is not known to be `Sized`: the cache tells its instances apart
/// by the identity the trait requires.
trait Described: CacheIdentity {
    fn name(&self) -> String;

    /// A default associated fn: each implementor is its own instantiation.
    #[fallback(cache)]
    fn kind() -> Result<String, String>
    where
        Self: Sized,
    {
        KIND.answer(std::any::type_name::<Self>().to_string())
    }

    /// A default method: keyed by the instance's identity.
    #[fallback(cache)]
    fn describe(&self) -> Result<String, String> {
        DESCRIBE.answer(self.name())
    }
}

struct Disk(u32);
struct Network(u32);

impl CacheIdentity for Disk {
    type Id = u32;
    fn cache_identity(&self) -> u32 {
        self.0
    }
}

impl CacheIdentity for Network {
    type Id = u32;
    fn cache_identity(&self) -> u32 {
        self.0
    }
}

impl Described for Disk {
    fn name(&self) -> String {
        format!("disk {}", self.0)
    }
}

impl Described for Network {
    fn name(&self) -> String {
        format!("network {}", self.0)
    }
}

#[test]
fn a_trait_default_fn_keeps_each_implementors_entries_apart() {
    assert!(Disk::kind().unwrap().ends_with("Disk"));
    KIND.set(false);
    assert_eq!(Network::kind(), Err("down".to_string()));
    assert!(Disk::kind().unwrap().ends_with("Disk"));
}

#[test]
fn a_trait_default_method_keeps_each_implementors_and_instances_entries_apart() {
    // Equal ids: only the implementor tells these two apart.
    let disk = Disk(1);
    let network = Network(1);
    assert_eq!(disk.describe().unwrap(), "disk 1");
    DESCRIBE.set(false);
    assert_eq!(network.describe(), Err("down".to_string()));
    assert_eq!(Disk(2).describe(), Err("down".to_string()));
    assert_eq!(disk.describe().unwrap(), "disk 1");
}

// ---- #[fallback(cache)]: the instance ----

static STATUS: Switch = Switch::up();

/// Neither identified nor special: a method's instance is keyed by its value.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Service {
    name: &'static str,
}

impl Service {
    #[fallback(cache)]
    fn status(&self) -> Result<String, String> {
        STATUS.answer(format!("{} up", self.name))
    }
}

#[test]
fn a_method_keys_on_the_instance_by_value_never_by_address() {
    // One address, reused by instances of other values: never served each other's entry.
    for name in ["fs", "git"] {
        let service = Box::new(Service { name });
        assert_eq!(service.status().unwrap(), format!("{name} up"));
    }
    STATUS.set(false);
    let fresh = Box::new(Service { name: "web" });
    assert_eq!(fresh.status(), Err("down".to_string()));
    // An equal value elsewhere is the same instance as far as the cache can tell.
    let elsewhere = [Service { name: "git" }, Service { name: "fs" }];
    assert_eq!(elsewhere[0].status().unwrap(), "git up");
    assert_eq!(elsewhere[1].status().unwrap(), "fs up");
}

static UNIT_LABEL: Switch = Switch::up();

/// A trait whose default method is cached over `Self`'s value.
trait Labelled: Clone + Eq + std::hash::Hash + Send + Sync + 'static {
    #[fallback(cache)]
    fn label(&self) -> Result<&'static str, String> {
        UNIT_LABEL.answer("unit")
    }
}

/// Zero-sized: every `Box<Unit>` has the same address, and every `Unit` the same value.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Unit;

impl Labelled for Unit {}

#[test]
fn zero_sized_instances_are_one_value_and_share_their_entries() {
    let (first, second) = (Box::new(Unit), Box::new(Unit));
    assert_eq!(first.label(), Ok("unit"));
    UNIT_LABEL.set(false);
    assert_eq!(second.label(), Ok("unit"));
}

/// Keyed by an id: instances share entries exactly when their ids are equal.
struct Endpoint {
    id: u32,
    up: bool,
}

impl CacheIdentity for Endpoint {
    type Id = u32;
    fn cache_identity(&self) -> u32 {
        self.id
    }
}

impl Endpoint {
    #[fallback(cache)]
    fn ping(&self) -> Result<String, String> {
        if self.up {
            Ok(format!("pong {}", self.id))
        } else {
            Err("down".to_string())
        }
    }
}

#[test]
fn cache_identity_keys_instances_by_id_not_by_address() {
    // One address, reused: distinct ids are never served each other's entry...
    for id in 0..3 {
        let endpoint = Box::new(Endpoint { id, up: true });
        assert_eq!(endpoint.ping().unwrap(), format!("pong {id}"));
    }
    let fresh = Box::new(Endpoint { id: 3, up: false });
    assert_eq!(fresh.ping(), Err("down".to_string()));
    // ...and equal ids share one, wherever the instance lives.
    let elsewhere = [Endpoint { id: 1, up: false }, Endpoint { id: 2, up: false }];
    assert_eq!(elsewhere[0].ping().unwrap(), "pong 1");
    assert_eq!(elsewhere[1].ping().unwrap(), "pong 2");
}

/// A zero-sized marker type with an id: accepted, since the id tells instances apart.
struct Region;

impl CacheIdentity for Region {
    type Id = &'static str;
    fn cache_identity(&self) -> &'static str {
        "eu"
    }
}

static REGION: Switch = Switch::up();

impl Region {
    #[fallback(cache)]
    fn latency(&self) -> Result<u32, String> {
        REGION.answer(12)
    }
}

#[test]
fn a_zero_sized_type_with_an_identity_shares_entries_as_its_ids_say() {
    let boxed = Box::new(Region);
    assert_eq!(boxed.latency(), Ok(12));
    REGION.set(false);
    assert_eq!(Region.latency(), Ok(12));
}

/// Not `Clone`: passed by reference and keyed by its id.
struct Connection {
    id: u32,
}

impl CacheIdentity for Connection {
    type Id = u32;
    fn cache_identity(&self) -> u32 {
        self.id
    }
}

static QUERY: Switch = Switch::up();

#[fallback(cache)]
fn query(connection: &Connection, sql: &str) -> Result<String, String> {
    QUERY.answer(format!("{sql} on {}", connection.id))
}

#[test]
fn an_argument_with_an_identity_is_keyed_by_its_id() {
    assert_eq!(
        query(&Connection { id: 1 }, "select").unwrap(),
        "select on 1"
    );
    QUERY.set(false);
    assert_eq!(
        query(&Connection { id: 1 }, "select").unwrap(),
        "select on 1"
    );
    assert_eq!(
        query(&Connection { id: 2 }, "select"),
        Err("down".to_string())
    );
    assert_eq!(
        query(&Connection { id: 1 }, "update"),
        Err("down".to_string())
    );
}

static PING: Switch = Switch::up();

/// With `CacheIdentity` as a supertrait, a default method keys its instances by id, zero-sized
/// ones included.
trait Pinger: CacheIdentity {
    #[fallback(cache)]
    fn ping(&self) -> Result<String, String> {
        PING.answer(std::any::type_name::<Self>().to_string())
    }
}

struct Primary;
struct Replica;

impl CacheIdentity for Primary {
    type Id = u8;
    fn cache_identity(&self) -> u8 {
        1
    }
}

impl CacheIdentity for Replica {
    type Id = u8;
    fn cache_identity(&self) -> u8 {
        1
    }
}

impl Pinger for Primary {}
impl Pinger for Replica {}

#[test]
fn a_default_method_of_a_trait_with_identity_keys_zero_sized_instances_by_id() {
    let events = capture_events("mcpstore_errors::fallback", || {
        assert!(Primary.ping().unwrap().ends_with("Primary"));
    });
    assert!(events.is_empty(), "a success needs no fallback: {events:?}");
    PING.set(false);
    let boxed = Box::new(Primary);
    assert!(boxed.ping().unwrap().ends_with("Primary"));
    // Equal ids, but another implementor: another instantiation.
    assert_eq!(Replica.ping(), Err("down".to_string()));
}

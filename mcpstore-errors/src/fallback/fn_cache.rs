//! [`FnCache`]: the cache `#[fallback(cache(..))]` keeps in a `static` per annotated function,
//! and [`CacheIdentity`], which says which instance a method's entries belong to.
//!
//! Keys and values are type-erased because a `static` inside a generic function cannot name
//! its types; each stored key is compared with the caller's by `Eq` after a downcast, so an
//! entry is found only by an equal key of the same type.

use std::any::{Any, TypeId};
use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::store::LruStore;
use crate::clock::Clock;

type ErasedKey = Box<dyn Any + Send + Sync>;
type ErasedValue = Arc<dyn Any + Send + Sync>;

/// The clock every [`FnCache`] without its own clock reads; unset means the real one.
static FN_CACHE_CLOCK: OnceLock<&'static dyn Clock> = OnceLock::new();

/// Makes every `#[fallback(cache(..))]` cache in the process age by `clock` instead of the real
/// monotonic clock, so a test can expire cached entries without waiting. Only the first call in
/// a process takes effect; it returns whether this call did.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
/// use mcpstore_errors::{ManualClock, McpStoreError, fallback, set_fn_cache_clock};
///
/// static CLOCK: ManualClock = ManualClock::new();
/// static UP: AtomicBool = AtomicBool::new(true);
///
/// #[fallback(cache(ttl = "60s"))]
/// fn tool_count(service: &str) -> Result<u32, McpStoreError> {
///     match UP.load(Ordering::SeqCst) {
///         true => Ok(7),
///         false => Err(McpStoreError::connection(format!("{service} is down"))),
///     }
/// }
///
/// assert!(set_fn_cache_clock(&CLOCK));
/// assert_eq!(tool_count("fs").unwrap(), 7);
/// UP.store(false, Ordering::SeqCst);
/// assert_eq!(tool_count("fs").unwrap(), 7, "served from the cache");
/// CLOCK.advance(Duration::from_secs(60));
/// assert!(tool_count("fs").is_err(), "expired on the virtual clock");
/// ```
pub fn set_fn_cache_clock(clock: &'static dyn Clock) -> bool {
    FN_CACHE_CLOCK.set(clock).is_ok()
}

/// Keys the `#[fallback(cache)]` entries of a type's methods by an id of the instance (a
/// service name, a connection id).
///
/// A cached method's entries belong to an instance, and the cache must tell instances apart
/// without their address (a later instance may reuse it). Without this trait, `Self` is
/// keyed by an owned copy of its value, which needs `Clone + Eq + Hash` (and makes an instance
/// whose fields changed another key); a type that is neither (a client holding a
/// connection) is a compile error at the method's receiver, and so is a method that takes
/// `self` mutably. With it, two instances share entries exactly when their ids are equal.
/// An argument of a type that cannot implement it (a foreign client) is left out of the key
/// by `cache(key = ..)`, which keys on an expression of the other arguments instead.
///
/// The attribute sees the impl only where it is known for the method's `Self`: for a method of
/// `impl<T> Holder<T>`, implement it for every `Holder<T>`, not for `Holder<u8>` alone; for a
/// trait's default method, make `CacheIdentity` a supertrait of the trait.
///
/// ```
/// use mcpstore_errors::{CacheIdentity, fallback};
///
/// struct Service {
///     name: &'static str,
///     up: bool,
/// }
///
/// impl CacheIdentity for Service {
///     type Id = &'static str;
///     fn cache_identity(&self) -> &'static str {
///         self.name
///     }
/// }
///
/// impl Service {
///     #[fallback(cache)]
///     fn tools(&self) -> Result<Vec<String>, String> {
///         if self.up { Ok(vec![format!("{}.read", self.name)]) } else { Err("down".into()) }
///     }
/// }
///
/// assert!(Service { name: "fs", up: true }.tools().is_ok());
/// // Another instance with the same name is served the entry; another name is not.
/// assert_eq!(Service { name: "fs", up: false }.tools().unwrap(), ["fs.read"]);
/// assert!(Service { name: "web", up: false }.tools().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `CacheIdentity`, which says which instance a value is",
    label = "`CacheIdentity` is needed here",
    note = "implement `mcpstore_errors::CacheIdentity` for `{Self}` to key its instances by an id (a service name, a connection id); `#[fallback(cache)]` on a method that takes `self` mutably needs it, since a copy of an instance it changes would be another key on every call"
)]
pub trait CacheIdentity {
    /// The id; instances with equal ids share cache entries.
    type Id: Hash + Eq + Send + Sync + 'static;

    /// This instance's id.
    fn cache_identity(&self) -> Self::Id;
}

/// The key of one call of a cached function: the instantiation of the function, the instance
/// for a method, and owned copies of the arguments. Made by [`FnCache::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FnKey<I, A> {
    instantiation: TypeId,
    instance: I,
    args: A,
}

/// A bounded LRU cache with a TTL for one function, `const`-constructible for a `static`;
/// values of any `Clone + Send + Sync + 'static` type, under keys made by [`FnCache::key`].
///
/// Same engine as [`ResponseCache`](crate::ResponseCache); the map is built on first use.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::__private::{FallbackRun, FnCache};
///
/// fn list_tools(service: &str) -> Result<Vec<String>, String> {
///     static CACHE: FnCache = FnCache::new(Duration::from_secs(600), 100);
///     let key = FnCache::key(&|| {}, (), (service.to_owned(),));
///     match fetch(service) {
///         Ok(tools) => {
///             CACHE.store(key, &tools);
///             Ok(tools)
///         }
///         Err(error) => FallbackRun::new("list_tools").cache(CACHE.lookup(&key), &error).ok_or(error),
///     }
/// }
/// # fn fetch(service: &str) -> Result<Vec<String>, String> {
/// #     use std::sync::atomic::{AtomicBool, Ordering};
/// #     static UP: AtomicBool = AtomicBool::new(true);
/// #     if UP.swap(false, Ordering::SeqCst) { Ok(vec![format!("{service}.read")]) } else { Err("down".into()) }
/// # }
///
/// assert_eq!(list_tools("fs").unwrap(), ["fs.read"]);
/// assert_eq!(list_tools("fs").unwrap(), ["fs.read"]); // the service is down: served from the cache
/// assert!(list_tools("web").is_err()); // never succeeded for "web": nothing to serve
/// ```
pub struct FnCache {
    ttl: Duration,
    capacity: usize,
    clock: Option<&'static dyn Clock>,
    inner: OnceLock<Inner>,
}

struct Inner {
    store: Mutex<LruStore<ErasedKey, ErasedValue>>,
    /// Seeded per cache, so argument values cannot be chosen to land in one bucket.
    hasher: RandomState,
}

impl FnCache {
    /// A cache of at most `capacity` entries (zero: it stores nothing), each served for `ttl`.
    pub const fn new(ttl: Duration, capacity: usize) -> FnCache {
        FnCache {
            ttl,
            capacity,
            clock: None,
            inner: OnceLock::new(),
        }
    }

    /// Like [`new`](Self::new), aged by `clock` rather than the process-wide one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::ManualClock;
    /// use mcpstore_errors::__private::FnCache;
    ///
    /// static CLOCK: ManualClock = ManualClock::new();
    /// static CACHE: FnCache = FnCache::with_clock(Duration::from_secs(10), 4, &CLOCK);
    /// let key = FnCache::key(&(), (), 1);
    /// CACHE.store(key.clone(), &"one");
    /// CLOCK.advance(Duration::from_secs(9));
    /// assert_eq!(CACHE.lookup::<&str, _, _>(&key), Some("one"));
    /// ```
    pub const fn with_clock(ttl: Duration, capacity: usize, clock: &'static dyn Clock) -> FnCache {
        FnCache {
            ttl,
            capacity,
            clock: Some(clock),
            inner: OnceLock::new(),
        }
    }

    /// The key of a call: `instantiation` is any value whose type names the function's full
    /// instantiation (generated code passes a closure written in the function's body, whose
    /// type carries every generic parameter in scope: `Self`'s, the impl's, the function's);
    /// `instance` the method's instance (its id or an owned copy; `()` for a function without
    /// one); `args` owned copies of the arguments. Two keys are equal when all three are.
    ///
    /// ```
    /// use mcpstore_errors::__private::FnCache;
    /// fn marker<T>() -> impl Sized { || () }
    /// let a = FnCache::key(&marker::<u8>(), (), ("fs", 1));
    /// assert_eq!(a, FnCache::key(&marker::<u8>(), (), ("fs", 1)));
    /// assert_ne!(a, FnCache::key(&marker::<String>(), (), ("fs", 1)));
    /// assert_ne!(a, FnCache::key(&marker::<u8>(), (), ("fs", 2)));
    /// ```
    pub fn key<M: ?Sized, I, A>(instantiation: &M, instance: I, args: A) -> FnKey<I, A> {
        let _ = instantiation;
        FnKey {
            instantiation: typeid::of::<M>(),
            instance,
            args,
        }
    }

    /// Stores a clone of `value` under `key`, fresh from now; evicts the least recently used
    /// entry when full.
    pub fn store<T, I, A>(&self, key: FnKey<I, A>, value: &T)
    where
        T: Clone + Send + Sync + 'static,
        FnKey<I, A>: Hash + Eq + Send + Sync + 'static,
    {
        let inner = self.inner();
        let hash = inner.hasher.hash_one(&key);
        let value: ErasedValue = Arc::new(value.clone());
        let now = self.now();
        let removed = lock(&inner.store).insert(hash, Box::new(key), value, now, |a, b| {
            a.downcast_ref::<FnKey<I, A>>()
                .is_some_and(|a| b.downcast_ref::<FnKey<I, A>>() == Some(a))
        });
        removed.finish();
    }

    /// A clone of the value under a key equal to `key`, or `None` if absent, expired, or of
    /// another type.
    pub fn lookup<T, I, A>(&self, key: &FnKey<I, A>) -> Option<T>
    where
        T: Clone + Send + Sync + 'static,
        FnKey<I, A>: Hash + Eq + 'static,
    {
        let inner = self.inner.get()?;
        let hash = inner.hasher.hash_one(key);
        let now = self.now();
        // Clone the Arc under the lock, the value outside it.
        let found = lock(&inner.store)
            .get(hash, |stored| stored.downcast_ref() == Some(key), now)
            .cloned();
        found.ok()?.downcast_ref::<T>().cloned()
    }

    /// The number of entries held, expired ones not yet dropped included.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::__private::FnCache;
    /// static CACHE: FnCache = FnCache::new(Duration::from_secs(10), 4);
    /// assert_eq!(CACHE.len(), 0);
    /// CACHE.store(FnCache::key(&(), (), 1), &1u8);
    /// assert_eq!(CACHE.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.get().map_or(0, |inner| lock(&inner.store).len())
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    pub fn clear(&self) {
        if let Some(inner) = self.inner.get() {
            let entries = lock(&inner.store).clear();
            drop(entries);
        }
    }

    fn now(&self) -> Instant {
        match self.clock.or_else(|| FN_CACHE_CLOCK.get().copied()) {
            Some(clock) => clock.now(),
            None => Instant::now(),
        }
    }

    fn inner(&self) -> &Inner {
        self.inner.get_or_init(|| Inner {
            store: Mutex::new(LruStore::new(self.ttl, self.capacity)),
            hasher: RandomState::new(),
        })
    }
}

fn lock(
    store: &Mutex<LruStore<ErasedKey, ErasedValue>>,
) -> MutexGuard<'_, LruStore<ErasedKey, ErasedValue>> {
    // Of user code only an argument's `Eq` runs under the lock (clones and drops run after it);
    // the maps stay usable after a panic there.
    store.lock().unwrap_or_else(|e| e.into_inner())
}

impl fmt::Debug for FnCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::ManualClock;

    const TEN_MINUTES: Duration = Duration::from_secs(600);
    static FN_CLOCK: ManualClock = ManualClock::new();

    fn key<A>(args: A) -> FnKey<(), A> {
        FnCache::key(&(), (), args)
    }

    /// Hashes every value alike, so only `Eq` can tell keys apart.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct SameHash(u32);

    impl Hash for SameHash {
        fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
    }

    static WATCHED: FnCache = FnCache::with_clock(Duration::from_secs(10), 1, &WATCHED_CLOCK);
    static WATCHED_CLOCK: ManualClock = ManualClock::new();
    static WATCHED_RAN: AtomicUsize = AtomicUsize::new(0);
    static WATCHED_UNDER_LOCK: AtomicUsize = AtomicUsize::new(0);

    /// An argument or value whose `Clone` and `Drop` (user code) look at `WATCHED`'s lock.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct Probe(u32);

    impl Probe {
        fn look() {
            WATCHED_RAN.fetch_add(1, Ordering::Relaxed);
            let inner = WATCHED.inner.get().expect("stored into before any drop");
            if inner.store.try_lock().is_err() {
                WATCHED_UNDER_LOCK.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    impl Clone for Probe {
        fn clone(&self) -> Self {
            Probe::look();
            Probe(self.0)
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            Probe::look();
        }
    }

    #[test]
    fn fn_cache_clones_and_drops_arguments_and_values_outside_the_lock() {
        // Make the map first: a probe's drop needs it to look at.
        WATCHED.store(key(0u8), &0u8);
        WATCHED.store(key(Probe(1)), &Probe(10)); // evicts key 0; clones the value
        let served = WATCHED.lookup::<Probe, _, _>(&key(Probe(1)));
        assert_eq!(served, Some(Probe(10)));
        WATCHED.store(key(Probe(1)), &Probe(11)); // replaces: old argument and value dropped
        WATCHED.store(key(Probe(2)), &Probe(20)); // evicts key 1
        WATCHED_CLOCK.advance(Duration::from_secs(10));
        assert_eq!(
            WATCHED.lookup::<Probe, _, _>(&key(Probe(2))),
            None,
            "expired"
        );
        WATCHED.store(key(Probe(3)), &Probe(30));
        WATCHED.clear();
        assert!(WATCHED.is_empty());
        drop(served);
        assert!(WATCHED_RAN.load(Ordering::Relaxed) > 20);
        assert_eq!(WATCHED_UNDER_LOCK.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn fn_cache_expires_at_its_ttl_on_its_clock() {
        static CACHE: FnCache = FnCache::with_clock(Duration::from_secs(30), 8, &FN_CLOCK_TTL);
        static FN_CLOCK_TTL: ManualClock = ManualClock::new();
        let key = key(("fs", 1));
        CACHE.store(key.clone(), &"tools".to_string());
        FN_CLOCK_TTL.advance(Duration::from_secs(29));
        assert_eq!(CACHE.lookup::<String, _, _>(&key).as_deref(), Some("tools"));
        FN_CLOCK_TTL.advance(Duration::from_secs(1));
        assert_eq!(CACHE.lookup::<String, _, _>(&key), None);
    }

    #[test]
    fn fn_cache_holds_at_most_its_capacity() {
        static CACHE: FnCache = FnCache::with_clock(TEN_MINUTES, 4, &FN_CLOCK);
        for n in 0..20u32 {
            CACHE.store(key(n), &n);
            assert!(CACHE.len() <= 4);
        }
        assert_eq!(CACHE.len(), 4);
        assert_eq!(CACHE.lookup::<u32, _, _>(&key(15u32)), None);
        assert_eq!(CACHE.lookup::<u32, _, _>(&key(16u32)), Some(16));
        assert_eq!(CACHE.lookup::<u32, _, _>(&key(19u32)), Some(19));
    }

    #[test]
    fn fn_cache_tells_apart_keys_that_hash_alike() {
        static CACHE: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        CACHE.store(key(SameHash(1)), &1u32);
        CACHE.store(key(SameHash(2)), &2u32);
        assert_eq!(CACHE.len(), 2);
        assert_eq!(CACHE.lookup::<u32, _, _>(&key(SameHash(1))), Some(1));
        assert_eq!(CACHE.lookup::<u32, _, _>(&key(SameHash(2))), Some(2));
        assert_eq!(CACHE.lookup::<u32, _, _>(&key(SameHash(3))), None);
    }

    #[test]
    fn fn_cache_tells_apart_keys_of_different_types_and_instantiations() {
        static CACHE: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        // `T` appears only in the closure's type, as in generated code.
        #[allow(clippy::extra_unused_type_parameters)]
        fn marker<T>() -> impl Sized {
            || ()
        }
        // The same bits under two argument types, and one argument under two instantiations.
        CACHE.store(key(1u32), &"u32");
        CACHE.store(key(1i32), &"i32");
        CACHE.store(FnCache::key(&marker::<u8>(), (), 1u32), &"marker u8");
        assert_eq!(CACHE.lookup::<&str, _, _>(&key(1u32)), Some("u32"));
        assert_eq!(CACHE.lookup::<&str, _, _>(&key(1i32)), Some("i32"));
        assert_eq!(
            CACHE.lookup::<&str, _, _>(&FnCache::key(&marker::<u8>(), (), 1u32)),
            Some("marker u8")
        );
        assert_eq!(
            CACHE.lookup::<&str, _, _>(&FnCache::key(&marker::<u16>(), (), 1u32)),
            None
        );
        assert_eq!(
            CACHE.lookup::<u64, _, _>(&key(1u32)),
            None,
            "a &str read as a u64"
        );
    }

    #[test]
    fn fn_caches_of_different_functions_never_collide() {
        static LIST_TOOLS: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        static LIST_PROMPTS: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        let key = key("fs");
        LIST_TOOLS.store(key.clone(), &"tools");
        assert_eq!(LIST_PROMPTS.lookup::<&str, _, _>(&key), None);
        LIST_PROMPTS.store(key.clone(), &"prompts");
        assert_eq!(LIST_TOOLS.lookup::<&str, _, _>(&key), Some("tools"));
        assert_eq!(LIST_PROMPTS.lookup::<&str, _, _>(&key), Some("prompts"));
    }

    #[test]
    fn fn_cache_without_its_own_clock_reads_the_process_clock_hook() {
        static GLOBAL_CLOCK: ManualClock = ManualClock::new();
        static CACHE: FnCache = FnCache::new(Duration::from_secs(10), 4);
        // The first call in this process installs it; this is the only test that does.
        assert!(set_fn_cache_clock(&GLOBAL_CLOCK));
        assert!(
            !set_fn_cache_clock(&FN_CLOCK),
            "a second clock must not replace the first"
        );
        let key = key(0);
        CACHE.store(key.clone(), &1u8);
        GLOBAL_CLOCK.advance(Duration::from_secs(9));
        assert_eq!(CACHE.lookup::<u8, _, _>(&key), Some(1));
        GLOBAL_CLOCK.advance(Duration::from_secs(1));
        assert_eq!(CACHE.lookup::<u8, _, _>(&key), None);
    }
}

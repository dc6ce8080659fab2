//! [`FnCache`]: the cache `#[fallback(cache(..))]` keeps in a `static` per annotated function.
//! Values are type-erased because a `static` inside a generic function cannot name its types.

use std::any::{Any, TypeId};
use std::fmt::{self, Display};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::events::{CacheMiss, fallback_served, fallback_strategy_failed};
use super::store::LruStore;
use crate::clock::Clock;

type ErasedValue = Arc<dyn Any + Send + Sync>;

/// The clock every [`FnCache`] without its own clock reads; unset means the real one.
static FN_CACHE_CLOCK: OnceLock<&'static dyn Clock> = OnceLock::new();

/// Makes every `#[fallback(cache(..))]` cache in the process age by `clock` instead of the real
/// monotonic clock, so a test can expire cached entries without waiting. Only the first call in
/// a process takes effect; it returns whether this call did.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{ManualClock, set_fn_cache_clock};
/// use mcpstore_errors::__private::FnCache;
///
/// static CLOCK: ManualClock = ManualClock::new();
/// static CACHE: FnCache = FnCache::new(Duration::from_secs(60), 10);
///
/// assert!(set_fn_cache_clock(&CLOCK));
/// let key = FnCache::key::<u32, _>("fs");
/// CACHE.store(key, &7u32);
/// CLOCK.advance(Duration::from_secs(60));
/// assert_eq!(CACHE.lookup::<u32>(key), None);
/// ```
pub fn set_fn_cache_clock(clock: &'static dyn Clock) -> bool {
    FN_CACHE_CLOCK.set(clock).is_ok()
}

/// A bounded LRU cache with a TTL for one function, `const`-constructible for a `static`;
/// values of any `Clone + Send + Sync + 'static` type, keyed by [`FnCache::key`].
///
/// Same engine as [`ResponseCache`](crate::ResponseCache); the map is built on first use.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::__private::FnCache;
///
/// fn list_tools(service: &str) -> Result<Vec<String>, String> {
///     static CACHE: FnCache = FnCache::new(Duration::from_secs(600), 100);
///     let key = FnCache::key::<Vec<String>, _>(&(service,));
///     match fetch(service) {
///         Ok(tools) => {
///             CACHE.store(key, &tools);
///             Ok(tools)
///         }
///         Err(error) => CACHE.serve("list_tools", key, &error).ok_or(error),
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
    store: OnceLock<Mutex<LruStore<u64, ErasedValue>>>,
}

impl FnCache {
    /// A cache of at most `capacity` entries (zero: it stores nothing), each served for `ttl`.
    pub const fn new(ttl: Duration, capacity: usize) -> FnCache {
        FnCache {
            ttl,
            capacity,
            clock: None,
            store: OnceLock::new(),
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
    /// let key = FnCache::key::<&str, _>(&1);
    /// CACHE.store(key, &"one");
    /// CLOCK.advance(Duration::from_secs(9));
    /// assert_eq!(CACHE.lookup::<&str>(key), Some("one"));
    /// ```
    pub const fn with_clock(ttl: Duration, capacity: usize, clock: &'static dyn Clock) -> FnCache {
        FnCache {
            ttl,
            capacity,
            clock: Some(clock),
            store: OnceLock::new(),
        }
    }

    /// The key of `args` for a result of type `T`: a hash of both, so two instantiations of a
    /// generic function sharing one `static` never read each other's values.
    ///
    /// ```
    /// use mcpstore_errors::__private::FnCache;
    /// assert_eq!(FnCache::key::<u32, _>(&("fs", 1)), FnCache::key::<u32, _>(&("fs", 1)));
    /// assert_ne!(FnCache::key::<u32, _>(&("fs", 1)), FnCache::key::<u64, _>(&("fs", 1)));
    /// ```
    pub fn key<T: 'static, A: Hash + ?Sized>(args: &A) -> u64 {
        let mut hasher = DefaultHasher::new();
        (TypeId::of::<T>(), args).hash(&mut hasher);
        hasher.finish()
    }

    /// Stores a clone of `value` under `key`, fresh from now; evicts the least recently used
    /// entry when full.
    pub fn store<T: Clone + Send + Sync + 'static>(&self, key: u64, value: &T) {
        let value: ErasedValue = Arc::new(value.clone());
        let now = self.now();
        self.lock().insert(key, key, value, now, |a, b| a == b);
    }

    /// A clone of the value under `key`, or `None` if absent, expired, or of another type.
    pub fn lookup<T: Clone + Send + Sync + 'static>(&self, key: u64) -> Option<T> {
        let now = self.now();
        // Clone the Arc under the lock, the value outside it.
        let erased = self.lock().get(key, |k| *k == key, now).cloned()?;
        erased.downcast_ref::<T>().cloned()
    }

    /// The cache strategy of a fallback: [`lookup`](Self::lookup), then the `tracing` event that
    /// says whether it served `operation` after `error`.
    pub fn serve<T: Clone + Send + Sync + 'static>(
        &self,
        operation: &str,
        key: u64,
        error: &dyn Display,
    ) -> Option<T> {
        let value = self.lookup(key);
        match value {
            Some(_) => fallback_served(operation, "cache", error),
            None => fallback_strategy_failed(operation, "cache", &CacheMiss),
        }
        value
    }

    /// The number of entries held, expired ones not yet dropped included.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::__private::FnCache;
    /// static CACHE: FnCache = FnCache::new(Duration::from_secs(10), 4);
    /// assert_eq!(CACHE.len(), 0);
    /// CACHE.store(FnCache::key::<u8, _>(&1), &1u8);
    /// assert_eq!(CACHE.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.store.get().map_or(0, |store| lock(store).len())
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    pub fn clear(&self) {
        if let Some(store) = self.store.get() {
            lock(store).clear();
        }
    }

    fn now(&self) -> Instant {
        match self.clock.or_else(|| FN_CACHE_CLOCK.get().copied()) {
            Some(clock) => clock.now(),
            None => Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruStore<u64, ErasedValue>> {
        lock(
            self.store
                .get_or_init(|| Mutex::new(LruStore::new(self.ttl, self.capacity))),
        )
    }
}

fn lock(store: &Mutex<LruStore<u64, ErasedValue>>) -> MutexGuard<'_, LruStore<u64, ErasedValue>> {
    // Only map operations run under the lock; a poisoned one is still consistent.
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
    use std::time::Duration;

    use super::*;
    use crate::ManualClock;

    const TEN_MINUTES: Duration = Duration::from_secs(600);
    static FN_CLOCK: ManualClock = ManualClock::new();

    #[test]
    fn fn_cache_expires_at_its_ttl_on_its_clock() {
        static CACHE: FnCache = FnCache::with_clock(Duration::from_secs(30), 8, &FN_CLOCK_TTL);
        static FN_CLOCK_TTL: ManualClock = ManualClock::new();
        let key = FnCache::key::<String, _>(&("fs", 1));
        CACHE.store(key, &"tools".to_string());
        FN_CLOCK_TTL.advance(Duration::from_secs(29));
        assert_eq!(CACHE.lookup::<String>(key).as_deref(), Some("tools"));
        FN_CLOCK_TTL.advance(Duration::from_secs(1));
        assert_eq!(CACHE.lookup::<String>(key), None);
    }

    #[test]
    fn fn_cache_holds_at_most_its_capacity() {
        static CACHE: FnCache = FnCache::with_clock(TEN_MINUTES, 4, &FN_CLOCK);
        for n in 0..20u32 {
            CACHE.store(FnCache::key::<u32, _>(&n), &n);
            assert!(CACHE.len() <= 4);
        }
        assert_eq!(CACHE.len(), 4);
        assert_eq!(CACHE.lookup::<u32>(FnCache::key::<u32, _>(&15)), None);
        assert_eq!(CACHE.lookup::<u32>(FnCache::key::<u32, _>(&16)), Some(16));
        assert_eq!(CACHE.lookup::<u32>(FnCache::key::<u32, _>(&19)), Some(19));
    }

    #[test]
    fn fn_cache_keys_differ_by_value_type_and_lookups_check_the_type() {
        static CACHE: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        let as_u32 = FnCache::key::<u32, _>(&("fs", 1));
        let as_u64 = FnCache::key::<u64, _>(&("fs", 1));
        assert_ne!(as_u32, as_u64);
        assert_eq!(as_u32, FnCache::key::<u32, _>(&("fs", 1)));
        assert_ne!(as_u32, FnCache::key::<u32, _>(&("fs", 2)));

        CACHE.store(as_u32, &1u32);
        CACHE.store(as_u64, &2u64);
        assert_eq!(CACHE.lookup::<u32>(as_u32), Some(1));
        assert_eq!(CACHE.lookup::<u64>(as_u64), Some(2));
        assert_eq!(CACHE.lookup::<u64>(as_u32), None, "a u32 read as a u64");
    }

    #[test]
    fn fn_caches_of_different_functions_never_collide() {
        static LIST_TOOLS: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        static LIST_PROMPTS: FnCache = FnCache::with_clock(TEN_MINUTES, 8, &FN_CLOCK);
        let key = FnCache::key::<&str, _>("fs");
        LIST_TOOLS.store(key, &"tools");
        assert_eq!(LIST_PROMPTS.lookup::<&str>(key), None);
        LIST_PROMPTS.store(key, &"prompts");
        assert_eq!(LIST_TOOLS.lookup::<&str>(key), Some("tools"));
        assert_eq!(LIST_PROMPTS.lookup::<&str>(key), Some("prompts"));
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
        let key = FnCache::key::<u8, _>(&0);
        CACHE.store(key, &1u8);
        GLOBAL_CLOCK.advance(Duration::from_secs(9));
        assert_eq!(CACHE.lookup::<u8>(key), Some(1));
        GLOBAL_CLOCK.advance(Duration::from_secs(1));
        assert_eq!(CACHE.lookup::<u8>(key), None);
    }
}

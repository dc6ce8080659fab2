//! [`ResponseCache`]: the typed, shareable face of the cache engine.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::store::LruStore;
use crate::clock::{Clock, SystemClock};

/// A bounded, thread-safe cache of successful results, each served while younger than the TTL;
/// the storage behind [`FallbackChain::cache`](crate::FallbackChain::cache).
///
/// Keys are hashed; at most `capacity` entries are kept, and the least recently used one makes
/// room for a new one. Age is measured on a monotonic [`Clock`]. Clones share the same entries,
/// so one cache can back several chains (each keys its entries by its operation name too).
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::ResponseCache;
///
/// let cache = ResponseCache::new(Duration::from_secs(600), 2);
/// cache.insert(&("fs", 1), "first");
/// cache.insert(&("fs", 2), "second");
/// cache.insert(&("fs", 3), "third"); // full: evicts the least recently used, ("fs", 1)
/// assert_eq!(cache.len(), 2);
/// assert_eq!(cache.get(&("fs", 1)), None);
/// assert_eq!(cache.get(&("fs", 3)), Some("third"));
/// ```
pub struct ResponseCache<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    store: Mutex<LruStore<T>>,
    clock: Arc<dyn Clock>,
}

impl<T> ResponseCache<T> {
    /// A cache holding at most `capacity` entries (zero: it stores nothing), each served for
    /// `ttl` after it was stored, aged by the real monotonic clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::ResponseCache;
    ///
    /// let cache: ResponseCache<Vec<String>> = ResponseCache::new(Duration::from_secs(600), 100);
    /// assert_eq!(cache.capacity(), 100);
    /// ```
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self::with_clock(ttl, capacity, Arc::new(SystemClock))
    }

    /// Like [`new`](Self::new), aged by `clock`; with a [`ManualClock`](crate::ManualClock),
    /// tests make entries expire without waiting.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use mcpstore_errors::{ManualClock, ResponseCache};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let cache = ResponseCache::with_clock(Duration::from_secs(60), 10, clock.clone());
    /// cache.insert("k", 1);
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(cache.get("k"), None);
    /// ```
    pub fn with_clock(ttl: Duration, capacity: usize, clock: Arc<dyn Clock>) -> Self {
        ResponseCache {
            shared: Arc::new(Shared {
                store: Mutex::new(LruStore::new(ttl, capacity)),
                clock,
            }),
        }
    }

    /// How long an entry is served after it was stored.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache: ResponseCache<u8> = ResponseCache::new(Duration::from_secs(5), 1);
    /// assert_eq!(cache.ttl(), Duration::from_secs(5));
    /// ```
    pub fn ttl(&self) -> Duration {
        self.lock().ttl()
    }

    /// The most entries kept at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache: ResponseCache<u8> = ResponseCache::new(Duration::from_secs(5), 3);
    /// assert_eq!(cache.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.lock().capacity()
    }

    /// The number of entries held, expired ones not yet dropped included.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache = ResponseCache::new(Duration::from_secs(5), 3);
    /// cache.insert("a", 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds no entry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache: ResponseCache<u8> = ResponseCache::new(Duration::from_secs(5), 3);
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache = ResponseCache::new(Duration::from_secs(5), 3);
    /// cache.insert("a", 1);
    /// cache.clear();
    /// assert_eq!(cache.get("a"), None);
    /// ```
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Stores `value` under `key`, fresh from now, replacing any older entry for that key.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache = ResponseCache::new(Duration::from_secs(5), 3);
    /// cache.insert("a", 1);
    /// cache.insert("a", 2);
    /// assert_eq!(cache.get("a"), Some(2));
    /// ```
    pub fn insert<K: Hash + ?Sized>(&self, key: &K, value: T) {
        self.insert_hashed(hash_of(key), value);
    }

    pub(crate) fn insert_hashed(&self, key: u64, value: T) {
        let now = self.shared.clock.now();
        self.lock().insert(key, value, now);
    }

    fn lock(&self) -> MutexGuard<'_, LruStore<T>> {
        // A panic in a value's Clone or Drop cannot leave the maps half-updated.
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T: Clone> ResponseCache<T> {
    /// A clone of the value under `key` if it is younger than the TTL; marks it as recently used.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache = ResponseCache::new(Duration::from_secs(5), 3);
    /// cache.insert("a", 1);
    /// assert_eq!(cache.get("a"), Some(1));
    /// assert_eq!(cache.get("b"), None);
    /// ```
    pub fn get<K: Hash + ?Sized>(&self, key: &K) -> Option<T> {
        self.get_hashed(hash_of(key))
    }

    pub(crate) fn get_hashed(&self, key: u64) -> Option<T> {
        let now = self.shared.clock.now();
        self.lock().get(key, now).cloned()
    }
}

impl<T> Clone for ResponseCache<T> {
    fn clone(&self) -> Self {
        ResponseCache {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for ResponseCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.lock();
        f.debug_struct("ResponseCache")
            .field("ttl", &store.ttl())
            .field("capacity", &store.capacity())
            .field("len", &store.len())
            .field("clock", &self.shared.clock)
            .finish()
    }
}

/// The key hash every cache uses. `DefaultHasher::new()` is deterministic within a process,
/// which is all an in-memory cache needs.
pub(crate) fn hash_of<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

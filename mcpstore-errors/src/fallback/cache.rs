//! [`ResponseCache`]: the typed, shareable face of the cache engine.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::store::LruStore;
use crate::clock::{Clock, SystemClock};

/// A bounded, thread-safe cache of successful results, each served while younger than the TTL;
/// the storage behind [`FallbackChain::cache`](crate::FallbackChain::cache).
///
/// Each entry keeps its key, and a lookup finds an entry only when the keys are equal (`Eq`);
/// the hash merely picks the bucket, so two keys whose hashes collide never read each other's
/// values. Lookups may use a borrowed form of the key (`&str` for a `String` key), as with a
/// `HashMap`. At most `capacity` entries are kept, and the least recently used one makes room
/// for a new one. Age is measured on a monotonic [`Clock`]. Clones share the same entries, so
/// one cache can back several chains (each keys its entries by its operation name too).
///
/// Only a key's `Eq` runs under the cache's lock: values are cloned, and keys and values
/// dropped, after it is released, so a slow `Clone` does not hold up other callers. Several
/// threads may thus clone one stored value at once, which is why sharing a cache between
/// threads takes values that are `Send + Sync`.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::ResponseCache;
///
/// let cache = ResponseCache::new(Duration::from_secs(600), 2);
/// cache.insert(("fs", 1), "first");
/// cache.insert(("fs", 2), "second");
/// cache.insert(("fs", 3), "third"); // full: evicts the least recently used, ("fs", 1)
/// assert_eq!(cache.len(), 2);
/// assert_eq!(cache.get(&("fs", 1)), None);
/// assert_eq!(cache.get(&("fs", 3)), Some("third"));
/// ```
pub struct ResponseCache<K, V> {
    shared: Arc<Shared<K, V>>,
}

struct Shared<K, V> {
    /// Values behind an `Arc`, so that a lookup clones the `Arc` under the lock and the value
    /// (user code) after it.
    store: Mutex<LruStore<K, Arc<V>>>,
    /// Seeded per cache: keys an attacker picks cannot be aimed at one bucket in advance.
    hasher: RandomState,
    clock: Arc<dyn Clock>,
}

impl<K, V> ResponseCache<K, V> {
    /// A cache holding at most `capacity` entries (zero: it stores nothing), each served for
    /// `ttl` after it was stored, aged by the real monotonic clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::ResponseCache;
    ///
    /// let cache: ResponseCache<String, Vec<String>> = ResponseCache::new(Duration::from_secs(600), 100);
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
                hasher: RandomState::new(),
                clock,
            }),
        }
    }

    /// How long an entry is served after it was stored.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache: ResponseCache<&str, u8> = ResponseCache::new(Duration::from_secs(5), 1);
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
    /// let cache: ResponseCache<&str, u8> = ResponseCache::new(Duration::from_secs(5), 3);
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
    /// let cache: ResponseCache<&str, u8> = ResponseCache::new(Duration::from_secs(5), 3);
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
        let entries = self.lock().clear();
        drop(entries);
    }

    fn lock(&self) -> MutexGuard<'_, LruStore<K, Arc<V>>> {
        // Of user code only a key's `Eq` runs under the lock (clones and drops run after it), and
        // a panic there cannot leave the maps half-updated.
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hash that picks `key`'s bucket; a borrowed form of a key hashes alike.
    pub(crate) fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.shared.hasher.hash_one(key)
    }

    /// Stores `value` under `key` (whose hash is `hash`), replacing the entry `same` matches.
    pub(crate) fn insert_hashed(&self, hash: u64, key: K, value: V, same: impl Fn(&K, &K) -> bool) {
        let value = Arc::new(value);
        let now = self.shared.clock.now();
        let removed = self.lock().insert(hash, key, value, now, same);
        removed.finish();
    }

    /// A clone of the fresh value whose key `is_key` accepts (its hash is `hash`).
    pub(crate) fn get_hashed(&self, hash: u64, is_key: impl Fn(&K) -> bool) -> Option<V>
    where
        V: Clone,
    {
        let now = self.shared.clock.now();
        let found = self.lock().get(hash, is_key, now).cloned();
        found.ok().map(|value| V::clone(&value))
    }
}

impl<K: Hash + Eq, V> ResponseCache<K, V> {
    /// Stores `value` under `key`, fresh from now, replacing any older entry for an equal key
    /// (one stored by a racing caller that read the clock later stays).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache = ResponseCache::new(Duration::from_secs(5), 3);
    /// cache.insert("a", 1);
    /// cache.insert("a", 2);
    /// assert_eq!(cache.get("a"), Some(2));
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn insert(&self, key: K, value: V) {
        let hash = self.hash_of(&key);
        self.insert_hashed(hash, key, value, K::eq);
    }
}

impl<K: Hash + Eq, V: Clone> ResponseCache<K, V> {
    /// A clone of the value under a key equal to `key` if it is younger than the TTL; marks it
    /// as recently used. `key` may be any borrowed form of `K`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcpstore_errors::ResponseCache;
    /// let cache = ResponseCache::new(Duration::from_secs(5), 3);
    /// cache.insert(String::from("a"), 1);
    /// assert_eq!(cache.get("a"), Some(1));
    /// assert_eq!(cache.get("b"), None);
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_hashed(self.hash_of(key), |stored| stored.borrow() == key)
    }
}

impl<K, V> Clone for ResponseCache<K, V> {
    fn clone(&self) -> Self {
        ResponseCache {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K, V> fmt::Debug for ResponseCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read under the lock, formatted after it: the clock's `Debug` and the formatter's
        // sink are user code.
        let (ttl, capacity, len) = {
            let store = self.lock();
            (store.ttl(), store.capacity(), store.len())
        };
        f.debug_struct("ResponseCache")
            .field("ttl", &ttl)
            .field("capacity", &capacity)
            .field("len", &len)
            .field("clock", &self.shared.clock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ManualClock;

    /// Counts the clones and drops of [`Probe`]s, and those that ran while the cache was locked.
    #[derive(Default)]
    struct Watch {
        cache: OnceLock<ResponseCache<Probe, Probe>>,
        ran: AtomicUsize,
        under_lock: AtomicUsize,
    }

    impl Watch {
        fn look(&self) {
            self.ran.fetch_add(1, Ordering::Relaxed);
            let cache = self.cache.get().expect("the cache is set before use");
            if cache.shared.store.try_lock().is_err() {
                self.under_lock.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A key or value whose `Clone` and `Drop` (user code) look at the cache's lock.
    struct Probe(u32, &'static Watch);

    impl Clone for Probe {
        fn clone(&self) -> Self {
            self.1.look();
            Probe(self.0, self.1)
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.1.look();
        }
    }

    impl PartialEq for Probe {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    impl Eq for Probe {}

    impl Hash for Probe {
        fn hash<H: Hasher>(&self, state: &mut H) {
            self.0.hash(state);
        }
    }

    #[test]
    fn clones_and_drops_of_keys_and_values_run_outside_the_lock() {
        let watch: &'static Watch = Box::leak(Box::default());
        let clock = Arc::new(ManualClock::new());
        let cache = ResponseCache::with_clock(Duration::from_secs(10), 2, clock.clone());
        assert!(watch.cache.set(cache.clone()).is_ok());
        let probe = |n| Probe(n, watch);

        cache.insert(probe(1), probe(10));
        let served = cache.get(&probe(1)).expect("fresh");
        assert_eq!(served.0, 10);
        cache.insert(probe(1), probe(11)); // replaces: the old key and value are dropped
        cache.insert(probe(2), probe(20));
        cache.insert(probe(3), probe(30)); // full: evicts key 1
        assert!(cache.get(&probe(1)).is_none());
        clock.advance(Duration::from_secs(10));
        assert!(cache.get(&probe(2)).is_none(), "expired, and dropped");
        assert_eq!(cache.len(), 1);
        cache.clear();
        assert!(cache.is_empty());
        drop(served);

        // Keys and values: 2 replaced, 2 evicted, 2 expired, 2 cleared; 1 value cloned and
        // dropped; 3 probes made only to look up, dropped.
        assert_eq!(watch.ran.load(Ordering::Relaxed), 13);
        assert_eq!(watch.under_lock.load(Ordering::Relaxed), 0);
    }
}

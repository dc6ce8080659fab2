//! The one cache engine: a bounded map from hashed keys to values that expire after a TTL and
//! are evicted least-recently-used first. [`ResponseCache`](super::ResponseCache) and
//! [`FnCache`](super::FnCache) both wrap it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Entry<V> {
    value: V,
    stored_at: Instant,
    last_used: u64,
}

/// Not synchronised: the owners put it behind a `Mutex` and pass the clock's reading in, so the
/// engine itself is pure and the lock is held only for map operations.
#[derive(Debug)]
pub(crate) struct LruStore<V> {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<u64, Entry<V>>,
    /// Use tick → key, oldest first: the eviction order.
    recency: BTreeMap<u64, u64>,
    tick: u64,
}

impl<V> LruStore<V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        LruStore {
            ttl,
            capacity,
            entries: HashMap::new(),
            recency: BTreeMap::new(),
            tick: 0,
        }
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.recency.clear();
    }

    /// Stores `value` as fresh at `now`, replacing any entry under `key`; when the store is full,
    /// the least recently used entry makes room. A capacity of zero stores nothing.
    pub(crate) fn insert(&mut self, key: u64, value: V, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        let tick = self.next_tick();
        if let Some(old) = self.entries.get(&key) {
            self.recency.remove(&old.last_used);
        } else if self.entries.len() >= self.capacity {
            self.evict_least_recently_used();
        }
        self.recency.insert(tick, key);
        let entry = Entry {
            value,
            stored_at: now,
            last_used: tick,
        };
        self.entries.insert(key, entry);
    }

    /// The value under `key` if it was stored less than the TTL before `now`; marks it as just
    /// used. An expired entry is dropped.
    pub(crate) fn get(&mut self, key: u64, now: Instant) -> Option<&V> {
        let stored_at = self.entries.get(&key)?.stored_at;
        if now.saturating_duration_since(stored_at) >= self.ttl {
            self.remove(key);
            return None;
        }
        let tick = self.next_tick();
        let entry = self.entries.get_mut(&key)?;
        self.recency.remove(&entry.last_used);
        self.recency.insert(tick, key);
        entry.last_used = tick;
        Some(&entry.value)
    }

    fn remove(&mut self, key: u64) {
        if let Some(entry) = self.entries.remove(&key) {
            self.recency.remove(&entry.last_used);
        }
    }

    fn evict_least_recently_used(&mut self) {
        if let Some((_, key)) = self.recency.pop_first() {
            self.entries.remove(&key);
        }
    }

    fn next_tick(&mut self) -> u64 {
        // 2^64 cache operations never happen; wrapping only avoids a debug-build overflow panic.
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(capacity: usize) -> (LruStore<&'static str>, Instant) {
        (
            LruStore::new(Duration::from_secs(10), capacity),
            Instant::now(),
        )
    }

    #[test]
    fn evicts_the_least_recently_used_entry() {
        let (mut store, now) = store(2);
        store.insert(1, "one", now);
        store.insert(2, "two", now);
        assert_eq!(store.get(1, now), Some(&"one"));
        store.insert(3, "three", now);
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(2, now), None);
        assert_eq!(store.get(1, now), Some(&"one"));
        assert_eq!(store.get(3, now), Some(&"three"));
    }

    #[test]
    fn replacing_a_key_neither_grows_nor_evicts() {
        let (mut store, now) = store(2);
        store.insert(1, "one", now);
        store.insert(2, "two", now);
        store.insert(1, "uno", now);
        assert_eq!(store.len(), 2);
        assert_eq!(store.recency.len(), 2);
        assert_eq!(store.get(1, now), Some(&"uno"));
        assert_eq!(store.get(2, now), Some(&"two"));
    }

    #[test]
    fn expires_at_the_ttl_and_drops_the_entry() {
        let (mut store, now) = store(4);
        store.insert(1, "one", now);
        assert_eq!(
            store.get(1, now + Duration::from_millis(9_999)),
            Some(&"one")
        );
        assert_eq!(store.get(1, now + Duration::from_secs(10)), None);
        assert_eq!(store.len(), 0);
        assert!(store.recency.is_empty());
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let (mut store, now) = store(0);
        store.insert(1, "one", now);
        assert_eq!(store.len(), 0);
        assert_eq!(store.get(1, now), None);
    }

    #[test]
    fn an_earlier_reading_than_the_store_counts_as_fresh() {
        let (mut store, now) = store(1);
        store.insert(1, "one", now + Duration::from_secs(5));
        assert_eq!(store.get(1, now), Some(&"one"));
    }
}

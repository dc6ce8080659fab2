//! The one cache engine: a bounded map from keys to values that expire after a TTL and are
//! evicted least-recently-used first. [`ResponseCache`](super::ResponseCache) and
//! [`FnCache`](super::FnCache) both wrap it.
//!
//! An entry is found only by a key equal to the caller's: the hash picks the bucket, the
//! caller's equality decides. The owners hash (with their own seeded hasher) and pass the
//! equality in, so the same engine serves typed keys and type-erased ones.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use hashbrown::HashTable;

struct Entry<K, V> {
    /// Kept so that growing the table never rehashes a key.
    hash: u64,
    key: K,
    value: V,
    stored_at: Instant,
    last_used: u64,
}

/// Not synchronised: the owners put it behind a `Mutex` and pass the clock's reading in, so the
/// engine itself is pure and the lock is held only for map operations.
pub(crate) struct LruStore<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: HashTable<Entry<K, V>>,
    /// Use tick → the entry's hash, oldest first: the eviction order. A tick names one entry.
    recency: BTreeMap<u64, u64>,
    tick: u64,
}

impl<K, V> LruStore<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        LruStore {
            ttl,
            capacity,
            entries: HashTable::new(),
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

    /// Stores `value` as fresh at `now` under `key`, whose hash is `hash`, replacing the entry
    /// whose key `same` says equals it; when the store is full, the least recently used entry
    /// makes room. A capacity of zero stores nothing.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        now: Instant,
        same: impl Fn(&K, &K) -> bool,
    ) {
        if self.capacity == 0 {
            return;
        }
        let tick = self.next_tick();
        if let Some(old) = self.entries.find_mut(hash, |entry| same(&entry.key, &key)) {
            self.recency.remove(&old.last_used);
            self.recency.insert(tick, hash);
            *old = Entry {
                hash,
                key,
                value,
                stored_at: now,
                last_used: tick,
            };
            return;
        }
        if self.entries.len() >= self.capacity {
            self.evict_least_recently_used();
        }
        self.recency.insert(tick, hash);
        let entry = Entry {
            hash,
            key,
            value,
            stored_at: now,
            last_used: tick,
        };
        self.entries.insert_unique(hash, entry, |entry| entry.hash);
    }

    /// The value under the key `is_key` accepts (its hash is `hash`) if it was stored less than
    /// the TTL before `now`; marks it as just used. An expired entry is dropped.
    pub(crate) fn get(
        &mut self,
        hash: u64,
        is_key: impl Fn(&K) -> bool,
        now: Instant,
    ) -> Option<&V> {
        let tick = self.next_tick();
        let ttl = self.ttl;
        let entry = self
            .entries
            .find_entry(hash, |entry| is_key(&entry.key))
            .ok()?;
        let last_used = entry.get().last_used;
        self.recency.remove(&last_used);
        if now.saturating_duration_since(entry.get().stored_at) >= ttl {
            entry.remove();
            return None;
        }
        self.recency.insert(tick, hash);
        let entry = entry.into_mut();
        entry.last_used = tick;
        Some(&entry.value)
    }

    fn evict_least_recently_used(&mut self) {
        let Some((tick, hash)) = self.recency.pop_first() else {
            return;
        };
        if let Ok(entry) = self
            .entries
            .find_entry(hash, |entry| entry.last_used == tick)
        {
            entry.remove();
        }
    }

    fn next_tick(&mut self) -> u64 {
        // 2^64 cache operations never happen; wrapping only avoids a debug-build overflow panic.
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }
}

impl<K, V> fmt::Debug for LruStore<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LruStore")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys whose hash is chosen by the test, so that collisions are certain.
    fn store(capacity: usize) -> (LruStore<u32, &'static str>, Instant) {
        (
            LruStore::new(Duration::from_secs(10), capacity),
            Instant::now(),
        )
    }

    fn put(
        store: &mut LruStore<u32, &'static str>,
        hash: u64,
        key: u32,
        value: &'static str,
        now: Instant,
    ) {
        store.insert(hash, key, value, now, |a, b| a == b);
    }

    fn get(
        store: &mut LruStore<u32, &'static str>,
        hash: u64,
        key: u32,
        now: Instant,
    ) -> Option<&'static str> {
        store.get(hash, |k| *k == key, now).copied()
    }

    #[test]
    fn evicts_the_least_recently_used_entry() {
        let (mut store, now) = store(2);
        put(&mut store, 1, 1, "one", now);
        put(&mut store, 2, 2, "two", now);
        assert_eq!(get(&mut store, 1, 1, now), Some("one"));
        put(&mut store, 3, 3, "three", now);
        assert_eq!(store.len(), 2);
        assert_eq!(get(&mut store, 2, 2, now), None);
        assert_eq!(get(&mut store, 1, 1, now), Some("one"));
        assert_eq!(get(&mut store, 3, 3, now), Some("three"));
    }

    #[test]
    fn keys_with_one_hash_are_told_apart_by_equality() {
        let (mut store, now) = store(4);
        put(&mut store, 7, 1, "one", now);
        put(&mut store, 7, 2, "two", now);
        assert_eq!(store.len(), 2);
        assert_eq!(get(&mut store, 7, 1, now), Some("one"));
        assert_eq!(get(&mut store, 7, 2, now), Some("two"));
        assert_eq!(
            get(&mut store, 7, 3, now),
            None,
            "a third key with the same hash"
        );
        // Eviction removes exactly the least recently used of the colliding entries.
        put(&mut store, 8, 3, "three", now);
        put(&mut store, 9, 4, "four", now);
        put(&mut store, 10, 5, "five", now);
        assert_eq!(get(&mut store, 7, 1, now), None);
        assert_eq!(get(&mut store, 7, 2, now), Some("two"));
        assert_eq!(store.len(), 4);
        assert_eq!(store.recency.len(), 4);
    }

    #[test]
    fn replacing_a_key_neither_grows_nor_evicts() {
        let (mut store, now) = store(2);
        put(&mut store, 1, 1, "one", now);
        put(&mut store, 2, 2, "two", now);
        put(&mut store, 1, 1, "uno", now);
        assert_eq!(store.len(), 2);
        assert_eq!(store.recency.len(), 2);
        assert_eq!(get(&mut store, 1, 1, now), Some("uno"));
        assert_eq!(get(&mut store, 2, 2, now), Some("two"));
    }

    #[test]
    fn expires_at_the_ttl_and_drops_the_entry() {
        let (mut store, now) = store(4);
        put(&mut store, 1, 1, "one", now);
        assert_eq!(
            get(&mut store, 1, 1, now + Duration::from_millis(9_999)),
            Some("one")
        );
        assert_eq!(get(&mut store, 1, 1, now + Duration::from_secs(10)), None);
        assert_eq!(store.len(), 0);
        assert!(store.recency.is_empty());
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let (mut store, now) = store(0);
        put(&mut store, 1, 1, "one", now);
        assert_eq!(store.len(), 0);
        assert_eq!(get(&mut store, 1, 1, now), None);
    }

    #[test]
    fn an_earlier_reading_than_the_store_counts_as_fresh() {
        let (mut store, now) = store(1);
        put(&mut store, 1, 1, "one", now + Duration::from_secs(5));
        assert_eq!(get(&mut store, 1, 1, now), Some("one"));
    }
}

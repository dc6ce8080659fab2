//! The one cache engine: a bounded map from keys to values that expire after a TTL and are
//! evicted least-recently-used first (an expired one before any). [`ResponseCache`](super::ResponseCache) and
//! [`FnCache`](super::FnCache) both wrap it.
//!
//! An entry is found only by a key equal to the caller's: the hash picks the bucket, the
//! caller's equality decides. The owners hash (with their own seeded hasher) and pass the
//! equality in, so the same engine serves typed keys and type-erased ones.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use hashbrown::HashTable;

pub(crate) struct Entry<K, V> {
    /// Kept so that growing the table never rehashes a key.
    hash: u64,
    key: K,
    value: V,
    stored_at: Instant,
    /// The tick it was stored at: its place in the store order.
    stored_tick: u64,
    last_used: u64,
}

/// An entry taken out of the store (or none), dropped by its owner outside the lock; with the
/// payload of a panic of the caller's equality, to be resumed once the entry is dropped.
#[must_use = "call `finish` after unlocking"]
pub(crate) struct Removed<K, V>(Option<Entry<K, V>>, Option<Box<dyn std::any::Any + Send>>);

impl<K, V> Removed<K, V> {
    fn none() -> Self {
        Removed(None, None)
    }

    fn of(entry: Entry<K, V>) -> Self {
        Removed(Some(entry), None)
    }

    /// Drops what was removed, then resumes a panic of the caller's equality: called by the
    /// owner once it has unlocked, so that neither runs user code under its lock.
    pub(crate) fn finish(self) {
        let Removed(entry, panic) = self;
        drop(entry);
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Where an entry stored at `stored_at` is: its tick and hash.
#[derive(Clone, Copy)]
struct StoreRecord {
    stored_at: Instant,
    tick: u64,
    hash: u64,
}

impl StoreRecord {
    fn is_of<K, V>(&self, entry: &Entry<K, V>) -> bool {
        entry.stored_tick == self.tick
    }
}

/// Not synchronised: the owners put it behind a `Mutex` and pass the clock's reading in, so the
/// engine itself is pure and the lock is held only for map operations. Entries it removes are
/// handed back as [`Removed`], for the owner to drop once it has unlocked: a key's or value's
/// `Drop` is user code, which may be slow or use the cache itself.
pub(crate) struct LruStore<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: HashTable<Entry<K, V>>,
    /// Use tick → the entry's hash, oldest first: the eviction order. A tick names one entry.
    recency: BTreeMap<u64, u64>,
    /// A record of each store, in the order of its time. Every entry has the same TTL, so the
    /// first that is still an entry's is the first to expire: a full store gives it up before
    /// a fresh entry. A record whose entry was replaced or removed is skipped, and the records
    /// are compacted once they outnumber the entries several times over: a push per store,
    /// where an ordered map cost a removal and an insertion (+35 ns).
    stored: VecDeque<StoreRecord>,
    tick: u64,
}

impl<K, V> LruStore<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        LruStore {
            ttl,
            capacity,
            entries: HashTable::new(),
            recency: BTreeMap::new(),
            stored: VecDeque::new(),
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

    /// Empties the store; the entries are returned, to be dropped after unlocking.
    #[must_use = "drop the entries after unlocking"]
    pub(crate) fn clear(&mut self) -> HashTable<Entry<K, V>> {
        self.recency.clear();
        self.stored.clear();
        std::mem::take(&mut self.entries)
    }

    /// Stores `value` as fresh at `now` under `key`, whose hash is `hash`, replacing the entry
    /// whose key `same` says equals it unless that one was stored after `now`; when the store is full, the least recently used entry
    /// makes room. A capacity of zero stores nothing. Returns what left the store: the
    /// replaced or evicted entry, or the new one when nothing can be stored.
    #[must_use = "drop what was removed after unlocking"]
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        now: Instant,
        same: impl Fn(&K, &K) -> bool,
    ) -> Removed<K, V> {
        let tick = self.next_tick();
        let entry = Entry {
            hash,
            key,
            value,
            stored_at: now,
            stored_tick: tick,
            last_used: tick,
        };
        if self.capacity == 0 {
            return Removed::of(entry);
        }
        // The caller's equality is user code: should it panic, the new entry is handed back
        // with the panic, to be dropped (and the panic resumed) after unlocking.
        let (entries, key) = (&mut self.entries, &entry.key);
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let entries = entries; // moved: the closure is `FnOnce`, and may return the borrow
            entries.find_mut(hash, |stored| same(&stored.key, key))
        }));
        let found = match found {
            Ok(found) => found,
            Err(panic) => return Removed(Some(entry), Some(panic)),
        };
        if let Some(old) = found {
            // A value read later (a racing caller's, locked first) is the newer: it stays.
            if old.stored_at > entry.stored_at {
                return Removed::of(entry);
            }
            self.recency.remove(&old.last_used);
            self.recency.insert(tick, hash);
            let replaced = std::mem::replace(old, entry);
            self.record_store(StoreRecord {
                stored_at: now,
                tick,
                hash,
            });
            return Removed::of(replaced);
        }
        let evicted = if self.entries.len() >= self.capacity {
            self.evict_one(now)
        } else {
            Removed::none()
        };
        self.recency.insert(tick, hash);
        self.entries.insert_unique(hash, entry, |entry| entry.hash);
        self.record_store(StoreRecord {
            stored_at: now,
            tick,
            hash,
        });
        evicted
    }

    /// The value under the key `is_key` accepts (its hash is `hash`) if it was stored less than
    /// the TTL before `now`, marked as just used; else `Err` with the expired entry it removed,
    /// if any.
    pub(crate) fn get(
        &mut self,
        hash: u64,
        is_key: impl Fn(&K) -> bool,
        now: Instant,
    ) -> Result<&V, Removed<K, V>> {
        let tick = self.next_tick();
        let ttl = self.ttl;
        let Ok(entry) = self.entries.find_entry(hash, |entry| is_key(&entry.key)) else {
            return Err(Removed::none());
        };
        let last_used = entry.get().last_used;
        self.recency.remove(&last_used);
        if now.saturating_duration_since(entry.get().stored_at) >= ttl {
            return Err(Removed::of(entry.remove().0));
        }
        self.recency.insert(tick, hash);
        let entry = entry.into_mut();
        entry.last_used = tick;
        Ok(&entry.value)
    }

    /// Makes room: the first entry stored if it has expired (it can never be served again),
    /// else the least recently used.
    fn evict_one(&mut self, now: Instant) -> Removed<K, V> {
        let ttl = self.ttl;
        while let Some(&record) = self.stored.front() {
            let Ok(entry) = self
                .entries
                .find_entry(record.hash, |entry| record.is_of(entry))
            else {
                // Replaced or removed since.
                self.stored.pop_front();
                continue;
            };
            if now.saturating_duration_since(entry.get().stored_at) < ttl {
                break;
            }
            let (entry, _) = entry.remove();
            self.stored.pop_front();
            self.recency.remove(&entry.last_used);
            return Removed::of(entry);
        }
        let Some((tick, hash)) = self.recency.pop_first() else {
            return Removed::none();
        };
        let entry = self
            .entries
            .find_entry(hash, |entry| entry.last_used == tick);
        Removed(entry.ok().map(|entry| entry.remove().0), None)
    }

    /// Notes a store in the store order; drops the records of entries gone once they are
    /// most of it, so the records stay within a few times the entries.
    fn record_store(&mut self, record: StoreRecord) {
        // Owners read the clock before their lock, so a store can arrive after a later-read
        // one: it goes before those, which usually means none or a few from the back.
        let at = self
            .stored
            .iter()
            .rposition(|earlier| earlier.stored_at <= record.stored_at)
            .map_or(0, |before| before + 1);
        self.stored.insert(at, record);
        if self.stored.len() > 4 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.stored.retain(|record| {
                entries
                    .find(record.hash, |entry| record.is_of(entry))
                    .is_some()
            });
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
        let _ = store.insert(hash, key, value, now, |a, b| a == b);
    }

    fn get(
        store: &mut LruStore<u32, &'static str>,
        hash: u64,
        key: u32,
        now: Instant,
    ) -> Option<&'static str> {
        store.get(hash, |k| *k == key, now).ok().copied()
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
    fn a_full_store_gives_up_an_expired_entry_before_a_fresh_one() {
        let (mut store, start) = store(2);
        let at = |secs| start + Duration::from_secs(secs);
        put(&mut store, 1, 1, "a", at(0)); // stale from 10 s
        put(&mut store, 2, 2, "b", at(5)); // fresh until 15 s
        assert_eq!(get(&mut store, 1, 1, at(9)), Some("a")); // "a" is now the most recent
        put(&mut store, 3, 3, "c", at(11)); // full: "a" has expired, "b" has not
        assert_eq!(get(&mut store, 2, 2, at(11)), Some("b"));
        assert_eq!(get(&mut store, 3, 3, at(11)), Some("c"));
        assert_eq!(store.len(), 2);
        // With nothing expired, the least recently used goes, as before.
        put(&mut store, 4, 4, "d", at(12));
        assert_eq!(get(&mut store, 2, 2, at(12)), None);
        assert_eq!((store.len(), store.recency.len()), (2, 2));
    }

    /// Two callers read the clock before taking the lock, so stores can arrive out of time
    /// order: the later store, read earlier, still expires first and goes first.
    #[test]
    fn a_store_read_earlier_but_stored_later_expires_in_its_turn() {
        let (mut store, start) = store(2);
        let at = |secs| start + Duration::from_secs(secs);
        put(&mut store, 2, 2, "b", at(5)); // fresh until 15 s
        put(&mut store, 1, 1, "a", at(0)); // stored second, stale from 10 s
        put(&mut store, 3, 3, "c", at(11)); // full: "a" has expired, "b" has not
        assert_eq!(get(&mut store, 2, 2, at(11)), Some("b"));
        assert_eq!(get(&mut store, 3, 3, at(11)), Some("c"));
        assert_eq!(get(&mut store, 1, 1, at(11)), None);
        assert_eq!((store.len(), store.recency.len()), (2, 2));
    }

    #[test]
    fn a_value_read_earlier_does_not_replace_one_read_later() {
        let (mut store, start) = store(2);
        let at = |secs| start + Duration::from_secs(secs);
        put(&mut store, 1, 1, "newer", at(5));
        let removed = store.insert(1, 1, "older", at(3), |a, b| a == b);
        assert_eq!(removed.0.as_ref().map(|entry| entry.value), Some("older"));
        removed.finish();
        assert_eq!(get(&mut store, 1, 1, at(6)), Some("newer"));
        assert_eq!(
            get(&mut store, 1, 1, at(14)),
            Some("newer"),
            "fresh from 5 s"
        );
        assert_eq!((store.len(), store.recency.len()), (1, 1));
        // A reading as late as the stored one replaces it.
        put(&mut store, 1, 1, "same time", at(5));
        assert_eq!(get(&mut store, 1, 1, at(6)), Some("same time"));
    }

    #[test]
    fn replacing_one_key_for_ever_keeps_the_store_order_bounded() {
        let (mut store, now) = store(4);
        for round in 0..10_000 {
            put(&mut store, 1, 1, "one", now + Duration::from_millis(round));
        }
        assert_eq!(store.len(), 1);
        assert!(
            store.stored.len() <= 4 * store.len() + 65,
            "{}",
            store.stored.len()
        );
    }

    #[test]
    fn random_operations_keep_the_three_structures_in_agreement() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for capacity in [1usize, 2, 3, 8] {
            let (mut store, start) = store(capacity);
            let mut clock = 0u64;
            for _ in 0..20_000 {
                clock += next() % 3; // seconds, TTL is 10
                let now = start + Duration::from_secs(clock);
                let key = (next() % 12) as u32;
                let hash = u64::from(key % 4); // collisions
                if next() % 3 == 0 {
                    let _ = store.get(hash, |k| *k == key, now);
                } else {
                    // Now and then a reading taken before the last store's (racing callers).
                    let now = match next() % 4 {
                        0 => start + Duration::from_secs(clock.saturating_sub(next() % 4)),
                        _ => now,
                    };
                    let before: Vec<(u32, bool)> = store
                        .entries
                        .iter()
                        .map(|e| {
                            (
                                e.key,
                                now.saturating_duration_since(e.stored_at) >= store.ttl,
                            )
                        })
                        .collect();
                    let full = before.len() >= capacity && !before.iter().any(|(k, _)| *k == key);
                    let removed = store.insert(hash, key, "v", now, |a, b| a == b);
                    let gone = removed.0.as_ref().map(|e| e.key);
                    if full && before.iter().any(|(_, expired)| *expired) {
                        let gone = gone.expect("evicted one");
                        assert!(
                            before.iter().any(|(k, expired)| *k == gone && *expired),
                            "an expired entry existed but a fresh one ({gone}) was evicted"
                        );
                    }
                    removed.finish();
                }
                // recency and entries agree, one record per live entry, records bounded
                assert_eq!(store.recency.len(), store.entries.len());
                for e in store.entries.iter() {
                    assert_eq!(store.recency.get(&e.last_used), Some(&e.hash));
                    let records = store
                        .stored
                        .iter()
                        .filter(|r| r.tick == e.stored_tick && r.hash == e.hash)
                        .count();
                    assert_eq!(records, 1);
                }
                assert!(store.entries.len() <= capacity);
                assert!(store.stored.len() <= 4 * capacity + 65);
                let times = store.stored.iter().map(|r| r.stored_at);
                assert!(times.clone().zip(times.skip(1)).all(|(a, b)| a <= b));
            }
        }
    }

    fn removed_key(removed: Removed<u32, &'static str>) -> Option<u32> {
        removed.0.map(|entry| entry.key)
    }

    #[test]
    fn hands_back_what_it_removes() {
        let (mut store, now) = store(2);
        let put = |store: &mut LruStore<_, _>, key| {
            removed_key(store.insert(u64::from(key), key, "v", now, |a, b| a == b))
        };
        assert_eq!(put(&mut store, 1), None);
        assert_eq!(put(&mut store, 1), Some(1), "the replaced entry");
        assert_eq!(put(&mut store, 2), None);
        assert_eq!(put(&mut store, 3), Some(1), "the evicted entry");
        let later = now + Duration::from_secs(10);
        assert_eq!(
            store.get(2, |k| *k == 2, later).err().and_then(removed_key),
            Some(2)
        );
        assert_eq!(
            store.get(2, |k| *k == 2, later).err().and_then(removed_key),
            None
        );
        let cleared: Vec<u32> = store.clear().into_iter().map(|entry| entry.key).collect();
        assert_eq!(cleared, [3]);
        let (mut empty, _) = self::store(0);
        assert_eq!(
            put(&mut empty, 4),
            Some(4),
            "nothing is stored: the new entry"
        );
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

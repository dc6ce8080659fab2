//! Per-thread slices of a collector: each thread records into its own shard, so collecting
//! takes no lock another thread wants. Readers lock every shard and merge.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use serde_json::Value;

use super::alert::AlertState;
use super::clock::within;
use super::record::{ErrorRecord, Payload, TypeKey};
use super::{Config, Inner};
use crate::ErrorKind;

/// One thread's history, statistics and trends. Aligned so two shards never share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Shard {
    data: Mutex<ShardData>,
}

impl Shard {
    pub(super) fn lock(&self) -> MutexGuard<'_, ShardData> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Default)]
pub(super) struct ShardData {
    /// Oldest first, at most `max_errors`.
    pub(super) records: VecDeque<ErrorRecord>,
    pub(super) types: Vec<TypeSlot>,
    kind_slots: [Option<u32>; ErrorKind::ALL.len()],
    type_slots: Vec<(TypeId, u32)>,
}

#[derive(Debug)]
pub(super) struct TypeSlot {
    /// Interned: equal names are the same address.
    pub(super) name: &'static str,
    pub(super) count: u64,
    /// Oldest first, at most `Config::trend_capacity`.
    pub(super) trend: VecDeque<SystemTime>,
    pub(super) alert: Arc<AlertState>,
}

/// What a collect leaves to do once the shard is unlocked.
#[derive(Default)]
pub(super) struct Recorded {
    /// Dropped outside the lock: dropping an error may run arbitrary code.
    pub(super) evicted: Option<ErrorRecord>,
    /// Set when the alert state of the type may change and needs the other shards' counts.
    pub(super) check_rate: Option<(&'static str, Arc<AlertState>)>,
}

impl ShardData {
    #[inline]
    pub(super) fn record(
        &mut self,
        inner: &Inner,
        key: TypeKey,
        payload: Payload,
        context: Value,
        now: SystemTime,
    ) -> Recorded {
        let config = &inner.config;
        let slot_index = self.slot(inner, key);
        let slot = &mut self.types[slot_index];
        slot.count += 1;
        slot.trend.push_back(now);
        if slot.trend.len() > config.trend_capacity() {
            slot.trend.pop_front();
        }
        // This thread alone proving the burst, while the alert is already raised, is the
        // common case in a burst; anything else needs every shard's count.
        let threshold = config.alert_threshold;
        let local_burst = slot.trend.len() > threshold
            && within(
                now,
                slot.trend[slot.trend.len() - 1 - threshold],
                config.alert_window,
            );
        let check_rate = if config.alerts_off() || local_burst && slot.alert.is_firing() {
            None
        } else {
            Some((slot.name, Arc::clone(&slot.alert)))
        };
        let error_type = slot.name;

        self.records.push_back(ErrorRecord {
            timestamp: now,
            error_type,
            payload,
            context,
        });
        let evicted = if self.records.len() > config.max_errors {
            self.records.pop_front()
        } else {
            None
        };
        Recorded {
            evicted,
            check_rate,
        }
    }

    #[inline]
    fn slot(&mut self, inner: &Inner, key: TypeKey) -> usize {
        let cached = match key {
            TypeKey::Kind(kind) => self.kind_slots[kind as usize],
            TypeKey::Type(id, _) => self
                .type_slots
                .iter()
                .find(|(cached, _)| *cached == id)
                .map(|&(_, slot)| slot),
        };
        match cached {
            Some(slot) => slot as usize,
            None => self.new_slot(inner, key),
        }
    }

    #[cold]
    fn new_slot(&mut self, inner: &Inner, key: TypeKey) -> usize {
        let name = key.name();
        let index = self.slot_named(inner, name);
        let cached = u32::try_from(index).unwrap_or(u32::MAX);
        match key {
            TypeKey::Kind(kind) => self.kind_slots[kind as usize] = Some(cached),
            TypeKey::Type(id, _) => self.type_slots.push((id, cached)),
        }
        index
    }

    fn slot_named(&mut self, inner: &Inner, name: &'static str) -> usize {
        if let Some(index) = self.types.iter().position(|s| std::ptr::eq(s.name, name)) {
            return index;
        }
        self.types.push(TypeSlot {
            name,
            count: 0,
            trend: VecDeque::new(),
            alert: inner.alert_state(name),
        });
        self.types.len() - 1
    }

    /// How many errors of `name` this shard saw within the alert window before `now`.
    pub(super) fn recent(&self, name: &'static str, now: SystemTime, config: &Config) -> usize {
        self.types
            .iter()
            .find(|slot| std::ptr::eq(slot.name, name))
            .map_or(0, |slot| {
                // A shard's trend is in collect order, so its times only grow: a binary search
                // finds the oldest one inside the window, however long the trend.
                let first_inside = slot
                    .trend
                    .partition_point(|&then| !within(now, then, config.alert_window));
                slot.trend.len() - first_inside
            })
    }

    /// Takes in the shard of a thread that ended: its records merge by time (newest
    /// `max_errors` kept), its counts add up, its trends merge. Returns the records that fell
    /// out, for the caller to drop once its locks are released.
    #[must_use]
    pub(super) fn absorb(&mut self, inner: &Inner, other: ShardData) -> Vec<ErrorRecord> {
        let config = &inner.config;
        let mut records: Vec<ErrorRecord> = self.records.drain(..).collect();
        records.extend(other.records);
        records.sort_by_key(|record| record.timestamp);
        let keep = records.split_off(records.len().saturating_sub(config.max_errors));
        let evicted = std::mem::replace(&mut records, keep);
        self.records = records.into();

        for theirs in other.types {
            let index = self.slot_named(inner, theirs.name);
            let ours = &mut self.types[index];
            ours.count += theirs.count;
            let mut trend: Vec<SystemTime> = ours.trend.drain(..).collect();
            trend.extend(theirs.trend);
            trend.sort();
            let skip = trend.len().saturating_sub(config.trend_capacity());
            ours.trend = trend.into_iter().skip(skip).collect();
        }
        evicted
    }

    /// Empties the history and the trends, keeping the counts; returns the records.
    pub(super) fn take_history(&mut self) -> VecDeque<ErrorRecord> {
        for slot in &mut self.types {
            slot.trend.clear();
        }
        std::mem::take(&mut self.records)
    }
}

/// The shards this thread holds, one per collector it has collected into. When the thread
/// ends, each is handed back to its collector (if still alive) and merged into the collector's
/// retired shard, so shards never outnumber live threads.
struct LocalShards(Vec<LocalShard>);

struct LocalShard {
    owner: Weak<Inner>,
    shard: Arc<Shard>,
}

impl Drop for LocalShards {
    fn drop(&mut self) {
        for local in self.0.drain(..) {
            if let Some(inner) = local.owner.upgrade() {
                inner.retire(&local.shard);
            }
        }
    }
}

thread_local! {
    static LOCAL: RefCell<LocalShards> = const { RefCell::new(LocalShards(Vec::new())) };
}

/// Records into this thread's shard of `inner`, registering one on first use. When the
/// thread-local is unavailable (thread teardown, or a collect from within the shard
/// bookkeeping itself), the collector's retired shard takes the record instead.
#[inline]
pub(super) fn record_local(
    inner: &Arc<Inner>,
    key: TypeKey,
    payload: Payload,
    context: Value,
    now: SystemTime,
) -> Recorded {
    let mut pending = Some((payload, context));
    let recorded = LOCAL.try_with(|local| {
        let owner = Arc::as_ptr(inner);
        {
            let shards = local.try_borrow().ok()?;
            if let Some(found) = shards.0.iter().find(|l| l.owner.as_ptr() == owner) {
                let (payload, context) = pending.take()?;
                return Some(found.shard.lock().record(inner, key, payload, context, now));
            }
        }
        let shard = register(inner, local)?;
        let (payload, context) = pending.take()?;
        let recorded = shard.lock().record(inner, key, payload, context, now);
        Some(recorded)
    });
    match (recorded, pending.take()) {
        (Ok(Some(recorded)), _) => recorded,
        (_, Some((payload, context))) => inner
            .retired_shard()
            .lock()
            .record(inner, key, payload, context, now),
        (_, None) => Recorded::default(),
    }
}

#[cold]
fn register(inner: &Arc<Inner>, local: &RefCell<LocalShards>) -> Option<Arc<Shard>> {
    let mut shards = local.try_borrow_mut().ok()?;
    // Forget the shards of collectors that no longer exist; they are dropped after the
    // borrow ends, since dropping their records may run arbitrary code.
    let (live, dead): (Vec<LocalShard>, Vec<LocalShard>) = std::mem::take(&mut shards.0)
        .into_iter()
        .partition(|l| l.owner.strong_count() > 0);
    shards.0 = live;
    let shard = inner.register_shard();
    shards.0.push(LocalShard {
        owner: Arc::downgrade(inner),
        shard: Arc::clone(&shard),
    });
    drop(shards);
    drop(dead);
    Some(shard)
}

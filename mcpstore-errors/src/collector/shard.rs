//! Per-thread slices of a collector: each thread records into its own shard, so collecting
//! takes no lock another thread wants. Readers lock every shard and merge.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use super::alert::AlertState;
use super::clock::within;
use super::context::Context;
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
    /// The time of this shard's last collect, to notice the clock stepping back.
    last_now: Option<SystemTime>,
}

impl TypeSlot {
    /// Inserts `now` in time order (at the end, unless the clock stepped back) and drops the
    /// oldest beyond `capacity`.
    #[inline]
    fn push_time(&mut self, now: SystemTime, capacity: usize) {
        match self.trend.back() {
            Some(&last) if now < last => {
                let at = self.trend.partition_point(|&then| then <= now);
                self.trend.insert(at, now);
            }
            _ => self.trend.push_back(now),
        }
        if self.trend.len() > capacity {
            self.trend.pop_front();
        }
    }

    /// How many of the trend's times lie within `window` before `now`. The trend is in time
    /// order, so a binary search finds the oldest one inside.
    fn recent(&self, now: SystemTime, window: Duration) -> usize {
        let first_inside = self
            .trend
            .partition_point(|&then| !within(now, then, window));
        self.trend.len() - first_inside
    }

    /// `recent`, counting from the newest and stopping at `cap`: outside a burst only a few
    /// times are inside the window.
    #[inline]
    fn recent_up_to(&self, now: SystemTime, window: Duration, cap: usize) -> usize {
        self.trend
            .iter()
            .rev()
            .take(cap)
            .take_while(|&&then| within(now, then, window))
            .count()
    }

    /// Sets this shard's share of the type's window count; returns the sum over shards.
    #[inline]
    fn publish(&mut self, count: usize) -> usize {
        let old = std::mem::replace(&mut self.published, count);
        self.alert.change_window_count(old, count)
    }

    /// Decides from this shard alone, and the other shards' published counts, whether the
    /// alert state is settled; otherwise asks for an exact count over every shard.
    ///
    /// Each shard publishes its count within the window (capped at `threshold + 1`, enough
    /// to decide) at each collect; a count only falls as time passes, so the sum is an upper
    /// bound of the true count (unless the clock stepped back). At or below the threshold,
    /// no burst is possible: the common case outside a burst reads one atomic and writes it
    /// only when this shard's count changes. Publishing and reading are sequentially
    /// consistent, so of two collects that together cross the threshold, one sees the other.
    #[inline]
    fn rate_check(
        &mut self,
        now: SystemTime,
        config: &Config,
        stepped_back: bool,
    ) -> Option<(&'static str, Arc<AlertState>)> {
        let threshold = config.alert_threshold;
        let cap = threshold.saturating_add(1);
        let settled = if self.alert.is_firing() {
            // In a burst: this shard alone proving it (its `threshold + 1`-th newest time is
            // inside the window) keeps the alert raised.
            let proven = self.trend.len() > threshold
                && within(
                    now,
                    self.trend[self.trend.len() - 1 - threshold],
                    config.alert_window,
                );
            if proven && self.published < cap {
                self.publish(cap);
            }
            proven
        } else {
            let local = self.recent_up_to(now, config.alert_window, cap);
            let total = self.publish(local);
            total <= threshold && !stepped_back
        };
        (!settled).then(|| (self.name, Arc::clone(&self.alert)))
    }
}

#[derive(Debug)]
pub(super) struct TypeSlot {
    /// Interned: equal names are the same address.
    pub(super) name: &'static str,
    pub(super) count: u64,
    /// In time order (oldest first, even when the clock steps back), at most
    /// `Config::trend_capacity`.
    pub(super) trend: VecDeque<SystemTime>,
    pub(super) alert: Arc<AlertState>,
    /// This shard's share of `alert`'s window count: its count within the window when last
    /// computed. Changed only under this shard's lock, together with `alert`'s sum.
    published: usize,
}

/// What a collect leaves to do once the shard is unlocked.
#[derive(Default)]
pub(super) struct Recorded {
    /// Dropped outside the lock: dropping an error may run arbitrary code.
    pub(super) evicted: Option<ErrorRecord>,
    /// Set when the alert state of the type may change and needs the other shards' counts.
    pub(super) check_rate: Option<(&'static str, Arc<AlertState>)>,
}

/// What a collect stores besides its type.
pub(super) struct Collected {
    pub(super) payload: Payload,
    pub(super) context: Context,
    pub(super) function: Option<&'static str>,
}

impl ShardData {
    #[inline]
    pub(super) fn record(
        &mut self,
        inner: &Inner,
        key: TypeKey,
        collected: Collected,
        now: SystemTime,
    ) -> Recorded {
        let config = &inner.config;
        // A clock that stepped back since this shard's last collect: the other shards'
        // published counts were taken later than now, so only an exact count can be trusted.
        let stepped_back = self.last_now.is_some_and(|last| now < last);
        self.last_now = Some(now);
        let slot_index = self.slot(inner, key);
        let slot = &mut self.types[slot_index];
        slot.count += 1;
        slot.push_time(now, config.trend_capacity());
        let check_rate = if config.alerts_off() {
            None
        } else {
            slot.rate_check(now, config, stepped_back)
        };
        let error_type = slot.name;

        self.records.push_back(ErrorRecord {
            timestamp: now,
            error_type,
            payload: collected.payload,
            context: collected.context,
            function: collected.function,
            view: OnceLock::new(),
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
            published: 0,
        });
        self.types.len() - 1
    }

    /// How many errors of `name` this shard saw within the alert window before `now`, also
    /// published as this shard's share of the type's window count (the caller holds every
    /// shard's lock, so the published counts become exact for `now`).
    pub(super) fn recent(&mut self, name: &'static str, now: SystemTime, config: &Config) -> usize {
        self.types
            .iter_mut()
            .find(|slot| std::ptr::eq(slot.name, name))
            .map_or(0, |slot| {
                let count = slot.recent(now, config.alert_window);
                slot.publish(count);
                count
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
            // The sum stays an upper bound of the merged trend's window count, and the type's
            // total is unchanged.
            ours.published += theirs.published;
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
            slot.publish(0);
        }
        std::mem::take(&mut self.records)
    }

    /// Empties everything, statistics included; returns what was held.
    pub(super) fn take_all(&mut self) -> ShardData {
        for slot in &mut self.types {
            slot.publish(0);
        }
        std::mem::take(self)
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
    collected: Collected,
    now: SystemTime,
) -> Recorded {
    let mut pending = Some(collected);
    let recorded = LOCAL.try_with(|local| {
        let owner = Arc::as_ptr(inner);
        {
            let shards = local.try_borrow().ok()?;
            if let Some(found) = shards.0.iter().find(|l| l.owner.as_ptr() == owner) {
                let collected = pending.take()?;
                return Some(found.shard.lock().record(inner, key, collected, now));
            }
        }
        let shard = register(inner, local)?;
        let collected = pending.take()?;
        let recorded = shard.lock().record(inner, key, collected, now);
        Some(recorded)
    });
    match (recorded, pending.take()) {
        (Ok(Some(recorded)), _) => recorded,
        (_, Some(collected)) => inner
            .retired_shard()
            .lock()
            .record(inner, key, collected, now),
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

//! Per-thread slices of a collector: each thread records into its own shard, so collecting
//! takes no lock another thread wants. Readers lock every shard and merge.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::alert::AlertState;
use super::clock::{Stamp, cutoff, inside, within};
use super::context::Context;
use super::record::{ErrorRecord, Payload, TypeKey};
use super::ring::Ring;
use super::shard_lock::{ShardGuard, ShardLock};
use super::{Config, Inner};
use crate::{ErrorKind, McpStoreError};

/// One thread's history, statistics and trends. Aligned so two shards never share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Shard {
    data: ShardLock<ShardData>,
}

impl Shard {
    /// A shard whose entries carry `origin`, which orders them among entries of equal time.
    pub(super) fn new(origin: u32) -> Shard {
        Shard {
            data: ShardLock::new(ShardData {
                origin,
                ..ShardData::default()
            }),
        }
    }

    #[inline]
    pub(super) fn lock(&self) -> ShardGuard<'_, ShardData> {
        self.data.lock()
    }
}

#[derive(Debug, Default)]
pub(super) struct ShardData {
    /// Oldest first, at most `max_errors`.
    pub(super) records: Ring<Entry>,
    /// The `McpStoreError`s this shard's entries hold once for many.
    interned: Interned,
    pub(super) types: Vec<TypeSlot>,
    kind_slots: [Option<u32>; ErrorKind::ALL.len()],
    type_slots: Vec<(TypeId, u32)>,
    /// The time of this shard's last collect, to notice the clock stepping back.
    last_now: Option<Stamp>,
    /// Given at registration, in registration order, and carried by this shard's entries.
    origin: u32,
}

impl TypeSlot {
    /// Inserts `now` in time order (at the end, unless the clock stepped back) and drops the
    /// oldest beyond `capacity`.
    #[inline]
    fn push_time(&mut self, now: Stamp, capacity: usize) {
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
    fn recent(&self, now: Stamp, window: Duration) -> usize {
        let first_inside = self
            .trend
            .partition_point(|&then| !within(now, then, window));
        self.trend.len() - first_inside
    }

    /// `recent`, counting from the newest and stopping at `cap`: outside a burst only a few
    /// times are inside the window.
    #[inline]
    fn recent_up_to(&self, now: Stamp, window: Duration, cap: usize) -> usize {
        let cutoff = cutoff(now, window);
        self.trend
            .iter()
            .rev()
            .take(cap)
            .take_while(|&&then| inside(then, cutoff))
            .count()
    }

    /// Sets this shard's share of the type's window count; returns the sum over shards.
    #[inline]
    /// Publishes this shard's count at `now`; the sum over shards, and whether it bounds the
    /// count at `now` from above.
    fn publish(&mut self, count: usize, now: Stamp) -> (usize, bool) {
        let old = std::mem::replace(&mut self.published, count);
        self.alert.change_window_count(old, count, now)
    }

    /// Publishes a count of 0 for a shard emptied of its trend, true at any time.
    fn unpublish(&mut self) {
        let old = std::mem::take(&mut self.published);
        self.alert.withdraw(old);
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
        now: Stamp,
        config: &Config,
        stepped_back: bool,
    ) -> Option<(&'static str, Arc<AlertState>)> {
        let threshold = config.alert_threshold;
        let cap = threshold.saturating_add(1);
        let settled = if self.alert.is_firing() {
            // In a burst: this shard alone proving it (its `threshold + 1`-th newest time is
            // inside the window) keeps the alert raised.
            let proven = self.trend.len() > threshold
                && inside(
                    self.trend[self.trend.len() - 1 - threshold],
                    cutoff(now, config.alert_window),
                );
            if proven && self.published < cap {
                self.publish(cap, now);
            }
            proven
        } else {
            let local = self.recent_up_to(now, config.alert_window, cap);
            // A count another shard published at a later time (a clock stepped back under
            // this thread, or running ahead on that one) may miss errors within the window now.
            let (total, bound) = self.publish(local, now);
            total <= threshold && bound && !stepped_back
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
    pub(super) trend: VecDeque<Stamp>,
    pub(super) alert: Arc<AlertState>,
    /// This shard's share of `alert`'s window count: its count within the window when last
    /// computed. Changed only under this shard's lock, together with `alert`'s sum.
    published: usize,
}

/// One error of the history. A `McpStoreError` seen again and again (one value collected
/// from several places, or by several threads) is held once by the shard, so that collecting
/// it touches no reference count another thread also touches.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) timestamp: Stamp,
    /// The shard the entry was collected in, which breaks ties between equal times: kept
    /// when a thread's shard is merged into the retired one, so the history's order (and
    /// which entries it keeps) does not change when a thread ends.
    pub(super) origin: u32,
    pub(super) error_type: &'static str,
    /// The error's kind: the summary's code.
    pub(super) code: Option<ErrorKind>,
    held: Held,
    context: Context,
    function: Option<&'static str>,
}

impl Entry {
    /// Whether dropping this entry frees nothing and runs no code.
    #[inline]
    fn drops_nothing(&self) -> bool {
        matches!(self.held, Held::Interned(_)) && self.context.is_static()
    }
}

#[derive(Debug, Clone)]
enum Held {
    /// The error in this slot of the shard's `Interned`.
    Interned(u8),
    Own(Payload),
}

/// A small table of `McpStoreError`s, by address: each slot holds one error and how many
/// entries refer to it. An error may take any slot of two sets of four neighbours; a slot no
/// entry refers to is taken by the next error hashed to it; an error whose slots are all busy
/// with others is held by its entry.
#[derive(Debug, Default, Clone)]
pub(super) struct Interned {
    slots: Vec<InternSlot>,
}

#[derive(Debug, Default, Clone)]
struct InternSlot {
    error: Option<McpStoreError>,
    uses: u32,
}

const INTERNED_SLOTS: usize = 64;
/// How many slots a set has: one cache line.
const WAYS: usize = 4;
const SETS: usize = INTERNED_SLOTS / WAYS;

impl Interned {
    /// Holds `error` for one more entry, in `found` (its slot, from [`position`]) if it has
    /// one; returns the slot holding it (none when every slot it may take is busy: the entry
    /// then holds a clone) and the error the slot let go (to be dropped outside the lock).
    #[inline]
    fn hold(
        &mut self,
        error: &McpStoreError,
        found: Option<usize>,
    ) -> (Option<u8>, Option<McpStoreError>) {
        let (index, released) = if let Some(index) = found {
            self.slots[index].uses += 1;
            (index, None)
        } else {
            if self.slots.is_empty() {
                self.slots.resize_with(INTERNED_SLOTS, InternSlot::default);
            }
            match Self::candidates(error)
                .into_iter()
                .find(|&index| self.slots[index].uses == 0)
            {
                Some(index) => {
                    let slot = &mut self.slots[index];
                    slot.uses = 1;
                    (index, slot.error.replace(error.clone()))
                }
                None => return (None, None),
            }
        };
        (Some(u8::try_from(index).unwrap_or(u8::MAX)), released)
    }

    /// Whether a slot holds `error` (so `hold` takes that slot).
    #[cfg(test)]
    fn holds(&self, error: &McpStoreError) -> bool {
        self.position(error).is_some()
    }

    /// The slot holding `error`, if one does (it is held in one slot at most).
    #[inline]
    fn position(&self, error: &McpStoreError) -> Option<usize> {
        Self::candidates(error).into_iter().find(|&index| {
            self.slots
                .get(index)
                .and_then(|slot| slot.error.as_ref())
                .is_some_and(|held| held.is_same(error))
        })
    }

    /// The slots an error may take: two different sets of `WAYS` neighbours, picked by two
    /// parts of the Fibonacci hash of its address. With one set, an error among 16 found its
    /// set full about once in 30 groups of 16 (and was cloned and checked for secrets on
    /// every collect); with a second set to go to, about once in 350.
    #[inline]
    fn candidates(error: &McpStoreError) -> [usize; 2 * WAYS] {
        const SET_BITS: u32 = SETS.trailing_zeros();
        let hash = (error.address() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let first = (hash >> (64 - SET_BITS)) as usize;
        // Any set but the first.
        let offset = 1 + (hash >> (64 - 2 * SET_BITS)) as usize % (SETS - 1);
        let second = (first + offset) % SETS;
        std::array::from_fn(|at| {
            let set = if at < WAYS { first } else { second };
            set * WAYS + at % WAYS
        })
    }

    #[inline]
    fn release(&mut self, held: &Held) {
        if let Held::Interned(index) = held {
            if let Some(slot) = self.slots.get_mut(usize::from(*index)) {
                slot.uses = slot.uses.saturating_sub(1);
            }
        }
    }

    fn error(&self, index: u8) -> Option<&McpStoreError> {
        self.slots.get(usize::from(index))?.error.as_ref()
    }

    /// Lets go of every error, for entries that are all gone.
    fn take(&mut self) -> Vec<McpStoreError> {
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|slot| slot.error)
            .collect()
    }
}

impl ShardData {
    /// The table the entries' errors are held in, for [`Interned::record_of`] to read once
    /// the lock is released: a copy of at most 64 errors, not one per entry.
    pub(super) fn interned(&self) -> Interned {
        self.interned.clone()
    }
}

impl Interned {
    /// The public form of `entry`, an entry of the shard this table is (a copy of): pointers
    /// copied, nothing formatted.
    pub(super) fn record_of(&self, entry: &Entry) -> ErrorRecord {
        ErrorRecord {
            timestamp: entry.timestamp,
            error_type: entry.error_type,
            payload: self.payload_of(&entry.held),
            context: entry.context.clone(),
            function: entry.function,
            view: OnceLock::new(),
        }
    }

    fn payload_of(&self, held: &Held) -> Payload {
        match held {
            Held::Own(payload) => payload.clone(),
            Held::Interned(index) => match self.error(*index) {
                Some(error) => Payload::Store(error.clone()),
                // Unreachable: a slot keeps its error while an entry refers to it.
                None => Payload::EMPTY,
            },
        }
    }
}

/// The payload an entry holds of its own: a clone of a `McpStoreError` the table could not
/// take, or the payload taken out of the collect.
fn own_payload(error: &mut Incoming<'_>) -> Payload {
    match error {
        Incoming::Store(error) | Incoming::Unchecked(error) => Payload::Store((*error).clone()),
        Incoming::Other(payload) => std::mem::replace(payload, Payload::EMPTY),
    }
}

/// What a collect brings to the shard.
pub(super) enum Incoming<'e> {
    /// Held by the shard's table when it can be, else cloned. Redaction left it unchanged.
    Store(&'e McpStoreError),
    /// A `McpStoreError` whose details are still to be checked for secrets: the shard takes
    /// it when its table already holds it (found clean then, and unchangeable while held),
    /// and otherwise hands it back, to be checked outside the lock.
    Unchecked(&'e McpStoreError),
    Other(Payload),
}

impl Incoming<'_> {
    /// The `McpStoreError` the error is or wraps, if it is kept.
    pub(super) fn error(&self) -> Option<&McpStoreError> {
        match self {
            Incoming::Store(error) | Incoming::Unchecked(error) => Some(error),
            Incoming::Other(payload) => payload.error(),
        }
    }

    /// The error's message (its `Display`).
    pub(super) fn message(&self) -> &str {
        match self {
            Incoming::Store(error) | Incoming::Unchecked(error) => error.message(),
            Incoming::Other(payload) => payload.message(),
        }
    }

    /// The error's kind (see `Payload::kind`).
    pub(super) fn kind(&self) -> Option<ErrorKind> {
        match self {
            Incoming::Store(error) | Incoming::Unchecked(error) => Some(error.kind()),
            Incoming::Other(payload) => payload.kind(),
        }
    }

    /// The details of the `McpStoreError` the error is or wraps.
    pub(super) fn details(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        match self {
            Incoming::Store(error) | Incoming::Unchecked(error) => Some(error.details()),
            Incoming::Other(payload) => payload.details(),
        }
    }
}

/// What a collect leaves for the caller to do once the shard is unlocked: drop what it let
/// go of (dropping an error may run arbitrary code) and check the rate of a type. Filled in
/// place in the caller's frame: returned by value, it was copied out of the lock and through
/// each layer, with a stalled wide load of what was just written.
#[derive(Default)]
pub(super) struct Leftover {
    evicted: Option<Entry>,
    /// An error the shard's table let go of.
    released: Option<McpStoreError>,
    /// The type whose alert state needs the other shards' counts.
    pub(super) rate_check: Option<RateCheck>,
    /// The name the collect was filed under.
    pub(super) error_type: Option<&'static str>,
}

/// A collect a shard does not take as it is: a `McpStoreError` its table does not hold yet,
/// whose details the caller checks before trying again.
#[derive(Debug)]
pub(super) struct Refused;

/// A type whose alert state may change, which needs the other shards' counts.
pub(super) type RateCheck = (&'static str, Arc<AlertState>);

/// What a collect stores besides its type.
pub(super) struct Collected<'e> {
    pub(super) error: Incoming<'e>,
    pub(super) context: Context,
    pub(super) function: Option<&'static str>,
}

impl ShardData {
    /// Records `collected`, taking what it owns (it is left holding nothing), and fills
    /// `left` with what to drop unlocked and the type whose alert state needs the other
    /// shards' counts. Refuses, changing nothing, an unchecked `McpStoreError` the table does
    /// not hold.
    #[inline]
    pub(super) fn record<'e>(
        &mut self,
        inner: &Inner,
        key: TypeKey,
        collected: &mut Collected<'e>,
        now: Stamp,
        left: &mut Leftover,
    ) -> Result<(), Refused> {
        // Read field by field in place: moving the whole collect, just after the caller
        // wrote it, cost a stalled wide load per collect.
        // The error's slot in the table, looked up once. Refused before anything changes:
        // an unchecked error the table does not hold, which the caller checks unlocked.
        let found = match collected.error {
            Incoming::Store(error) => self.interned.position(error),
            Incoming::Unchecked(error) => match self.interned.position(error) {
                None => return Err(Refused),
                found => found,
            },
            Incoming::Other(_) => None,
        };
        let config = &inner.config;
        // A clock that stepped back since this shard's last collect: the other shards'
        // published counts were taken later than now, so only an exact count can be trusted.
        let stepped_back = self.last_now.is_some_and(|last| now < last);
        self.last_now = Some(now);
        let slot_index = self.slot(inner, key);
        let slot = &mut self.types[slot_index];
        slot.count += 1;
        slot.push_time(now, config.trend_capacity());
        left.rate_check = if config.alerts_off() {
            None
        } else {
            slot.rate_check(now, config, stepped_back)
        };
        let error_type = slot.name;
        left.error_type = Some(error_type);

        let code = collected.error.kind();
        let interned = match collected.error {
            // Unchecked: held already, so this takes its slot once more.
            Incoming::Store(error) | Incoming::Unchecked(error) => {
                let (interned, released) = self.interned.hold(error, found);
                left.released = released;
                interned
            }
            Incoming::Other(_) => None,
        };
        if let Some(oldest) = self.records.oldest_when_full(config.max_errors) {
            // The new entry takes the oldest's place, written field by field: the oldest is
            // moved out only when dropping it may run code.
            self.interned.release(&oldest.held);
            if oldest.drops_nothing() {
                oldest.timestamp = now;
                oldest.origin = self.origin;
                oldest.error_type = error_type;
                oldest.code = code;
                // Written in place: a `Held` built first and then moved cost a stalled copy.
                match interned {
                    Some(index) => oldest.held = Held::Interned(index),
                    None => oldest.held = Held::Own(own_payload(&mut collected.error)),
                }
                oldest.context = std::mem::take(&mut collected.context);
                oldest.function = collected.function;
                self.records.turn();
                return Ok(());
            }
        }
        let held = match interned {
            Some(index) => Held::Interned(index),
            None => Held::Own(own_payload(&mut collected.error)),
        };
        let entry = Entry {
            timestamp: now,
            origin: self.origin,
            error_type,
            code,
            held,
            context: std::mem::take(&mut collected.context),
            function: collected.function,
        };
        if let Some(oldest) = self.records.oldest_when_full(config.max_errors) {
            // Released above; dropping it may run code, so it is dropped unlocked.
            left.evicted = Some(std::mem::replace(oldest, entry));
            self.records.turn();
        } else if config.max_errors > 0 {
            self.records.push(entry, config.max_errors);
        } else {
            // Nothing is kept.
            self.interned.release(&entry.held);
            if !entry.drops_nothing() {
                left.evicted = Some(entry);
            }
        }
        Ok(())
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
    pub(super) fn recent(&mut self, name: &'static str, now: Stamp, config: &Config) -> usize {
        self.types
            .iter_mut()
            .find(|slot| std::ptr::eq(slot.name, name))
            .map_or(0, |slot| {
                let count = slot.recent(now, config.alert_window);
                slot.publish(count, now);
                count
            })
    }
    /// Takes in the shard of a thread that ended: its records merge by time (newest
    /// `max_errors` kept), its counts add up, its trends merge. Returns what fell out, for the
    /// caller to drop once its locks are released.
    #[must_use]
    pub(super) fn absorb(&mut self, inner: &Inner, mut other: ShardData) -> Leftovers {
        let config = &inner.config;
        // Their entries leave their table: each holds its own error from now on.
        let theirs = other.records.take().into_iter().map(|mut entry| {
            if let Held::Interned(_) = entry.held {
                entry.held = Held::Own(other.interned.payload_of(&entry.held));
            }
            entry
        });
        let mut records: Vec<Entry> = self.records.take();
        records.extend(theirs);
        // Stable: entries of one origin keep their order.
        records.sort_by_key(|entry| (entry.timestamp, entry.origin));
        let keep = records.split_off(records.len().saturating_sub(config.max_errors));
        let evicted = std::mem::replace(&mut records, keep);
        for entry in &evicted {
            self.interned.release(&entry.held);
        }
        self.records = records.into();

        for theirs in other.types {
            let index = self.slot_named(inner, theirs.name);
            let ours = &mut self.types[index];
            ours.count += theirs.count;
            // The sum stays an upper bound of the merged trend's window count, and the type's
            // total is unchanged.
            ours.published += theirs.published;
            let mut trend: Vec<Stamp> = ours.trend.drain(..).collect();
            trend.extend(theirs.trend);
            trend.sort();
            let skip = trend.len().saturating_sub(config.trend_capacity());
            ours.trend = trend.into_iter().skip(skip).collect();
        }
        Leftovers {
            entries: evicted,
            errors: other.interned.take(),
        }
    }

    /// Empties the history and the trends, keeping the counts; returns what was held.
    pub(super) fn take_history(&mut self) -> Leftovers {
        for slot in &mut self.types {
            slot.trend.clear();
            slot.unpublish();
        }
        Leftovers {
            entries: self.records.take(),
            errors: self.interned.take(),
        }
    }

    /// Empties everything, statistics included; returns what was held.
    pub(super) fn take_all(&mut self) -> ShardData {
        for slot in &mut self.types {
            slot.unpublish();
        }
        // The shard is still this thread's: its entries keep its place in the tie order.
        let origin = self.origin;
        let taken = std::mem::take(self);
        self.origin = origin;
        taken
    }
}

/// Entries and errors a shard let go of, to be dropped once the locks are released.
#[derive(Debug, Default)]
pub(super) struct Leftovers {
    #[allow(dead_code, reason = "held only to be dropped later")]
    entries: Vec<Entry>,
    #[allow(dead_code, reason = "held only to be dropped later")]
    errors: Vec<McpStoreError>,
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
///
/// Takes what `collected` owns once recorded; a refused one is left as it was. It stays in
/// the caller's frame throughout, instead of being moved through each layer and back.
pub(super) fn record_local(
    inner: &Arc<Inner>,
    key: TypeKey,
    collected: &mut Collected<'_>,
    now: Stamp,
    left: &mut Leftover,
) -> Result<(), Refused> {
    let recorded = LOCAL.try_with(|local| {
        let owner = Arc::as_ptr(inner);
        {
            let shards = local.try_borrow().ok()?;
            if let Some(found) = shards.0.iter().find(|l| l.owner.as_ptr() == owner) {
                return Some(found.shard.lock().record(inner, key, collected, now, left));
            }
        }
        let shard = register(inner, local)?;
        let recorded = shard.lock().record(inner, key, collected, now, left);
        Some(recorded)
    });
    match recorded {
        Ok(Some(recorded)) => recorded,
        // Nothing was recorded (`collected` is as it was).
        _ => inner
            .retired_shard()
            .lock()
            .record(inner, key, collected, now, left),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `hold` as a collect does it: the error's slot looked up first.
    fn hold(table: &mut Interned, error: &McpStoreError) -> (Held, Option<McpStoreError>) {
        let found = table.position(error);
        let (interned, released) = table.hold(error, found);
        let held = match interned {
            Some(index) => Held::Interned(index),
            None => Held::Own(Payload::Store(error.clone())),
        };
        (held, released)
    }

    #[test]
    fn errors_whose_first_set_is_full_go_to_their_second() {
        let errors: Vec<McpStoreError> = (0..400)
            .map(|i| McpStoreError::connection(format!("refused {i}")))
            .collect();
        let first_set = |error: &McpStoreError| Interned::candidates(error)[0] / WAYS;
        // Five errors whose first set is one and the same: a set holds four.
        let crowd: Vec<&McpStoreError> = errors
            .iter()
            .filter(|error| first_set(error) == first_set(&errors[0]))
            .take(WAYS + 1)
            .collect();
        assert_eq!(crowd.len(), WAYS + 1, "400 errors over 16 sets");
        let mut table = Interned::default();
        for error in &crowd {
            let candidates = Interned::candidates(error);
            assert_ne!(
                candidates[0] / WAYS,
                candidates[WAYS] / WAYS,
                "two different sets"
            );
            let (entry, _) = hold(&mut table, error);
            assert!(matches!(entry, Held::Interned(_)), "held in the table");
            assert!(table.holds(error));
        }
        // Each is found again where it was put, and a collect of it takes the same slot.
        for error in &crowd {
            let at = table.position(error).expect("held");
            assert!(matches!(hold(&mut table, error).0, Held::Interned(i) if usize::from(i) == at));
        }
    }

    #[test]
    fn a_repeated_error_is_held_once_for_all_its_entries() {
        let mut table = Interned::default();
        let error = McpStoreError::connection("refused");
        let mut held = Vec::new();
        for _ in 0..10 {
            let (entry, released) = hold(&mut table, &error);
            assert!(released.is_none());
            held.push(entry);
        }
        let Held::Interned(index) = held[0] else {
            panic!("an error in a free slot is interned");
        };
        assert!(
            held.iter()
                .all(|h| matches!(h, Held::Interned(i) if *i == index))
        );
        assert!(table.error(index).is_some_and(|kept| kept.is_same(&error)));
        assert_eq!(table.slots[usize::from(index)].uses, 10);
        for entry in &held {
            table.release(entry);
        }
        assert_eq!(table.slots[usize::from(index)].uses, 0);
        // A free slot keeps its error for the next collect of it; `take` lets go of it.
        assert_eq!(table.take().len(), 1);
        assert!(table.slots.is_empty());
    }

    #[test]
    fn an_error_is_held_in_one_of_its_slots_and_one_whose_slots_are_busy_by_its_entry() {
        let mut table = Interned::default();
        let errors: Vec<McpStoreError> = (0..400)
            .map(|i| McpStoreError::connection(format!("refused {i}")))
            .collect();
        let mut held = Vec::new();
        for error in &errors {
            let (entry, released) = hold(&mut table, error);
            assert!(released.is_none(), "no slot is free of entries yet");
            // `holds` agrees with `hold`: held in a slot exactly when the table holds it.
            match entry {
                Held::Interned(index) => {
                    assert!(table.holds(error));
                    assert!(Interned::candidates(error).contains(&usize::from(index)));
                    assert!(table.error(index).is_some_and(|kept| kept.is_same(error)));
                }
                Held::Own(_) => assert!(!table.holds(error)),
            }
            held.push(entry);
        }
        let interned = held
            .iter()
            .filter(|h| matches!(h, Held::Interned(_)))
            .count();
        assert_eq!(interned, INTERNED_SLOTS, "400 errors fill every slot");
        // Once their entries are gone, the slots give way to new errors.
        for entry in &held {
            table.release(entry);
        }
        let newcomer = McpStoreError::connection("new");
        let (entry, released) = hold(&mut table, &newcomer);
        assert!(matches!(entry, Held::Interned(_)));
        assert!(released.is_some(), "the slot let go of the error it kept");
        assert!(table.holds(&newcomer));
    }

    #[test]
    fn a_held_error_skips_the_details_check_and_one_with_a_secret_is_never_held() {
        use serde_json::json;
        let collector = crate::ErrorCollector::new(100);
        let clean = McpStoreError::service_not_found("fs");
        let secret = McpStoreError::tool_execution_failed("search", "denied", None)
            .with_detail("arguments", json!({"api_key": "sk-live-3"}));
        for _ in 0..3 {
            collector.collect(&clean, serde_json::Value::Null);
            collector.collect(&secret, serde_json::Value::Null);
        }
        // A builder copy of a held error is another error, checked again.
        let changed = clean.clone().with_detail("token", "sk-live-4");
        collector.collect(&changed, serde_json::Value::Null);
        collector.collect(&clean, serde_json::Value::Null);

        let (holds_clean, holds_secret, holds_changed) = collector.inner.with_shards(|shards| {
            let holds = |error: &McpStoreError| shards.iter().any(|s| s.interned.holds(error));
            (holds(&clean), holds(&secret), holds(&changed))
        });
        assert!(holds_clean);
        assert!(
            !holds_secret && !holds_changed,
            "only clean errors are held"
        );
        let records = collector.records();
        for record in records.iter().skip(1).step_by(2).take(3) {
            assert_eq!(
                record.details().unwrap()["arguments"],
                json!({"api_key": crate::REDACTED})
            );
            assert!(record.error().is_none());
        }
        assert_eq!(records[6].details().unwrap()["token"], crate::REDACTED);
        assert!(records[6].error().is_none());
        for record in [&records[0], &records[2], &records[4], &records[7]] {
            assert!(record.error().is_some_and(|kept| kept.is_same(&clean)));
        }
    }

    #[test]
    fn an_evicted_entry_that_may_run_code_when_dropped_is_handed_back_to_drop_unlocked() {
        let collector = crate::ErrorCollector::new(1);
        let inner = &collector.inner;
        let error = McpStoreError::connection("refused");
        let mut data = ShardData::default();
        let mut record = |incoming: Incoming<'_>, context: Context| {
            let mut left = Leftover::default();
            let mut collected = Collected {
                error: incoming,
                context,
                function: None,
            };
            let key = TypeKey::Kind(ErrorKind::Connection);
            assert!(
                data.record(
                    inner,
                    key,
                    &mut collected,
                    Stamp::of(std::time::SystemTime::now()),
                    &mut left
                )
                .is_ok()
            );
            assert!(collected.context.is_null(), "the context taken");
            assert!(
                matches!(collected.error, Incoming::Store(_))
                    || collected.error.message().is_empty(),
                "the payload taken"
            );
            left.evicted.is_some()
        };
        let own = || Incoming::Other(Payload::of_cause("own".to_owned(), None));
        let counted = || Context::from(serde_json::json!({"k": 1}));
        // Each collect evicts the one before; `record` tells whether it was handed back.
        assert!(!record(own(), counted()), "nothing to evict yet");
        assert!(
            record(Incoming::Store(&error), Context::null()),
            "own payload, counted context"
        );
        assert!(
            !record(Incoming::Store(&error), counted()),
            "held error, null context"
        );
        assert!(
            record(Incoming::Store(&error), Context::null()),
            "a counted context"
        );
        assert!(!record(own(), Context::null()), "held error, null context");
        assert!(
            record(Incoming::Store(&error), Context::null()),
            "an own payload"
        );
    }

    #[test]
    fn counting_from_the_newest_agrees_with_the_binary_search() {
        use std::time::UNIX_EPOCH;
        let base = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut slot = TypeSlot {
            name: "T",
            count: 0,
            trend: VecDeque::new(),
            alert: Arc::default(),
            published: 0,
        };
        // Times every 250 ms, one pushed out of order as after a clock step back.
        for millis in (0..5_000).step_by(250).chain([1_100]) {
            slot.push_time(Stamp::of(base + Duration::from_millis(millis)), 100);
        }
        assert!(
            slot.trend
                .iter()
                .zip(slot.trend.iter().skip(1))
                .all(|(a, b)| a <= b)
        );
        for now_millis in (0..6_000).step_by(125) {
            let now = Stamp::of(base + Duration::from_millis(now_millis));
            for window in [0, 1, 250, 251, 1_000, 10_000].map(Duration::from_millis) {
                let exact = slot.recent(now, window);
                assert_eq!(slot.recent_up_to(now, window, usize::MAX), exact);
                assert_eq!(slot.recent_up_to(now, window, 3), exact.min(3));
            }
        }
    }
}

//! Reading the history across shards: the newest `max_errors` records, oldest first.

use std::mem::MaybeUninit;

use super::clock::Stamp;
use super::record::ErrorRecord;
use super::shard::{Entry, Interned, ShardData};
use super::shard_lock::ShardGuard;

/// The newest `max_errors` entries (latest timestamps; equal times are broken by the shard
/// each was collected in, in registration order, then position), in no particular order: for reads that only count
/// them, which then need no sort.
pub(super) fn newest_unordered<'a>(
    shards: &'a [ShardGuard<'_, ShardData>],
    max_errors: usize,
) -> Vec<(usize, &'a Entry)> {
    let held: usize = shards.iter().map(|shard| shard.records.len()).sum();
    if held <= max_errors {
        return shards
            .iter()
            .enumerate()
            .flat_map(|(shard, data)| data.records.iter().map(move |entry| (shard, entry)))
            .collect();
    }
    let mut all: Vec<(usize, usize, &'a Entry)> = keyed(shards);
    let oldest_kept = all.len() - max_errors;
    all.select_nth_unstable_by(oldest_kept, order);
    all.drain(..oldest_kept);
    all.into_iter()
        .map(|(shard, _, entry)| (shard, entry))
        .collect()
}

/// Every record with its shard and position: with its origin, the position breaks ties
/// between equal times.
fn keyed<'a>(shards: &'a [ShardGuard<'_, ShardData>]) -> Vec<(usize, usize, &'a Entry)> {
    shards
        .iter()
        .enumerate()
        .flat_map(|(shard, data)| {
            data.records
                .iter()
                .enumerate()
                .map(move |(position, record)| (shard, position, record))
        })
        .collect()
}

fn order(a: &(usize, usize, &Entry), b: &(usize, usize, &Entry)) -> std::cmp::Ordering {
    (a.2.timestamp, a.2.origin, a.1).cmp(&(b.2.timestamp, b.2.origin, b.1))
}

/// An entry copied out of a shard, with what orders it (time, then origin, then position)
/// and the index of the shard whose table holds its error. An entry's error held by the
/// table stays a slot number: its reference count is raised, like the record built, after
/// the locks are released.
pub(super) type Copied = ((Stamp, u32, usize), usize, Entry);

/// Every shard's entries, copied with the shards' tables (one per shard, in shard order).
pub(super) struct Copies {
    pub(super) entries: Vec<Copied>,
    tables: Vec<Interned>,
}

/// An empty buffer with room for `capacity` copies, each of its pages written once, here:
/// fresh memory is faulted in on its first write, and 100,000 copies (15 MB) faulted in
/// under the shard locks stalled collects for 2 to 9 ms per export.
pub(super) fn touched(capacity: usize) -> Vec<Copied> {
    // Smaller than any page size in use: every page gets at least one write.
    const PAGE: usize = 4096;
    let mut copies = Vec::with_capacity(capacity);
    let per_page = (PAGE / size_of::<Copied>()).max(1);
    for slot in copies.spare_capacity_mut().iter_mut().step_by(per_page) {
        *slot = MaybeUninit::zeroed();
    }
    copies
}

/// Copies every entry of every shard (pointers and slot numbers only) into `entries`, with
/// the shards' tables, for [`newest_of_copies`] to choose, order and make records of once
/// the locks are released.
pub(super) fn copy_all(shards: &[ShardGuard<'_, ShardData>], mut entries: Vec<Copied>) -> Copies {
    let held = shards.iter().map(|shard| shard.records.len()).sum();
    entries.reserve(held);
    for (index, shard) in shards.iter().enumerate() {
        entries.extend(shard.records.iter().enumerate().map(|(position, entry)| {
            (
                (entry.timestamp, entry.origin, position),
                index,
                entry.clone(),
            )
        }));
    }
    let tables = shards.iter().map(|shard| shard.interned()).collect();
    Copies { entries, tables }
}

/// The newest `max_errors` of `copies`, oldest first: the same choice as [`newest_unordered`]. Copies of
/// one shard come in order, which the sort finds at once.
pub(super) fn newest_of_copies(copies: Copies, max_errors: usize) -> Vec<ErrorRecord> {
    let Copies {
        mut entries,
        tables,
    } = copies;
    if entries.len() > max_errors {
        let oldest_kept = entries.len() - max_errors;
        entries.select_nth_unstable_by_key(oldest_kept, |(key, _, _)| *key);
        entries.drain(..oldest_kept);
    }
    entries.sort_unstable_by_key(|(key, _, _)| *key);
    entries
        .iter()
        .map(|(_, shard, entry)| tables[*shard].record_of(entry))
        .collect()
}

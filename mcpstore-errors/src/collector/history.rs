//! Reading the history across shards: the newest `max_errors` records, oldest first.

use std::sync::MutexGuard;

use super::clock::Stamp;
use super::record::ErrorRecord;
use super::shard::{Entry, ShardData};

/// The newest `max_errors` entries (latest timestamps; equal times in different shards are
/// broken by shard order, then position), in no particular order: for reads that only count
/// them, which then need no sort.
pub(super) fn newest_unordered<'a>(
    shards: &'a [MutexGuard<'_, ShardData>],
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

/// Every record with its shard and position, which break ties between equal times.
fn keyed<'a>(shards: &'a [MutexGuard<'_, ShardData>]) -> Vec<(usize, usize, &'a Entry)> {
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
    (a.2.timestamp, a.0, a.1).cmp(&(b.2.timestamp, b.0, b.1))
}

/// A record copied out of a shard, with what orders it: time, then shard, then position.
pub(super) type Copied = ((Stamp, usize, usize), ErrorRecord);

/// Copies every record of every shard (pointers only), for [`newest_of_copies`] to choose and order once
/// the locks are released.
pub(super) fn copy_all(shards: &[MutexGuard<'_, ShardData>]) -> Vec<Copied> {
    let held = shards.iter().map(|shard| shard.records.len()).sum();
    let mut copies = Vec::with_capacity(held);
    for (index, shard) in shards.iter().enumerate() {
        copies.extend(
            shard.records.iter().enumerate().map(|(position, entry)| {
                ((entry.timestamp, index, position), shard.record_of(entry))
            }),
        );
    }
    copies
}

/// The newest `max_errors` of `copies`, oldest first: the same choice as [`newest_unordered`]. Copies of
/// one shard come in order, which the sort finds at once.
pub(super) fn newest_of_copies(mut copies: Vec<Copied>, max_errors: usize) -> Vec<ErrorRecord> {
    if copies.len() > max_errors {
        let oldest_kept = copies.len() - max_errors;
        copies.select_nth_unstable_by_key(oldest_kept, |(key, _)| *key);
        copies.drain(..oldest_kept);
    }
    copies.sort_unstable_by_key(|(key, _)| *key);
    copies.into_iter().map(|(_, record)| record).collect()
}

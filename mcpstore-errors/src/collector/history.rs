//! Reading the history across shards: the newest `max_errors` records, oldest first.

use std::sync::MutexGuard;

use super::shard::{Entry, ShardData};

/// The newest `max_errors` entries of all shards, oldest first, each with its shard's index. Newest means latest
/// timestamp; records with the same timestamp in different shards keep shard order, so the
/// choice is well defined.
pub(super) fn newest<'a>(
    shards: &'a [MutexGuard<'_, ShardData>],
    max_errors: usize,
) -> Vec<(usize, &'a Entry)> {
    let mut filled = shards.iter().filter(|shard| !shard.records.is_empty());
    match (filled.next(), filled.next()) {
        (None, _) => Vec::new(),
        // One shard (the common case): its ring already holds its newest, in order.
        (Some(_), None) => shards
            .iter()
            .enumerate()
            .flat_map(|(shard, data)| data.records.iter().map(move |entry| (shard, entry)))
            .collect(),
        _ => merge(shards, max_errors),
    }
}

/// The same records as [`newest`], in no particular order: for reads that only count them,
/// which then need no sort.
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

fn merge<'a>(
    shards: &'a [MutexGuard<'_, ShardData>],
    max_errors: usize,
) -> Vec<(usize, &'a Entry)> {
    let mut all = keyed(shards);
    if all.len() > max_errors {
        let oldest_kept = all.len() - max_errors;
        all.select_nth_unstable_by(oldest_kept, order);
        all.drain(..oldest_kept);
    }
    all.sort_unstable_by(order);
    all.into_iter()
        .map(|(shard, _, entry)| (shard, entry))
        .collect()
}

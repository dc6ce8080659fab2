//! The seed's error summary over a window of the history.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::clock::{Stamp, cutoff, inside};
use super::shard::Entry;
use crate::ErrorKind;

/// Counts of the errors in the history collected within a window, as returned by
/// [`ErrorCollector::summary`](crate::ErrorCollector::summary).
///
/// Serializes with the seed's keys; `hourly_distribution` maps the hour of day (0–23, UTC) to
/// a count.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{ErrorCollector, McpStoreError};
///
/// let collector = ErrorCollector::new(100);
/// collector.collect(&McpStoreError::service_not_found("fs"), serde_json::Value::Null);
/// collector.collect(&std::fmt::Error, serde_json::Value::Null);
/// let summary = collector.summary(Duration::from_secs(3600));
/// assert_eq!(summary.total_errors, 2);
/// assert_eq!(summary.error_types["ServiceNotFoundError"], 1);
/// assert_eq!(summary.error_types["Error"], 1);
/// assert_eq!(summary.error_codes["SERVICE_NOT_FOUND"], 1);
/// assert_eq!(summary.hourly_distribution.values().sum::<usize>(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ErrorSummary {
    /// How many errors of the history fall within the window.
    pub total_errors: usize,
    /// Those errors counted by type.
    pub error_types: BTreeMap<String, usize>,
    /// Those errors that carry a code, counted by code.
    pub error_codes: BTreeMap<String, usize>,
    /// Those errors counted by the hour of day (UTC) they were collected in.
    pub hourly_distribution: BTreeMap<u8, usize>,
}

/// Counts `records` younger than `window` at `now` (strictly after `now - window`, as the
/// seed's `timestamp > cutoff`).
pub(super) fn summarize<'a>(
    records: impl IntoIterator<Item = &'a Entry>,
    now: Stamp,
    window: Duration,
) -> ErrorSummary {
    let cutoff = cutoff(now, window);
    let mut total = 0;
    // Counted by interned name address and by kind first; strings are made once per type.
    let mut types = TypeCounts::default();
    let mut codes = [0usize; ErrorKind::ALL.len()];
    let mut hours = [0usize; 24];
    let mut hour_of = HourOf::default();
    for record in records {
        if !inside(record.timestamp, cutoff) {
            continue;
        }
        total += 1;
        types.add(record.error_type);
        if let Some(kind) = record.code {
            codes[kind as usize] += 1;
        }
        hours[hour_of.get(record.timestamp)] += 1;
    }

    let mut summary = ErrorSummary {
        total_errors: total,
        ..ErrorSummary::default()
    };
    for (name, count) in types.into_counts() {
        *summary.error_types.entry(name.to_owned()).or_default() += count;
    }
    for kind in ErrorKind::ALL {
        let count = codes[kind as usize];
        if count > 0 {
            *summary
                .error_codes
                .entry(kind.code().to_owned())
                .or_default() += count;
        }
    }
    for (hour, &count) in (0u8..).zip(&hours) {
        if count > 0 {
            summary.hourly_distribution.insert(hour, count);
        }
    }
    summary
}

/// Counts per interned type name: each name has a bucket picked by its address, tried first
/// (two comparisons where a search of the list took one per type); a name whose bucket is
/// taken is counted in the list.
#[derive(Default)]
struct TypeCounts {
    buckets: [Option<(&'static str, usize)>; TYPE_BUCKETS],
    others: Vec<(&'static str, usize)>,
}

const TYPE_BUCKETS: usize = 16;

impl TypeCounts {
    #[inline]
    fn add(&mut self, name: &'static str) {
        let hash = (name.as_ptr() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bucket = &mut self.buckets[(hash >> (64 - TYPE_BUCKETS.trailing_zeros())) as usize];
        match bucket {
            Some((held, count)) if std::ptr::eq(*held, name) => *count += 1,
            None => *bucket = Some((name, 1)),
            Some(_) => match self
                .others
                .iter_mut()
                .find(|(held, _)| std::ptr::eq(*held, name))
            {
                Some((_, count)) => *count += 1,
                None => self.others.push((name, 1)),
            },
        }
    }

    fn into_counts(self) -> impl Iterator<Item = (&'static str, usize)> {
        self.buckets.into_iter().flatten().chain(self.others)
    }
}

/// `hour_of_day`, remembering the hour it last computed: a history is in time order within
/// each shard, so most entries fall in the hour of the one before, and are told by two
/// comparisons instead of a `duration_since` and two divisions.
struct HourOf {
    /// The hour `[start, end)` (empty at first) and its hour of day.
    start: Stamp,
    end: Stamp,
    hour: usize,
}

impl Default for HourOf {
    fn default() -> Self {
        let epoch = Stamp::of(UNIX_EPOCH);
        HourOf {
            start: epoch,
            end: epoch,
            hour: 0,
        }
    }
}

impl HourOf {
    #[inline]
    fn get(&mut self, time: Stamp) -> usize {
        if self.start <= time && time < self.end {
            return self.hour;
        }
        self.compute(time)
    }

    #[cold]
    fn compute(&mut self, stamp: Stamp) -> usize {
        let time = stamp.time();
        let hour = hour_of_day(time);
        // Remembered for times after the epoch only (the others are rare, and computed).
        let start = time.duration_since(UNIX_EPOCH).map(|since| {
            UNIX_EPOCH + Duration::from_secs(since.as_secs() - since.as_secs() % 3_600)
        });
        if let Some((start, end)) = start
            .ok()
            .and_then(|start| Some((start, start.checked_add(Duration::from_secs(3_600))?)))
        {
            (self.start, self.end, self.hour) = (Stamp::of(start), Stamp::of(end), hour);
        }
        hour
    }
}

/// The UTC hour of day. Unix time has exactly 86 400 seconds a day, so this is exact;
/// times before the epoch count back from midnight.
fn hour_of_day(time: SystemTime) -> usize {
    let seconds_into_day = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs() % 86_400,
        Err(before) => {
            // Floored: a time 0.5 s before midnight is in the second before it, not at it.
            let before = before.duration();
            let seconds = before.as_secs() + u64::from(before.subsec_nanos() > 0);
            (86_400 - seconds % 86_400) % 86_400
        }
    };
    (seconds_into_day / 3_600) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_counted_exactly_beyond_the_buckets() {
        let names: Vec<&'static str> = (0..3 * TYPE_BUCKETS)
            .map(|i| &*Box::leak(format!("Type{i}").into_boxed_str()))
            .collect();
        let mut counts = TypeCounts::default();
        for (i, name) in names.iter().enumerate() {
            for _ in 0..=i {
                counts.add(name);
            }
        }
        let mut counted: Vec<(&str, usize)> = counts.into_counts().collect();
        counted.sort_by_key(|&(_, count)| count);
        let expected: Vec<(&str, usize)> = names
            .iter()
            .enumerate()
            .map(|(i, &name)| (name, i + 1))
            .collect();
        assert_eq!(counted, expected);
    }

    #[test]
    fn the_remembered_hour_is_the_computed_one_in_any_order() {
        let day = 86_400 * 20_000;
        let mut times: Vec<SystemTime> = [
            0,
            1,
            3_599,
            3_600,
            3_601,
            7_199,
            86_399,
            86_400,
            day,
            day + 3_599,
            day + 3_600,
        ]
        .iter()
        .flat_map(|&secs| {
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            [at, at + Duration::from_nanos(999_999_999)]
        })
        .collect();
        // Before the epoch too.
        times.extend(
            [1, 3_599, 3_600, 3_601, 86_400].map(|secs| UNIX_EPOCH - Duration::from_secs(secs)),
        );
        let mut reversed = times.clone();
        reversed.reverse();
        for order in [
            times.clone(),
            reversed,
            times.iter().chain(&times).copied().collect(),
        ] {
            let mut hour_of = HourOf::default();
            for time in order {
                assert_eq!(hour_of.get(Stamp::of(time)), hour_of_day(time), "{time:?}");
            }
        }
    }
}

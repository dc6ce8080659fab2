//! The seed's error summary over a window of the history.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

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
    now: SystemTime,
    window: Duration,
) -> ErrorSummary {
    let cutoff = now.checked_sub(window);
    let mut total = 0;
    // Counted by interned name address and by kind first; strings are made once per entry.
    let mut types: Vec<(&'static str, usize)> = Vec::new();
    let mut codes = [0usize; ErrorKind::ALL.len()];
    let mut hours = [0usize; 24];
    for record in records {
        if cutoff.is_some_and(|cutoff| record.timestamp <= cutoff) {
            continue;
        }
        total += 1;
        match types
            .iter_mut()
            .find(|(name, _)| std::ptr::eq(*name, record.error_type))
        {
            Some((_, count)) => *count += 1,
            None => types.push((record.error_type, 1)),
        }
        if let Some(kind) = record.code {
            codes[kind as usize] += 1;
        }
        hours[hour_of_day(record.timestamp)] += 1;
    }

    let mut summary = ErrorSummary {
        total_errors: total,
        ..ErrorSummary::default()
    };
    for (name, count) in types {
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

/// The UTC hour of day. Unix time has exactly 86 400 seconds a day, so this is exact;
/// times before the epoch count back from midnight.
fn hour_of_day(time: SystemTime) -> usize {
    let seconds_into_day = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs() % 86_400,
        Err(before) => (86_400 - before.duration().as_secs() % 86_400) % 86_400,
    };
    (seconds_into_day / 3_600) as usize
}

//! Writing the history as the seed's JSON document, atomically.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Map;

use super::context::ContextView;
use super::file::{self, ExportOptions};
use super::pretty::write_value;
use super::record::{ErrorRecord, Payload, iso_datetime};
use crate::error::{io_error_kind, unix_seconds};
use crate::{ErrorKind, McpStoreError};

/// What an export writes, copied out of the collector under its locks.
pub(super) struct Snapshot {
    pub(super) now: SystemTime,
    pub(super) records: Vec<ErrorRecord>,
    pub(super) statistics: BTreeMap<String, u64>,
}

impl Snapshot {
    /// The document to write, borrowing the snapshot.
    pub(super) fn document(&self) -> ExportDocument<'_> {
        ExportDocument {
            export_time: export_time(self.now),
            total_errors: self.records.len(),
            errors: &self.records,
            statistics: &self.statistics,
        }
    }
}

/// The exported document, keys in the seed's order.
#[derive(Serialize)]
pub(super) struct ExportDocument<'a> {
    pub(super) export_time: Option<String>,
    pub(super) total_errors: usize,
    pub(super) errors: &'a [ErrorRecord],
    pub(super) statistics: &'a BTreeMap<String, u64>,
}

/// `errors_YYYYmmdd_HHMMSS.json` for `now`, in UTC.
pub(super) fn default_file_name(now: SystemTime) -> Result<String, McpStoreError> {
    jiff::Timestamp::try_from(now)
        .and_then(|now| jiff::fmt::strtime::format("errors_%Y%m%d_%H%M%S.json", now))
        .map_err(|error| {
            McpStoreError::configuration(format!("Cannot name the export file: {error}"))
                .with_source(error)
        })
}

pub(super) fn export_time(now: SystemTime) -> Option<String> {
    iso_datetime(now)
}

/// Writes `document` pretty-printed (UTF-8 as is) over `path`, atomically (see
/// [`file::replace`]).
pub(super) fn write_atomically(
    path: &Path,
    document: &ExportDocument<'_>,
    options: &ExportOptions,
) -> Result<(), McpStoreError> {
    file::replace(path, options, |file| write_document(file, document))
        .map_err(|error| export_error(path, error))
}

fn write_document(file: &mut File, document: &ExportDocument<'_>) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(1 << 16, file);
    write_pretty(&mut writer, document)?;
    writer.flush()
}

/// Writes what `serde_json::to_writer_pretty(writer, document)` writes, byte for byte, with
/// what records share rendered once: the part of a record its `McpStoreError` decides (type,
/// message, code, details), its context, and the second of its time. Records hold their
/// errors and contexts for the whole export, so an address names one value throughout.
pub(super) fn write_pretty<W: Write>(
    writer: &mut W,
    document: &ExportDocument<'_>,
) -> io::Result<()> {
    writer.write_all(b"{\n  \"export_time\": ")?;
    write_value(writer, 1, &document.export_time)?;
    writer.write_all(b",\n  \"total_errors\": ")?;
    write_value(writer, 1, &document.total_errors)?;
    writer.write_all(b",\n  \"errors\": [")?;
    let mut fragments = Fragments::default();
    let mut datetimes = Datetimes::default();
    for (index, record) in document.errors.iter().enumerate() {
        writer.write_all(if index == 0 { b"\n    {" } else { b",\n    {" })?;
        write_record(writer, record, &mut fragments, &mut datetimes)?;
        writer.write_all(b"\n    }")?;
    }
    if !document.errors.is_empty() {
        writer.write_all(b"\n  ")?;
    }
    writer.write_all(b"],\n  \"statistics\": ")?;
    write_value(writer, 1, document.statistics)?;
    writer.write_all(b"\n}")
}

/// The fields of one record, as `ErrorRecord`'s `Serialize` gives them, inside the braces.
fn write_record<W: Write>(
    writer: &mut W,
    record: &ErrorRecord,
    fragments: &mut Fragments,
    datetimes: &mut Datetimes,
) -> io::Result<()> {
    let timestamp = record.timestamp.time();
    writer.write_all(b"\n      \"timestamp\": ")?;
    write_value(writer, RECORD_FIELD, &unix_seconds(timestamp))?;
    writer.write_all(b",\n      \"datetime\": ")?;
    datetimes.write(writer, timestamp)?;
    let error_key = match &record.payload {
        Payload::Store(error) => Some([
            record.error_type.as_ptr() as usize,
            record.error_type.len(),
            error.address(),
        ]),
        // Their messages are their own.
        _ => None,
    };
    fragments.write(writer, error_key, |out| write_error_part(out, record))?;
    let context = record.context.value();
    let context_key = [
        std::ptr::from_ref(context) as usize,
        record.function.map_or(0, |f| f.as_ptr() as usize),
        record.function.map_or(usize::MAX, str::len),
    ];
    fragments.write(writer, Some(context_key), |out| {
        out.write_all(b",\n      \"context\": ")?;
        let view = ContextView {
            context,
            function: record.function,
        };
        write_value(out, RECORD_FIELD, &view)
    })
}

/// How deep a record's fields are: in the document, the `errors` list and the record.
const RECORD_FIELD: usize = 3;

fn write_error_part<W: Write>(writer: &mut W, record: &ErrorRecord) -> io::Result<()> {
    let empty = Map::new();
    writer.write_all(b",\n      \"error_type\": ")?;
    write_value(writer, RECORD_FIELD, record.error_type)?;
    writer.write_all(b",\n      \"error_message\": ")?;
    write_value(writer, RECORD_FIELD, record.message())?;
    writer.write_all(b",\n      \"error_code\": ")?;
    write_value(writer, RECORD_FIELD, &record.code())?;
    writer.write_all(b",\n      \"details\": ")?;
    write_value(writer, RECORD_FIELD, record.details().unwrap_or(&empty))
}

/// Rendered parts of records, by the addresses that decide them: a small table, each key in
/// one slot (picked by its hash), the newest rendering winning. A part longer than
/// `MAX_FRAGMENT` is written straight through, so the table stays small.
#[derive(Default)]
struct Fragments {
    slots: Vec<Option<([usize; 3], Vec<u8>)>>,
    scratch: Vec<u8>,
}

const FRAGMENT_SLOTS: usize = 64;
const MAX_FRAGMENT: usize = 4096;

impl Fragments {
    fn write<W: Write>(
        &mut self,
        writer: &mut W,
        key: Option<[usize; 3]>,
        render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(key) = key else {
            self.scratch.clear();
            render(&mut self.scratch)?;
            return writer.write_all(&self.scratch);
        };
        if self.slots.is_empty() {
            self.slots.resize_with(FRAGMENT_SLOTS, || None);
        }
        let hash = key.iter().fold(0u64, |hash, &part| {
            (hash ^ part as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        });
        let slot = &mut self.slots[(hash >> (64 - FRAGMENT_SLOTS.trailing_zeros())) as usize];
        if let Some((held, bytes)) = slot {
            if *held == key {
                return writer.write_all(bytes);
            }
        }
        self.scratch.clear();
        render(&mut self.scratch)?;
        writer.write_all(&self.scratch)?;
        if self.scratch.len() <= MAX_FRAGMENT {
            let (held, bytes) = slot.get_or_insert_with(|| (key, Vec::new()));
            *held = key;
            bytes.clear();
            bytes.extend_from_slice(&self.scratch);
        }
        Ok(())
    }
}

/// A record's `datetime`, from jiff's text for its whole second (made once per second) and
/// the microseconds written here.
#[derive(Default)]
struct Datetimes {
    /// The whole second since the epoch, and jiff's text for it split around the fraction.
    second: Option<(u64, Option<(String, String)>)>,
}

impl Datetimes {
    fn write<W: Write>(&mut self, writer: &mut W, time: SystemTime) -> io::Result<()> {
        let Ok(since) = time.duration_since(UNIX_EPOCH) else {
            return write_value(writer, RECORD_FIELD, &iso_datetime(time));
        };
        let whole = since.as_secs();
        if self
            .second
            .as_ref()
            .is_none_or(|(second, _)| *second != whole)
        {
            let text = iso_datetime(UNIX_EPOCH + Duration::from_secs(whole));
            let parts = text.and_then(|text| {
                let (before, after) = text.split_once('.')?;
                // `after`: six zeros, then the offset.
                let offset = after.strip_prefix("000000")?;
                Some((before.to_owned(), offset.to_owned()))
            });
            self.second = Some((whole, parts));
        }
        match &self.second {
            Some((_, Some((before, offset)))) => {
                let mut micros = since.subsec_micros();
                let mut digits = *b".000000";
                for digit in digits[1..].iter_mut().rev() {
                    *digit = b'0' + (micros % 10) as u8;
                    micros /= 10;
                }
                writer.write_all(b"\"")?;
                writer.write_all(before.as_bytes())?;
                writer.write_all(&digits)?;
                writer.write_all(offset.as_bytes())?;
                writer.write_all(b"\"")
            }
            // Not of the expected shape (or out of jiff's range): as the record writes it.
            _ => write_value(writer, RECORD_FIELD, &iso_datetime(time)),
        }
    }
}

/// A configuration error for a path that cannot be written (missing folder, no permission),
/// a plain MCPStore error otherwise; the path is in the message and the details.
fn export_error(path: &Path, error: io::Error) -> McpStoreError {
    let kind = match io_error_kind(error.kind()) {
        ErrorKind::Configuration => ErrorKind::Configuration,
        _ => ErrorKind::McpStore,
    };
    let shown = path.display();
    McpStoreError::new(kind, format!("Cannot export errors to '{shown}': {error}"))
        .with_detail("path", shown.to_string())
        .with_source(error)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, LazyLock};

    use serde_json::{Value, json};

    use super::*;
    use crate::collector::Context;
    use crate::{ErrorCollector, ManualClock};

    /// What `to_writer_pretty` writes for the document, and what `write_pretty` writes.
    fn both(collector: &ErrorCollector) -> (String, String) {
        let snapshot = collector.snapshot();
        let reference = serde_json::to_string_pretty(&snapshot.document()).unwrap();
        let mut ours = Vec::new();
        write_pretty(&mut ours, &snapshot.document()).unwrap();
        (String::from_utf8(ours).unwrap(), reference)
    }

    #[test]
    fn the_export_writes_serde_jsons_pretty_document_byte_for_byte() {
        static SHARED: LazyLock<Value> =
            LazyLock::new(|| json!({"operation": "call_tool", "quote": "a \"b\"\n\u{e9}"}));
        let clock = Arc::new(ManualClock::starting_at(
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ));
        let collector = ErrorCollector::builder()
            .max_errors(10_000)
            .clock(Arc::clone(&clock))
            .build();
        assert_eq!(both(&collector).0, both(&collector).1, "an empty history");

        let errors: Vec<McpStoreError> = (0..20)
            .map(|i| McpStoreError::service_not_found(format!("service-{i}")))
            .collect();
        let secret = McpStoreError::connection("refused")
            .with_detail("auth", json!({"token": "t", "nested": [1, {"k": "v"}]}));
        let arc = Arc::new(json!(["a", 1, null, {}]));
        for i in 0..400 {
            // Within a second, across seconds, and a step back before the epoch.
            clock.advance(Duration::from_nanos(123_456_789 + i * 7_919));
            if i == 200 {
                clock.set_system_time(UNIX_EPOCH - Duration::from_millis(1_500));
            }
            let error = &errors[i as usize % errors.len()];
            match i % 7 {
                0 => collector.collect(error, &*SHARED),
                1 => collector.collect(error, json!({"i": i, "nested": {"deep": [i]}})),
                2 => collector.collect(&secret, &arc),
                3 => collector.collect(&std::io::Error::other(format!("disk {i}")), Value::Null),
                4 => collector.collect_in(error, Context::from(&*SHARED), Some("handler")),
                5 => collector.collect_in(error, Context::from(json!(7)), Some("f")),
                // Larger than a remembered part.
                _ => collector.collect(error, json!({"big": "x".repeat(MAX_FRAGMENT)})),
            }
        }
        let (ours, reference) = both(&collector);
        assert_eq!(ours, reference);
    }
}

//! Writing the history as the seed's JSON document, atomically.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use super::file::{self, ExportOptions};
use super::record::{ErrorRecord, iso_datetime};
use crate::error::io_error_kind;
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
    serde_json::to_writer_pretty(&mut writer, document)?;
    writer.flush()
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

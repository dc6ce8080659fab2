//! Turns the crate's `tracing` events into short readable lines for the examples.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use mcpstore_errors::ErrorSummary;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Prints `INFO` and higher events as one line each: a tag naming the part of the system that
/// spoke, the message, the state change it reports (a circuit breaker's `from` → `to`), and
/// the error it is about. `RUST_LOG` overrides the level.
///
/// Does nothing if a subscriber is already installed.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(Readable)
        .try_init();
}

/// The line format of [`init`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Readable;

impl<S, N> FormatEvent<S, N> for Readable
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mark = match *meta.level() {
            Level::ERROR => "✗",
            Level::WARN => "!",
            _ => "·",
        };
        write!(
            writer,
            "  {mark} {:<9} {}",
            tag(meta.target()),
            fields.message
        )?;
        if let (Some(from), Some(to)) = (&fields.from, &fields.to) {
            write!(writer, ": {from} → {to}")?;
            if let Some(ms) = fields.open_for_ms {
                write!(writer, " for {ms}ms")?;
            }
        }
        if let Some(error) = fields.error {
            write!(writer, ": {error}")?;
        }
        writeln!(writer)
    }
}

/// The last segment of the crate's targets (`mcpstore_errors::retry` → `retry`), else the target.
fn tag(target: &str) -> &str {
    target.rsplit("::").next().unwrap_or(target)
}

#[derive(Default)]
struct Fields {
    message: String,
    error: Option<String>,
    from: Option<String>,
    to: Option<String>,
    open_for_ms: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "error" => self.error = Some(format!("{value:?}")),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "error" => self.error = Some(value.to_owned()),
            "from" => self.from = Some(value.to_owned()),
            "to" => self.to = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "open_for_ms" => self.open_for_ms = Some(value),
            _ => self.record_debug(field, &value),
        }
    }
}

/// Delays as `100ms 200ms 400ms`, in whole milliseconds.
pub fn format_delays(delays: &[Duration]) -> String {
    let shown: Vec<String> = delays
        .iter()
        .map(|delay| format!("{}ms", delay.as_millis()))
        .collect();
    shown.join(" ")
}

/// The collector's summary as three small tables: by type, by code, by hour (UTC).
pub fn summary_table(summary: &ErrorSummary) -> String {
    let mut out = String::new();
    let sections: [(&str, Vec<(String, usize)>); 3] = [
        ("error type", counts(&summary.error_types)),
        ("error code", counts(&summary.error_codes)),
        (
            "hour (UTC)",
            summary
                .hourly_distribution
                .iter()
                .map(|(hour, count)| (format!("{hour:02}:00"), *count))
                .collect(),
        ),
    ];
    for (heading, rows) in sections {
        let _ = writeln!(out, "  {heading:<24} {:>6}", "count");
        let _ = writeln!(out, "  {:─<24} {:─>6}", "", "");
        for (name, count) in rows {
            let _ = writeln!(out, "  {name:<24} {count:>6}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "  {:<24} {:>6}", "total", summary.total_errors);
    out
}

/// Rows by descending count, then name.
fn counts(map: &BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut rows: Vec<(String, usize)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// `Ok` values as `Debug`, errors as their message: `["a", "b"]` or `error: Service 'x' not found`.
pub fn outcome<T: fmt::Debug, E: fmt::Display>(result: &Result<T, E>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(error) => format!("error: {error}"),
    }
}

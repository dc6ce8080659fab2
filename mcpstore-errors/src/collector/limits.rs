//! Bounds on a context: its size as compact JSON and its nesting depth. An oversized context
//! is replaced by a small marker object, so memory stays bounded and exports stay readable.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// The default bound on a context's size, as compact JSON: 64 KiB.
pub const DEFAULT_MAX_CONTEXT_BYTES: usize = 64 * 1024;
/// The default bound on a context's nesting depth: 32 levels of arrays and objects.
pub const DEFAULT_MAX_CONTEXT_DEPTH: usize = 32;
/// The longest message a collector keeps of an error it formats or copies (a value that is
/// not a `McpStoreError`, or one whose details were masked); longer ones are cut at a
/// character boundary and end in `…`.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The highest depth bound a collector accepts. An export nests each context three levels
/// down, and serde_json reads back at most 128 levels; serializing is recursive, too.
pub const MAX_CONTEXT_DEPTH: usize = 100;

#[derive(Debug, Clone, Copy)]
pub(super) struct ContextLimits {
    pub(super) max_bytes: usize,
    pub(super) max_depth: usize,
}

impl Default for ContextLimits {
    fn default() -> Self {
        ContextLimits {
            max_bytes: DEFAULT_MAX_CONTEXT_BYTES,
            max_depth: DEFAULT_MAX_CONTEXT_DEPTH,
        }
    }
}

/// Why a context was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Oversize {
    /// Its compact JSON takes this many bytes, more than the bound.
    Bytes(usize),
    /// It nests deeper than the bound.
    Depth,
}

impl ContextLimits {
    /// Whether `context` fits. The walk recurses at most `max_depth + 1` levels (capped at
    /// [`MAX_CONTEXT_DEPTH`]), whatever the input's depth, and allocates nothing.
    pub(super) fn check(&self, context: &Value) -> Result<(), Oversize> {
        self.check_with(|walk| walk.value(context, 0))
    }

    /// Whether an error's details fit, counted as an object where a context would be.
    pub(super) fn check_details(&self, details: &Map<String, Value>) -> Result<(), Oversize> {
        self.check_with(|walk| walk.object(details, 0))
    }

    fn check_with(
        &self,
        mut walk_over: impl FnMut(&mut Walk) -> Result<(), Oversize>,
    ) -> Result<(), Oversize> {
        // First a bound that does not look at each byte of each string (a string escapes to
        // at most six bytes a byte): it settles the common context, far under the limit.
        let mut bound = Walk {
            max_depth: self.max_depth.min(MAX_CONTEXT_DEPTH),
            bytes: 0,
            exact: false,
        };
        walk_over(&mut bound)?;
        if bound.bytes <= self.max_bytes {
            return Ok(());
        }
        let mut walk = Walk {
            exact: true,
            bytes: 0,
            ..bound
        };
        walk_over(&mut walk)?;
        if walk.bytes > self.max_bytes {
            return Err(Oversize::Bytes(walk.bytes));
        }
        Ok(())
    }

    /// The object that takes an oversized context's place.
    pub(super) fn marker(&self, oversize: Oversize) -> Value {
        Value::Object(self.marker_of("context", oversize))
    }

    /// The object that takes the place of oversized `what` ("context", "details").
    pub(super) fn marker_of(&self, what: &str, oversize: Oversize) -> Map<String, Value> {
        let mut marker = Map::new();
        marker.insert("_truncated".to_owned(), Value::Bool(true));
        match oversize {
            Oversize::Bytes(bytes) => {
                marker.insert("reason".to_owned(), format!("{what} too large").into());
                marker.insert("bytes".to_owned(), bytes.into());
                marker.insert("max_bytes".to_owned(), self.max_bytes.into());
            }
            Oversize::Depth => {
                marker.insert(
                    "reason".to_owned(),
                    format!("{what} nested too deep").into(),
                );
                marker.insert(
                    "max_depth".to_owned(),
                    self.max_depth.min(MAX_CONTEXT_DEPTH).into(),
                );
            }
        }
        marker
    }
}

struct Walk {
    max_depth: usize,
    bytes: usize,
    /// Strings counted exactly; otherwise as if every byte needed the longest escape.
    exact: bool,
}

impl Walk {
    fn value(&mut self, value: &Value, depth: usize) -> Result<(), Oversize> {
        match value {
            Value::Null | Value::Bool(true) => self.add(4),
            Value::Bool(false) => self.add(5),
            Value::Number(number) => {
                let mut counter = Counter(0);
                let _ = write!(counter, "{number}");
                self.add(counter.0);
            }
            Value::String(text) => self.string(text),
            Value::Array(items) => {
                self.open(depth)?;
                self.add(2 + items.len().saturating_sub(1));
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            Value::Object(entries) => self.object(entries, depth)?,
        }
        Ok(())
    }

    fn object(&mut self, entries: &Map<String, Value>, depth: usize) -> Result<(), Oversize> {
        self.open(depth)?;
        // Braces, commas, and a colon per entry.
        self.add(2 + entries.len().saturating_sub(1) + entries.len());
        for (key, item) in entries {
            self.string(key);
            self.value(item, depth + 1)?;
        }
        Ok(())
    }

    /// A container at `depth` adds a level: `depth + 1` levels in all.
    fn open(&self, depth: usize) -> Result<(), Oversize> {
        if depth >= self.max_depth {
            return Err(Oversize::Depth);
        }
        Ok(())
    }

    fn string(&mut self, text: &str) {
        if !self.exact {
            // `\u00XX`: six bytes for one.
            self.add(text.len().saturating_mul(6).saturating_add(2));
            return;
        }
        let escapes: usize = text
            .bytes()
            .map(|byte| match byte {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                0..0x20 => 5,
                _ => 0,
            })
            .sum();
        self.add(2 + text.len() + escapes);
    }

    fn add(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// Counts what is written, to size a number without allocating.
struct Counter(usize);

impl std::fmt::Write for Counter {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

/// Drops a value of any depth without recursing: serde_json's own drop recurses once per
/// level and overflows the stack on a deep enough value.
pub(super) fn drop_flat(value: Value) {
    if !matches!(value, Value::Array(_) | Value::Object(_)) {
        return;
    }
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(entries) => pending.extend(entries.into_iter().map(|(_, item)| item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn compact_len(value: &Value) -> usize {
        serde_json::to_string(value).unwrap().len()
    }

    #[test]
    fn the_measured_size_is_the_compact_json_length() {
        let limits = ContextLimits {
            max_bytes: 0,
            max_depth: 32,
        };
        for value in [
            json!(null),
            json!(false),
            json!(-12.5e300),
            json!(u64::MAX),
            json!("tab\there \"quoted\" \\ \u{1} é"),
            json!([]),
            json!({}),
            json!([1, [2, {"a": [null, true]}], "x"]),
            json!({"k": {"nested": ["é", 1.5]}, "other": {}}),
        ] {
            let expected = compact_len(&value);
            assert_eq!(
                limits.check(&value),
                Err(Oversize::Bytes(expected)),
                "{value}"
            );
        }
    }

    #[test]
    fn the_bound_settles_nothing_the_exact_count_would_refuse() {
        // Around the limit: a context fits exactly when its compact JSON does.
        for value in [
            json!({"k": "\u{1}\u{1}\u{1}", "n": [1, 2.5, null]}),
            json!({"plain": "abcdefghij", "quote": "\"\\"}),
            json!(["é", {"a": "tab\t"}]),
        ] {
            let size = compact_len(&value);
            for max_bytes in [size - 1, size, size + 1, 6 * size] {
                let limits = ContextLimits {
                    max_bytes,
                    max_depth: 32,
                };
                let expected = match size <= max_bytes {
                    true => Ok(()),
                    false => Err(Oversize::Bytes(size)),
                };
                assert_eq!(limits.check(&value), expected, "{value} within {max_bytes}");
            }
        }
    }

    #[test]
    fn depth_counts_levels_of_containers() {
        let limits = ContextLimits {
            max_bytes: usize::MAX,
            max_depth: 2,
        };
        assert_eq!(limits.check(&json!("scalar")), Ok(()));
        assert_eq!(limits.check(&json!({"a": [1]})), Ok(()));
        assert_eq!(limits.check(&json!({"a": [[1]]})), Err(Oversize::Depth));
    }
}

/// `message`, cut to [`MAX_MESSAGE_BYTES`] (ending in `…`) when longer.
pub(super) fn bounded_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        cut(&mut message);
    }
    message
}

/// Cuts `message` to end in `…` within [`MAX_MESSAGE_BYTES`].
fn cut(message: &mut String) {
    let mut end = MAX_MESSAGE_BYTES.min(message.len()) - '…'.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push('…');
    message.shrink_to_fit();
}

/// Keeps what is written up to [`MAX_MESSAGE_BYTES`] and drops the rest, so a huge
/// `Display` costs time but no memory.
#[derive(Default)]
pub(super) struct BoundedWriter {
    text: String,
    overflowed: bool,
}

impl BoundedWriter {
    /// Whether some of what was written was dropped.
    pub(super) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// What was written, ending in `…` if some was dropped.
    pub(super) fn finish(mut self) -> String {
        if self.overflowed {
            cut(&mut self.text);
        }
        self.text
    }
}

impl std::fmt::Write for BoundedWriter {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let room = MAX_MESSAGE_BYTES - self.text.len();
        if text.len() <= room {
            self.text.push_str(text);
        } else if !self.overflowed {
            let mut end = room;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&text[..end]);
            self.overflowed = true;
        }
        Ok(())
    }
}

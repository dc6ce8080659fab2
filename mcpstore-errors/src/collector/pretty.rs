//! serde_json's pretty layout (two spaces a level), starting at any depth and writing each
//! line break with its indentation at once: serde_json's `PrettyFormatter` writes the
//! indentation a level at a time, a buffered write each, which was a fifth of an export.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// The bytes of `PrettyFormatter::new()`'s layout, for a value written at `level` (the
/// number of objects and arrays around it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Pretty {
    level: usize,
    has_value: bool,
}

/// A line break and up to 32 levels of indentation.
const BREAK: &[u8; 65] = b"\n                                                                ";

impl Pretty {
    pub(super) fn at(level: usize) -> Self {
        Pretty {
            level,
            has_value: false,
        }
    }
}

/// A line break, then the indentation of `level`.
#[inline]
pub(super) fn line<W: ?Sized + Write>(writer: &mut W, level: usize) -> io::Result<()> {
    match BREAK.get(..1 + 2 * level) {
        Some(bytes) => writer.write_all(bytes),
        None => {
            writer.write_all(BREAK)?;
            (32..level).try_for_each(|_| writer.write_all(b"  "))
        }
    }
}

/// Writes `value` as `serde_json::to_writer_pretty` would inside `level` objects or arrays.
pub(super) fn write_value<W: Write, T: Serialize + ?Sized>(
    writer: &mut W,
    level: usize,
    value: &T,
) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(writer, Pretty::at(level));
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// What arrays and objects share: one level deeper inside, each entry on a line of its own,
/// the closing bracket on a line of its own unless empty.
impl Pretty {
    #[inline]
    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    #[inline]
    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            line(writer, self.level)?;
        }
        writer.write_all(bracket)
    }

    #[inline]
    fn next_entry<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        line(writer, self.level)
    }
}

impl Formatter for Pretty {
    #[inline]
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    #[inline]
    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    #[inline]
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.next_entry(writer, first)
    }

    #[inline]
    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    #[inline]
    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    #[inline]
    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    #[inline]
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.next_entry(writer, first)
    }

    #[inline]
    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    #[inline]
    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn the_layout_is_serde_jsons_at_every_depth() {
        let mut deep = json!({"leaf": [1, {}, []]});
        for depth in 0..40 {
            deep = if depth % 2 == 0 {
                json!({"k": deep, "empty": {}, "list": [null, "x\n\"y"]})
            } else {
                json!([deep, 1.5, -0.0, []])
            };
        }
        for value in [json!(null), json!({}), json!([]), json!("s"), deep] {
            let mut ours = Vec::new();
            write_value(&mut ours, 0, &value).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string_pretty(&value).unwrap()
            );
        }
        // Inside two levels: as the same value nested in two objects.
        let inner = json!({"a": [1, 2], "b": {}});
        let mut ours = b"{\n  \"x\": {\n    \"y\": ".to_vec();
        write_value(&mut ours, 2, &inner).unwrap();
        ours.extend_from_slice(b"\n  }\n}");
        let whole: Value = json!({"x": {"y": inner}});
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string_pretty(&whole).unwrap()
        );
    }
}

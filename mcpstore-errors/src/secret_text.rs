//! Secrets written into free text: error messages quote URLs, headers and request bodies, and
//! a context's strings do too. Keys are only half of it: `is_secret_key` guards the keys of a
//! map, this module the values written after a secret-looking key inside a string, for the
//! collector's history and for every `tracing` event that shows an error.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};
use std::ops::Range;

use crate::{REDACTED, is_secret_key};

/// `text` with the secrets written in it replaced by `"[REDACTED]"`; borrowed when there is
/// none. What counts as one:
///
/// - the value after a secret-looking key (see [`is_secret_key`]) and `=`, as in a query
///   string or a form (`?api_key=sk-1&q=rust`, `password=hunter2`);
/// - the value after such a key and `:`, as in a header or a quoted object
///   (`Authorization: Bearer abc`, `"token": "abc"`, `token: "abc"`): a quoted value, a value
///   written right after the `:`, an authorization scheme with its credentials, or a word that
///   looks like a credential (six characters or more, with a digit, a `-`, `_`, `+`, `/`,
///   `=` or `~`, or capitals after the first letter). So `invalid token: expired` is left as is;
/// - the password of a URL's user info (`https://user:pw@host`).
///
/// ```
/// use mcpstore_errors::redact_text;
///
/// assert_eq!(
///     redact_text("GET https://api.example.com/v1?api_key=sk-123&q=rust failed"),
///     "GET https://api.example.com/v1?api_key=[REDACTED]&q=rust failed",
/// );
/// assert_eq!(redact_text("Authorization: Bearer eyJhbGci"), "Authorization: [REDACTED]");
/// assert_eq!(redact_text(r#"body {"token": "abc", "max_tokens": 5}"#), r#"body {"token": "[REDACTED]", "max_tokens": 5}"#);
/// assert_eq!(redact_text("postgres://app:hunter2@db:5432"), "postgres://app:[REDACTED]@db:5432");
/// assert_eq!(redact_text("invalid token: expired"), "invalid token: expired");
/// ```
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let Some(first) = next_secret(bytes, 0) else {
        return Cow::Borrowed(text);
    };
    let mut redacted = String::with_capacity(text.len());
    let mut copied = 0;
    let mut found = Some(first);
    while let Some(span) = found {
        // Every span starts and ends at an ASCII byte or at the text's ends: char boundaries.
        redacted.push_str(&text[copied..span.start]);
        redacted.push_str(REDACTED);
        copied = span.end;
        found = next_secret(bytes, span.end);
    }
    redacted.push_str(&text[copied..]);
    Cow::Owned(redacted)
}

/// Shows a value's `Display` with the secrets written in it masked, as `tracing` events show
/// an error. Formats only when shown: an event no subscriber wants costs nothing.
pub(crate) struct Masked<'a>(pub(crate) &'a dyn Display);

impl Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        write!(text, "{}", self.0)?;
        f.write_str(&redact_text(&text))
    }
}

/// Whether [`redact_text`] would change `text`; allocates nothing.
pub(crate) fn holds_secret_text(text: &str) -> bool {
    next_secret(text.as_bytes(), 0).is_some()
}

/// The next secret value at or after `from`.
fn next_secret(bytes: &[u8], from: usize) -> Option<Range<usize>> {
    let mut at = from;
    while let Some(offset) = memchr::memchr2(b'=', b':', bytes.get(at..)?) {
        let separator = at + offset;
        at = separator + 1;
        let after = &bytes[at..];
        let span = if bytes[separator] == b':' && after.starts_with(b"//") {
            url_password(bytes, at + 2)
        } else if bytes[separator] == b':' && after.first() == Some(&b':') {
            // A Rust path (`auth::TokenError`): its segments are no key and value.
            at += 1;
            None
        } else {
            key_before(bytes, separator)
                .filter(|key| is_secret_key(key))
                .and_then(|_| value_after(bytes, separator))
        };
        if let Some(span) = span {
            return Some(span);
        }
    }
    None
}

/// The key written before a separator: letters, digits, `_`, `-` and `.`, maybe quoted (also
/// with escaped quotes, as `Debug` writes them), maybe followed by spaces.
fn key_before(bytes: &[u8], separator: usize) -> Option<&str> {
    let mut end = separator;
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    if end > 0 && matches!(bytes[end - 1], b'"' | b'\'') {
        end -= 1;
        if end > 0 && bytes[end - 1] == b'\\' {
            end -= 1;
        }
    }
    let start = bytes[..end]
        .iter()
        .rposition(|&byte| !is_key_byte(byte))
        .map_or(0, |at| at + 1);
    // All ASCII: a valid `str`.
    std::str::from_utf8(&bytes[start..end])
        .ok()
        .filter(|key| !key.is_empty())
}

fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// The value after a secret key's separator, if it is one to mask (see [`redact_text`]).
fn value_after(bytes: &[u8], separator: usize) -> Option<Range<usize>> {
    let mut start = separator + 1;
    let spaced = bytes.get(start) == Some(&b' ');
    while bytes.get(start) == Some(&b' ') {
        start += 1;
    }
    if let Some(quoted) = quoted_value(bytes, start) {
        return Some(quoted).filter(|span| !span.is_empty() && !is_redacted(bytes, span));
    }
    // `word_end` would stop inside the marker, at its `]`.
    let marker = start..start + REDACTED.len();
    if bytes.get(marker.clone()) == Some(REDACTED.as_bytes())
        && word_end(bytes, marker.end) == marker.end
    {
        return None;
    }
    let end = word_end(bytes, start);
    if start == end {
        return None;
    }
    if is_scheme(&bytes[start..end]) && bytes.get(end) == Some(&b' ') {
        let credentials_end = word_end(bytes, end + 1);
        if credentials_end > end + 1 {
            return Some(start..credentials_end);
        }
    }
    let masked = bytes[separator] == b'=' || !spaced || looks_like_credential(&bytes[start..end]);
    masked.then_some(start..end)
}

/// The content of a quoted value starting at `start` (`"…"`, `'…'`, or `\"…\"` as `Debug`
/// writes a string inside a string), up to its closing quote or the end of the text.
fn quoted_value(bytes: &[u8], start: usize) -> Option<Range<usize>> {
    let (escaped, quote) = match bytes.get(start..)? {
        [b'\\', quote @ (b'"' | b'\''), ..] => (true, *quote),
        [quote @ (b'"' | b'\''), ..] => (false, *quote),
        _ => return None,
    };
    let content = start + 1 + usize::from(escaped);
    let mut at = content;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if escaped && bytes.get(at + 1) == Some(&quote) => return Some(content..at),
            // An escape inside the value: the next byte is part of it.
            b'\\' => at += 2,
            byte if byte == quote && !escaped => return Some(content..at),
            b'\n' => return Some(content..at),
            _ => at += 1,
        }
    }
    Some(content..bytes.len())
}

/// Whether the span is the marker itself: masked already.
fn is_redacted(bytes: &[u8], span: &Range<usize>) -> bool {
    &bytes[span.clone()] == REDACTED.as_bytes()
}

/// The end of the unquoted word starting at `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&byte| {
            byte.is_ascii_whitespace()
                || matches!(
                    byte,
                    b'&' | b',' | b';' | b'"' | b'\'' | b')' | b']' | b'}' | b'>' | b'<'
                )
        })
        .map_or(bytes.len(), |length| start + length)
}

/// An HTTP authorization scheme, written before its credentials.
fn is_scheme(word: &[u8]) -> bool {
    ["bearer", "basic", "token", "digest", "negotiate", "apikey"]
        .iter()
        .any(|scheme| word.eq_ignore_ascii_case(scheme.as_bytes()))
}

fn looks_like_credential(word: &[u8]) -> bool {
    let word = match word {
        [rest @ .., b'.' | b'!' | b'?' | b':'] => rest,
        _ => word,
    };
    word.len() >= 6
        && (word.iter().any(|byte| {
            byte.is_ascii_digit() || matches!(byte, b'-' | b'_' | b'+' | b'/' | b'=' | b'~')
        }) || word[1..].iter().any(u8::is_ascii_uppercase))
}

/// The password of the user info of a URL whose authority starts at `start`.
fn url_password(bytes: &[u8], start: usize) -> Option<Range<usize>> {
    let authority = &bytes[start..];
    let length = authority
        .iter()
        .position(|&byte| {
            byte.is_ascii_whitespace() || matches!(byte, b'/' | b'?' | b'#' | b'"' | b'\'' | b'>')
        })
        .unwrap_or(authority.len());
    let authority = &authority[..length];
    let at = authority.iter().rposition(|&byte| byte == b'@')?;
    let colon = authority[..at].iter().position(|&byte| byte == b':')?;
    let span = start + colon + 1..start + at;
    (!span.is_empty() && !is_redacted(bytes, &span)).then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn redacts(text: &str, expected: &str) {
        assert_eq!(redact_text(text), expected, "{text}");
        assert_eq!(holds_secret_text(text), text != expected, "{text}");
        assert_eq!(
            redact_text(expected),
            expected,
            "redacting twice changes nothing"
        );
    }

    #[test]
    fn values_after_a_secret_key_and_equals_are_masked() {
        redacts(
            "https://x.io/v1?api_key=sk-1&q=rust",
            "https://x.io/v1?api_key=[REDACTED]&q=rust",
        );
        redacts("password=hunter2 user=bob", "password=[REDACTED] user=bob");
        redacts("a token = abc, b", "a token = [REDACTED], b");
        redacts(
            "max_tokens=5 keyboard=qwerty",
            "max_tokens=5 keyboard=qwerty",
        );
        redacts("x=1 secret=", "x=1 secret=");
    }

    #[test]
    fn headers_and_quoted_values_are_masked() {
        redacts(
            "sent Authorization: Bearer eyJ.a-b and more",
            "sent Authorization: [REDACTED] and more",
        );
        redacts(
            "X-Api-Key: k123456\r\nHost: x",
            "X-Api-Key: [REDACTED]\r\nHost: x",
        );
        redacts(
            r#"{"token":"a\"b","n":1}"#,
            r#"{"token":"[REDACTED]","n":1}"#,
        );
        redacts(r#"{"token": "abc"}"#, r#"{"token": "[REDACTED]"}"#);
        redacts(
            r#"Request { token: "abc", id: 3 }"#,
            r#"Request { token: "[REDACTED]", id: 3 }"#,
        );
        redacts(
            r#"body: "{\"password\": \"p w\"}""#,
            r#"body: "{\"password\": \"[REDACTED]\"}""#,
        );
        redacts("cookie:sid=1", "cookie:[REDACTED]");
        redacts("token: 'abc", "token: '[REDACTED]");
    }

    #[test]
    fn prose_after_a_secret_word_is_left_alone() {
        for text in [
            "invalid token: expired",
            "authentication: missing credentials",
            "password: required.",
            "secret: none",
            "token: null",
            "at 12:30 the token was refused",
        ] {
            redacts(text, text);
        }
        redacts("token: sk-live-1.", "token: [REDACTED]");
        redacts("token: hunter2!", "token: [REDACTED]");
    }

    #[test]
    fn rust_paths_are_no_key_and_value() {
        for text in [
            "an error of type app::auth::TokenError",
            "failed in token::refresh: timed out",
            "<auth::Client as Api>::call",
        ] {
            redacts(text, text);
        }
        redacts(
            "auth::login: password=x1",
            "auth::login: password=[REDACTED]",
        );
    }

    #[test]
    fn a_urls_password_is_masked() {
        redacts(
            "postgres://app:hunter2@db:5432/x",
            "postgres://app:[REDACTED]@db:5432/x",
        );
        redacts("https://user@host/path", "https://user@host/path");
        redacts("https://host:8080/a@b", "https://host:8080/a@b");
        redacts("see http://a:@h", "see http://a:@h");
    }

    #[test]
    fn non_ascii_text_keeps_its_characters() {
        redacts("密码 token=秘密值 完", "密码 token=[REDACTED] 完");
        redacts("é:é=é", "é:é=é");
    }

    proptest::proptest! {
        #[test]
        fn redacting_is_idempotent_and_never_panics(
            text in "([a-zA-Z0-9 ]{0,4}|token|api_key|Bearer |=|:|//|@|\"|'|\\\\|&|é|\\[REDACTED\\]){0,12}"
        ) {
            let once = redact_text(&text).into_owned();
            proptest::prop_assert_eq!(redact_text(&once), once.as_str());
            proptest::prop_assert_eq!(holds_secret_text(&text), once != text);
        }
    }
}

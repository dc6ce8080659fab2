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
/// - the value after a secret-looking key (see [`is_secret_key`]) and `=` (or `=>`), as in a
///   query string or a form (`?api_key=sk-1&q=rust`, `password=hunter2`);
/// - the value after such a key and `:`, as in a header, a quoted object or `Debug` output
///   (`Authorization: Bearer abc`, `"token": "abc"`, `token: Some("abc")`): a value after a
///   quoted key, a quoted or wrapped value, one written right after the `:` (but a port or a
///   line number: `auth.internal:443`, `auth.rs:42`), an authorization scheme with its
///   credentials, or a word that looks like a credential (six characters or more, with a
///   digit, a `-`, `_`, `+`, `/`, `=` or `~`, or capitals after the first letter). So
///   `invalid token: expired` is left as is; a `Cookie` or `Set-Cookie` header to the end of
///   its line;
/// - the argument of a secret command-line flag (`--api-key sk-1`);
/// - in a URL's user info, the password, or a user name alone that looks like a credential
///   (`https://user:pw@host`, `https://sk_live_1@api.example.com`).
///
/// Not found: a plain word after `key: ` (`password: letmein`), a value on the next line
/// (YAML), a secret without a key (a bare `Bearer ..`, a PEM block's body), a header tuple as
/// `Debug` writes it (`("authorization", "..")`), one inside percent-encoding or a second
/// level of escaped JSON.
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
    while let Some(offset) = memchr::memchr3(b'=', b':', b'-', bytes.get(at..)?) {
        let sign = at + offset;
        at = sign + 1;
        let found = match bytes[sign] {
            b':' if bytes[at..].starts_with(b"//") => {
                // The authority is no key and value (`host:port`, `user:password@`).
                let (credentials, authority_end) = url_credentials(bytes, at + 2);
                at = authority_end;
                credentials
            }
            // A Rust path (`auth::TokenError`): its segments are no key and value.
            b':' if bytes.get(at) == Some(&b':') => {
                at += 1;
                None
            }
            b'-' => flag_value(bytes, sign),
            _ => pair_value(bytes, sign),
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// How a value is introduced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Separator {
    /// `key=value`, `key => value`.
    Equals,
    /// `key: value`.
    Colon,
}

/// The value after the `=` or `:` at `sign`, when what comes before is a secret key.
fn pair_value(bytes: &[u8], sign: usize) -> Option<Range<usize>> {
    let (separator, value_start) = match bytes[sign] {
        b'=' if bytes.get(sign + 1) == Some(&b'>') => (Separator::Equals, sign + 2),
        b'=' => (Separator::Equals, sign + 1),
        _ => (Separator::Colon, sign + 1),
    };
    let key = key_before(bytes, sign)?;
    if !is_secret_key(key.name) {
        return None;
    }
    value_after(bytes, value_start, separator, &key)
}

/// A key written before a separator.
struct Key<'a> {
    name: &'a str,
    /// In quotes, as in JSON: the value is a value, whatever it looks like.
    quoted: bool,
}

/// The key written before a separator: letters, digits, `_`, `-` and `.`, maybe quoted (also
/// with escaped quotes, as `Debug` writes them), maybe followed by spaces.
fn key_before(bytes: &[u8], separator: usize) -> Option<Key<'_>> {
    let mut end = separator;
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    let quoted = end > 0 && matches!(bytes[end - 1], b'"' | b'\'');
    if quoted {
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
    let name = std::str::from_utf8(&bytes[start..end]).ok()?;
    (!name.is_empty()).then_some(Key { name, quoted })
}

fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// The value of a secret key, starting at `start` (before any spaces), if it is one to mask
/// (see [`redact_text`]).
fn value_after(
    bytes: &[u8],
    mut start: usize,
    separator: Separator,
    key: &Key<'_>,
) -> Option<Range<usize>> {
    let spaced = matches!(bytes.get(start), Some(b' ' | b'\t'));
    while matches!(bytes.get(start), Some(b' ' | b'\t')) {
        start += 1;
    }
    // What `Debug` wraps a value in: `Some("x")`, `String("x")`, `Secret(x)`.
    let mut wrapped = false;
    while let Some(open) = constructor_at(bytes, start) {
        start = open + 1;
        wrapped = true;
    }
    if let Some(quoted) = quoted_value(bytes, start) {
        // A one-character value after a plain key is a parser's: `unexpected token: '}'`.
        let plain_short = !key.quoted && separator == Separator::Colon && quoted.len() < 2;
        return Some(quoted)
            .filter(|span| !span.is_empty() && !plain_short && !is_marker(bytes, span));
    }
    if is_marker_word(bytes, start) {
        return None;
    }
    if matches!(bytes.get(start), Some(b'{' | b'[')) {
        // An object or a list under a secret key: all of it.
        let span = start..bracketed_end(bytes, start);
        return (!is_marker(bytes, &span)).then_some(span);
    }
    let end = word_end(bytes, start);
    let word = &bytes[start..end];
    if word.is_empty() || is_literal(word) {
        return None;
    }
    if separator == Separator::Colon {
        // `auth.internal:443`, `src/auth.rs:42:5`: a host's port or a file's line, not a
        // secret (`password:123456` is one).
        let host_or_file = key.name.contains(['.', '-']);
        if host_or_file
            && !key.quoted
            && !spaced
            && word.iter().all(|&b| b.is_ascii_digit() || b == b':')
        {
            return None;
        }
        if key.name.eq_ignore_ascii_case("cookie") || key.name.eq_ignore_ascii_case("set-cookie") {
            // A list of cookies (`a=b; session=..`): all of it, to the end of the line.
            let line_end = bytes[start..]
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map_or(bytes.len(), |length| start + length);
            return Some(start..line_end);
        }
        if is_scheme(word) && matches!(bytes.get(end), Some(b' ' | b'\t')) {
            let mut credentials = end;
            while matches!(bytes.get(credentials), Some(b' ' | b'\t')) {
                credentials += 1;
            }
            let credentials_end = word_end(bytes, credentials);
            if looks_like_credential(&bytes[credentials..credentials_end]) {
                return Some(start..credentials_end);
            }
        }
    }
    let masked = separator == Separator::Equals
        || key.quoted
        || wrapped
        || !spaced
        || looks_like_credential(word);
    masked.then_some(start..end)
}

/// The value of a secret command-line flag at `sign` (`--password hunter2`); its `=` form
/// is a pair.
fn flag_value(bytes: &[u8], sign: usize) -> Option<Range<usize>> {
    let starts_word = sign == 0 || matches!(bytes[sign - 1], b' ' | b'\t' | b'"' | b'\'');
    if !starts_word || bytes.get(sign + 1) != Some(&b'-') {
        return None;
    }
    let name_start = sign + 2;
    let name_end = bytes[name_start..]
        .iter()
        .position(|&b| !is_key_byte(b))
        .map_or(bytes.len(), |length| name_start + length);
    let name = std::str::from_utf8(&bytes[name_start..name_end]).ok()?;
    if bytes.get(name_end) != Some(&b' ') || !is_secret_flag_name(name) {
        return None;
    }
    let start = name_end + 1;
    if let Some(quoted) = quoted_value(bytes, start) {
        return Some(quoted).filter(|span| !span.is_empty() && !is_marker(bytes, span));
    }
    let end = word_end(bytes, start);
    let value = start..end;
    let is_flag = bytes[start..].starts_with(b"-");
    (!value.is_empty() && !is_flag && !is_marker_word(bytes, start)).then_some(value)
}

/// A flag that takes a secret: a secret key (`api-key`, `password`), but not a switch that
/// turns something off (`no-auth`, `skip-auth`), which takes no value.
pub(crate) fn is_secret_flag_name(name: &str) -> bool {
    let switch = [
        "no-", "no_", "skip-", "skip_", "disable-", "disable_", "without-", "without_",
    ]
    .iter()
    .any(|prefix| name.len() > prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix));
    !switch && is_secret_key(name)
}

/// The index of the `(` of a constructor starting at `start` (`Some(`, `String(`).
fn constructor_at(bytes: &[u8], start: usize) -> Option<usize> {
    let first = *bytes.get(start)?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let length = bytes[start..]
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))?;
    (bytes[start + length] == b'(').then_some(start + length)
}

/// The end of the bracketed value opening at `start` (past its closing bracket), brackets in
/// quotes left out; the text's end when it does not close.
fn bracketed_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut quote = None;
    let mut at = start;
    while at < bytes.len() {
        match (quote, bytes[at]) {
            (Some(_), b'\\') => at += 1,
            (Some(open), byte) if byte == open => quote = None,
            (Some(_), _) => {}
            (None, byte @ (b'"' | b'\'')) => quote = Some(byte),
            (None, b'{' | b'[') => depth += 1,
            (None, b'}' | b']') => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    bytes.len()
}

/// `null`, `true`, `false`, `None`: no secret.
fn is_literal(word: &[u8]) -> bool {
    matches!(word, b"null" | b"true" | b"false" | b"None")
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
            // The closing `\"`, unless it is itself escaped (`\\\"`, a quote in the value).
            b'\\' if escaped && bytes.get(at + 1) == Some(&quote) => return Some(content..at),
            b'\\' if escaped && bytes[at + 1..].starts_with(b"\\\\") => at += 3,
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
fn is_marker(bytes: &[u8], span: &Range<usize>) -> bool {
    &bytes[span.clone()] == REDACTED.as_bytes()
}

/// Whether the word at `start` is the marker (where `word_end` would stop at its `]`).
fn is_marker_word(bytes: &[u8], start: usize) -> bool {
    let marker = start..start + REDACTED.len();
    bytes.get(marker.clone()) == Some(REDACTED.as_bytes())
        && word_end(bytes, marker.end) == marker.end
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

/// The credentials in the user info of a URL whose authority starts at `start`: the password,
/// or a user name alone that looks like a key (`https://sk_live_1@api.example.com`); and where
/// the authority ends.
fn url_credentials(bytes: &[u8], start: usize) -> (Option<Range<usize>>, usize) {
    let length = bytes[start..]
        .iter()
        .position(|&byte| {
            byte.is_ascii_whitespace()
                || matches!(
                    byte,
                    b'/' | b'?'
                        | b'#'
                        | b'"'
                        | b'\''
                        | b'>'
                        | b'<'
                        | b')'
                        | b';'
                        | b'&'
                        | b','
                        | b'['
                        | b']'
                )
        })
        .unwrap_or(bytes.len() - start);
    let end = start + length;
    let authority = &bytes[start..end];
    let Some(at) = authority.iter().rposition(|&byte| byte == b'@') else {
        return (None, end);
    };
    let span = match authority[..at].iter().position(|&byte| byte == b':') {
        Some(colon) => start + colon + 1..start + at,
        None if looks_like_credential(&authority[..at]) => start..start + at,
        None => return (None, end),
    };
    let credentials = (!span.is_empty() && !is_marker(bytes, &span)).then_some(span);
    (credentials, end)
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
    fn debug_output_and_other_languages_syntax_are_read() {
        redacts(
            r#"Request { password: Some("hunter2") }"#,
            r#"Request { password: Some("[REDACTED]") }"#,
        );
        redacts(
            r#"Config { token: Some(String("abcdef")), id: 1 }"#,
            r#"Config { token: Some(String("[REDACTED]")), id: 1 }"#,
        );
        redacts(
            r#"Object {"access_token": String("ya29.abc")}"#,
            r#"Object {"access_token": String("[REDACTED]")}"#,
        );
        redacts(
            r#"{:password => "hunter2"}"#,
            r#"{:password => "[REDACTED]"}"#,
        );
        redacts(r#"{"password": 12345}"#, r#"{"password": [REDACTED]}"#);
        redacts(r#"{"token": null}"#, r#"{"token": null}"#);
        redacts(
            r#"{\"password\":\"a\\\"bsecret\"}"#,
            r#"{\"password\":\"[REDACTED]\"}"#,
        );
    }

    #[test]
    fn cookies_flags_and_schemes() {
        redacts(
            "Cookie: theme=dark; session=xyzsecret\r\nHost: x",
            "Cookie: [REDACTED]\r\nHost: x",
        );
        redacts(
            "spawn npx server --api-key sk-cli-1 --port 3000",
            "spawn npx server --api-key [REDACTED] --port 3000",
        );
        redacts(
            "mytool --password 'p w' -v",
            "mytool --password '[REDACTED]' -v",
        );
        redacts("run --token --verbose", "run --token --verbose");
        redacts("a well-known sk-live-1 id", "a well-known sk-live-1 id");
        redacts(
            "Authorization: Bearer  abcdef123",
            "Authorization: [REDACTED]",
        );
        redacts(
            "token_type=Bearer expires_in=3600",
            "token_type=[REDACTED] expires_in=3600",
        );
        redacts(
            "authorization: token expired, please log in",
            "authorization: token expired, please log in",
        );
        redacts("auth: basic mode enabled", "auth: basic mode enabled");
    }

    #[test]
    fn ports_lines_and_parser_errors_are_left_alone() {
        for text in [
            "error sending request for url (https://auth.example.com:443/oauth/token)",
            "connect to auth-server:8080 failed",
            "auth.internal:443: Connection refused",
            "panicked at src/auth.rs:42:5",
            "unexpected token: '}' at line 3",
            r#"Unexpected token: "<""#,
            "see http://[::1]:8080/token",
        ] {
            redacts(text, text);
        }
    }

    #[test]
    fn a_url_is_redacted_once_however_its_user_is_named() {
        redacts(
            "https://token:sk123@api.host/x",
            "https://token:[REDACTED]@api.host/x",
        );
        redacts("https://password:@h", "https://password:@h");
        redacts(
            "https://sk_live_abc123@api.stripe.com/v1",
            "https://[REDACTED]@api.stripe.com/v1",
        );
        redacts("ssh://git@github.com/x", "ssh://git@github.com/x");
        redacts("https://user@host/path", "https://user@host/path");
    }

    #[test]
    fn what_follows_a_urls_host_is_still_read() {
        redacts(
            "jdbc:sqlserver://db.local:1433;databaseName=app;user=sa;password=Secret123",
            "jdbc:sqlserver://db.local:1433;databaseName=app;user=sa;password=[REDACTED]",
        );
        redacts(
            "redirect to https://app.io/login?next=https://x.io&token=abc123",
            "redirect to https://app.io/login?next=https://x.io&token=[REDACTED]",
        );
        redacts(
            "Server=https://h.io,api_key=sk_live_123",
            "Server=https://h.io,api_key=[REDACTED]",
        );
        redacts(
            "login failed password:123456",
            "login failed password:[REDACTED]",
        );
        redacts(
            r#"body {"api_key": ["sk-a-1", "sk-b-2"], "n": 1}"#,
            r#"body {"api_key": [REDACTED], "n": 1}"#,
        );
        redacts(
            r#"{"password": {"value": "}{", "x": [1]}} tail"#,
            r#"{"password": [REDACTED]} tail"#,
        );
        redacts(
            "npx server --no-auth /srv/data",
            "npx server --no-auth /srv/data",
        );
        redacts(
            "mytool --skip-auth server.js",
            "mytool --skip-auth server.js",
        );
    }

    #[test]
    fn non_ascii_text_keeps_its_characters() {
        redacts("密码 token=秘密值 完", "密码 token=[REDACTED] 完");
        redacts("é:é=é", "é:é=é");
    }

    proptest::proptest! {
        #[test]
        fn redacting_is_idempotent_and_never_panics(
            text in "([a-zA-Z0-9 ]{0,4}|token|api_key|Cookie|Bearer |sk_live_1|=|=>|:|//|@|-|--|\"|'|\\\\|&|;|,|\\(|\\[|\\]|\\{|\\}|Some\\(|--no-auth |\n|é|\\[REDACTED\\]){0,14}"
        ) {
            let once = redact_text(&text).into_owned();
            proptest::prop_assert_eq!(redact_text(&once), once.as_str());
            proptest::prop_assert_eq!(holds_secret_text(&text), once != text);
        }
    }
}

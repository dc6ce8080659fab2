//! Redaction: what a collector does to an error's message, details and context before it
//! stores them, so the history, exports and `tracing` events never see the secrets removed.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::Context;
use super::limits::{ContextLimits, MAX_CONTEXT_DEPTH};
use super::record::{Payload, TypeKey};
use super::shard::Incoming;
use crate::McpStoreError;
use crate::secret_text::{holds_secret_text, is_secret_flag_name, redact_text};

/// What a masked value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// How a collector redacts each error before storing it; set with
/// [`ErrorCollectorBuilder::redact`](crate::ErrorCollectorBuilder::redact).
///
/// - [`Redactor::secret_keys`] (the default): every value under a key that looks like a
///   secret (see [`is_secret_key`]) is replaced by `"[REDACTED]"`, at any depth of the
///   context and of the error's details, inside arrays too; so is a secret written in the
///   message or in a string of either, after such a key (`?api_key=..`,
///   `Authorization: Bearer ..`) or as a URL's password (see [`redact_text`](crate::redact_text)).
/// - [`Redactor::custom`]: a hook that may rewrite the message, the details and the context
///   (as Sentry's `before_send`); it may call [`RedactTarget::mask_secret_keys`] to keep
///   the default masking.
/// - [`Redactor::off`]: everything is stored as given.
///
/// ```
/// use mcpstore_errors::{ErrorCollector, Redactor};
/// use serde_json::json;
///
/// let collector = ErrorCollector::new(10);
/// collector.collect(&std::fmt::Error, json!({"tool": "search", "args": {"api_key": "sk-123", "q": "rust"}}));
/// assert_eq!(collector.records()[0].context(), &json!({"tool": "search", "args": {"api_key": "[REDACTED]", "q": "rust"}}));
///
/// let collector = ErrorCollector::builder()
///     .redact(Redactor::custom(|target| {
///         target.mask_secret_keys();
///         let cleaned = target.message().replace("sk-123", "[REDACTED]");
///         *target.message() = cleaned;
///     }))
///     .build();
/// collector.collect_display("bad key sk-123", serde_json::Value::Null);
/// assert_eq!(collector.records()[0].message(), "bad key [REDACTED]");
/// ```
#[derive(Clone, Default)]
pub struct Redactor(Policy);

type Hook = Arc<dyn Fn(&mut RedactTarget<'_>) + Send + Sync + 'static>;

#[derive(Clone, Default)]
enum Policy {
    Off,
    #[default]
    SecretKeys,
    Custom(Hook),
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            Policy::Off => "Off",
            Policy::SecretKeys => "SecretKeys",
            Policy::Custom(_) => "Custom",
        };
        f.debug_tuple("Redactor")
            .field(&format_args!("{name}"))
            .finish()
    }
}

impl Redactor {
    /// Masks the values under secret-looking keys, and secrets written in messages and
    /// strings (the default).
    pub fn secret_keys() -> Self {
        Redactor(Policy::SecretKeys)
    }

    /// Stores messages, details and contexts as given.
    pub fn off() -> Self {
        Redactor(Policy::Off)
    }

    /// Runs `hook` on each error before it is stored. A hook that panics gets the error
    /// stored with the message `"<redaction failed>"`, no details and the context
    /// `{"_redaction_failed": true}`, and is reported as a `tracing` error: nothing it was
    /// meant to remove is kept.
    pub fn custom<F>(hook: F) -> Self
    where
        F: Fn(&mut RedactTarget<'_>) + Send + Sync + 'static,
    {
        Redactor(Policy::Custom(Arc::new(hook)))
    }

    /// Whether the policy may make a context larger (so the limits are checked again).
    pub(super) fn may_grow(&self) -> bool {
        matches!(self.0, Policy::Custom(_))
    }

    /// Whether what the policy does to a context depends on the context alone (not on the
    /// error, as a hook's may), so a verdict on a shared context can be remembered.
    pub(super) fn context_alone(&self) -> bool {
        !matches!(self.0, Policy::Custom(_))
    }
}

/// One error on its way into a collector, as a [`Redactor::custom`] hook sees it.
#[derive(Debug)]
pub struct RedactTarget<'a> {
    error_type: &'a str,
    message: &'a mut String,
    details: &'a mut Map<String, Value>,
    /// Copied on the hook's first write when shared with the caller.
    context: &'a mut Context,
}

impl RedactTarget<'_> {
    /// The error's type, as in [`ErrorRecord::error_type`](crate::ErrorRecord::error_type).
    pub fn error_type(&self) -> &str {
        self.error_type
    }

    /// The message to store.
    pub fn message(&mut self) -> &mut String {
        self.message
    }

    /// The details to store (of the `McpStoreError` the error is or wraps; empty if none).
    pub fn details(&mut self) -> &mut Map<String, Value> {
        self.details
    }

    /// The context to store (already within the collector's limits; checked again after the
    /// hook). A context shared with the caller (an `Arc` or a `&'static` value) is copied on
    /// the first call, so the caller's value is never changed; a hook that does not call this
    /// keeps it shared.
    pub fn context(&mut self) -> &mut Value {
        self.context.make_mut()
    }

    /// Applies the default masking to the message, the details and the context: values
    /// under secret-looking keys, and secrets written in the message and in strings (see
    /// [`redact_text`](crate::redact_text)).
    pub fn mask_secret_keys(&mut self) {
        if let Cow::Owned(redacted) = redact_text(self.message) {
            *self.message = redacted;
        }
        mask_map(self.details, 0);
        mask_context(self.context);
    }
}

/// Whether a key names a secret: one of its words (split at `_`, `-`, `.`, spaces and
/// camelCase, an acronym too: `AWSSecretKey` is `AWS Secret Key`; compared ignoring case) is
/// `password`, `passwd`, `pwd`, `passphrase`, `secret`, `token`, `auth`, `authorization`,
/// `authentication`, `bearer`, `cookie`, `credential(s)`, `apikey`, `jwt`, `passcode`,
/// `sessionid`, `jsessionid`, `signature`, or one of these written as one word: `secretkey`,
/// `privatekey`, `accesskey`, `authkey`, `apitoken`, `authtoken`, `accesstoken`,
/// `refreshtoken`; or two words read `api key` (also after a word ending in `api`:
/// `OpenAIAPIKey`), `private key`, `access key`, `signing key`, `encryption key`,
/// `master key` or `session id`, or an environment variable's name ending in `_KEY`
/// (`OPENAI_KEY`); `dsn` too; a plural of any of these too
/// (`passwords`, `cookies`, `api_keys`), but `tokens` only alone or after `access`, `refresh`,
/// `auth`, `api`, `bearer`, `session` or `id` (`tokens`, `refresh_tokens`: counts such as
/// `max_tokens` or `total_tokens` are no secret). So `X-Api-Key`, `access_token`,
/// `client_secret`, `Set-Cookie`, `Mcp-Session-Id` and `accessToken` are secret, and
/// `max_tokens` or `author` are not.
///
/// ```
/// use mcpstore_errors::is_secret_key;
/// assert!(is_secret_key("X-Api-Key"));
/// assert!(is_secret_key("accessToken"));
/// assert!(!is_secret_key("max_tokens"));
/// ```
pub fn is_secret_key(key: &str) -> bool {
    // Called for every key of every context and details map: one pass over the bytes.
    let bytes = key.as_bytes();
    if bytes.len() < 3 {
        return false;
    }
    if key.eq_ignore_ascii_case("tokens") || is_environment_key(key) {
        return true;
    }
    let mut previous: &[u8] = &[];
    let mut start = 0;
    let mut before = b' ';
    for (at, &byte) in bytes.iter().enumerate() {
        let word_byte = is_word_byte(byte);
        // `aB`, `1B`, and the last capital of an acronym before a word: `APIToken`.
        let camel = byte.is_ascii_uppercase()
            && (before.is_ascii_lowercase()
                || before.is_ascii_digit()
                || before.is_ascii_uppercase()
                    && bytes.get(at + 1).is_some_and(u8::is_ascii_lowercase)
                    && bytes.get(at + 2).is_some_and(u8::is_ascii_lowercase));
        if !word_byte || camel {
            if start < at {
                let word = &bytes[start..at];
                if is_secret_after(word, previous) {
                    return true;
                }
                previous = word;
            }
            start = if word_byte { at } else { at + 1 };
        }
        before = byte;
    }
    start < bytes.len() && is_secret_after(&bytes[start..], previous)
}

/// An environment variable of a key: `OPENAI_KEY`, `STRIPE_KEYS`.
fn is_environment_key(key: &str) -> bool {
    let upper_snake = key
        .bytes()
        .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_');
    upper_snake && (key.ends_with("_KEY") || key.ends_with("_KEYS"))
}

fn is_secret_after(word: &[u8], previous: &[u8]) -> bool {
    // A plural holds secrets as the singular does; `tokens` is most often a count
    // (`max_tokens`), so only after a word that makes them credentials.
    let singular = match word {
        [stem @ .., b's' | b'S'] if stem.len() >= 3 => stem,
        _ => word,
    };
    is_secret_word(word)
        || singular.len() < word.len()
            && is_secret_word(singular)
            && (!singular.eq_ignore_ascii_case(b"token") || is_before_tokens(previous))
        || singular.eq_ignore_ascii_case(b"key") && is_before_key(previous)
        || word.eq_ignore_ascii_case(b"id") && previous.eq_ignore_ascii_case(b"session")
}

/// Letters and digits; bytes of non-ASCII characters count as letters.
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || !byte.is_ascii()
}

fn is_secret_word(word: &[u8]) -> bool {
    let candidates: &[&[u8]] = match word.len() {
        3 => &[b"pwd", b"jwt", b"dsn"],
        4 => &[b"auth"],
        5 => &[b"token"],
        6 => &[b"passwd", b"secret", b"bearer", b"cookie", b"apikey"],
        7 => &[b"authkey"],
        8 => &[b"password", b"passcode", b"apitoken"],
        9 => &[
            b"signature",
            b"sessionid",
            b"secretkey",
            b"accesskey",
            b"authtoken",
        ],
        10 => &[b"passphrase", b"credential", b"jsessionid", b"privatekey"],
        11 => &[b"credentials", b"accesstoken"],
        12 => &[b"refreshtoken"],
        13 => &[b"authorization"],
        14 => &[b"authentication"],
        _ => return false,
    };
    candidates.iter().any(|c| word.eq_ignore_ascii_case(c))
}

fn is_before_tokens(word: &[u8]) -> bool {
    [
        &b"access"[..],
        b"refresh",
        b"auth",
        b"api",
        b"bearer",
        b"session",
        b"id",
    ]
    .iter()
    .any(|c| word.eq_ignore_ascii_case(c))
}

fn is_before_key(word: &[u8]) -> bool {
    let ends_in_api = word.len() >= 3 && word[word.len() - 3..].eq_ignore_ascii_case(b"api");
    ends_in_api
        || [
            &b"private"[..],
            b"access",
            b"signing",
            b"encryption",
            b"master",
        ]
        .iter()
        .any(|c| word.eq_ignore_ascii_case(c))
}

// The walks stop below the deepest context or details a collector keeps: anything deeper is
// replaced by the limits' marker before it is masked.
const WALK_DEPTH: usize = MAX_CONTEXT_DEPTH + 1;

/// Masks in place; whether anything changed.
fn mask(value: &mut Value, depth: usize) -> bool {
    if depth > WALK_DEPTH {
        return false;
    }
    match value {
        Value::Object(entries) => mask_map(entries, depth),
        Value::Array(items) => mask_array(items, depth),
        Value::String(text) => match redact_text(text) {
            Cow::Borrowed(_) => false,
            Cow::Owned(redacted) => {
                *text = redacted;
                true
            }
        },
        _ => false,
    }
}

/// Replaces a secret by the marker; whether it was not the marker already.
fn replace_with_marker(value: &mut Value) -> bool {
    if value.as_str() == Some(REDACTED) {
        return false;
    }
    // Within the walk's depth bound: an ordinary drop is safe.
    *value = Value::from(REDACTED);
    true
}

/// Headers as HTTP clients list them: every item a name and a value
/// (`[["Authorization", "Bearer .."], ["Accept", "*/*"]]`).
fn is_pair_list(items: &[Value]) -> bool {
    !items.is_empty()
        && items.iter().all(
            |item| matches!(item, Value::Array(pair) if pair.len() == 2 && pair[0].is_string()),
        )
}

/// A command line's flag that a secret follows: `["--api-key", "sk-.."]`.
fn is_secret_flag(item: &Value) -> bool {
    item.as_str()
        .and_then(|text| text.strip_prefix("--"))
        .is_some_and(is_secret_flag_name)
}

fn is_flag(item: &Value) -> bool {
    item.as_str().is_some_and(|text| text.starts_with('-'))
}

/// A header as HAR or Postman write it: `{"name": "Authorization", "value": ".."}`.
fn names_a_secret(entries: &Map<String, Value>) -> bool {
    entries.contains_key("value")
        && ["name", "key"].iter().any(|name| {
            entries
                .get(*name)
                .and_then(Value::as_str)
                .is_some_and(is_secret_key)
        })
}

fn mask_array(items: &mut [Value], depth: usize) -> bool {
    let mut changed = false;
    if is_pair_list(items) {
        for item in items.iter_mut() {
            if let Value::Array(pair) = item {
                changed |= match pair[0].as_str().is_some_and(is_secret_key) {
                    true => replace_with_marker(&mut pair[1]),
                    false => mask(&mut pair[1], depth + 2),
                };
            }
        }
        return changed;
    }
    let mut after_secret_flag = false;
    for item in items.iter_mut() {
        if after_secret_flag && item.is_string() && !is_flag(item) {
            changed |= replace_with_marker(item);
            after_secret_flag = false;
            continue;
        }
        after_secret_flag = is_secret_flag(item);
        changed |= mask(item, depth + 1);
    }
    changed
}

fn mask_map(entries: &mut Map<String, Value>, depth: usize) -> bool {
    let mut changed = false;
    let named_secret = names_a_secret(entries);
    for (key, value) in entries.iter_mut() {
        if is_secret_key(key) || named_secret && key == "value" {
            changed |= replace_with_marker(value);
        } else {
            changed |= mask(value, depth + 1);
        }
    }
    // A key may quote a secret too (`{"postgres://app:pw@db": "down"}`).
    let renamed: Vec<String> = entries
        .keys()
        .filter(|key| holds_secret_text(key))
        .cloned()
        .collect();
    for key in renamed {
        if let Some(value) = entries.remove(&key) {
            let mut masked = redact_text(&key).into_owned();
            // Two keys masked alike both stay (told apart in front, where no rule reads).
            while entries.contains_key(&masked) {
                masked.insert(0, '~');
            }
            entries.insert(masked, value);
            changed = true;
        }
    }
    changed
}

/// Whether masking would change anything; allocates nothing.
fn holds_secret(value: &Value, depth: usize) -> bool {
    if depth > WALK_DEPTH {
        return false;
    }
    match value {
        Value::Object(entries) => map_holds_secret(entries, depth),
        Value::Array(items) => array_holds_secret(items, depth),
        Value::String(text) => holds_secret_text(text),
        _ => false,
    }
}

fn is_unmasked(value: &Value) -> bool {
    value.as_str() != Some(REDACTED)
}

fn array_holds_secret(items: &[Value], depth: usize) -> bool {
    if is_pair_list(items) {
        return items.iter().any(|item| match item {
            Value::Array(pair) if pair[0].as_str().is_some_and(is_secret_key) => {
                is_unmasked(&pair[1])
            }
            Value::Array(pair) => holds_secret(&pair[1], depth + 2),
            _ => false,
        });
    }
    let mut after_secret_flag = false;
    for item in items {
        if after_secret_flag && item.is_string() && !is_flag(item) {
            if is_unmasked(item) {
                return true;
            }
            after_secret_flag = false;
            continue;
        }
        after_secret_flag = is_secret_flag(item);
        if holds_secret(item, depth + 1) {
            return true;
        }
    }
    false
}

fn map_holds_secret(entries: &Map<String, Value>, depth: usize) -> bool {
    let named_secret = names_a_secret(entries);
    entries.iter().any(|(key, value)| {
        (is_secret_key(key) || named_secret && key == "value") && is_unmasked(value)
            || holds_secret_text(key)
            || holds_secret(value, depth + 1)
    })
}

/// Masks a context, copying a shared one only when it holds something to mask.
fn mask_context(context: &mut Context) {
    if holds_secret(context.value(), 0) {
        mask(context.make_mut(), 0);
    }
}

/// Redacts one error before it is stored: the error to store (a `McpStoreError` passed by
/// reference stays so unless redaction changes its message or details; under the default
/// policy it goes on unchecked, for the shard to skip the check when it holds it already,
/// see [`mask_details`]), with `context`
/// edited (a shared one is copied first). `context_clean`: the context is known to hold
/// nothing to mask (a remembered verdict); only meant for a policy that looks at the
/// context alone.
#[inline]
pub(super) fn apply(
    redactor: &Redactor,
    limits: &ContextLimits,
    key: TypeKey,
    incoming: &mut Incoming<'_>,
    context: &mut Context,
    context_clean: bool,
) -> DetailsBound {
    match &redactor.0 {
        Policy::Off => {}
        Policy::SecretKeys => {
            if !context_clean {
                mask_context(context);
            }
        }
        Policy::Custom(hook) => {
            // Bounded first: the hook gets a copy of the details, which must not be of any size.
            if bound_details(incoming, limits) {
                // The marker may itself be over a small limit: kept if the hook leaves it.
                let marker = incoming.details().cloned();
                let taken = std::mem::replace(incoming, Incoming::Other(Payload::EMPTY));
                *incoming = run_hook(hook, key.name(), taken, context);
                // What the hook wrote is bounded too; the marker was counted once.
                if incoming.details() != marker.as_ref() {
                    let _ = bound_details(incoming, limits);
                }
                return DetailsBound::Replaced;
            }
            let taken = std::mem::replace(incoming, Incoming::Other(Payload::EMPTY));
            *incoming = run_hook(hook, key.name(), taken, context);
        }
    }
    match *incoming {
        // The shard holds the errors it found within the limits (and clean): only one it does
        // not hold yet comes back, to `first_sight`.
        Incoming::Store(error) => *incoming = Incoming::Unchecked(error),
        Incoming::Unchecked(_) => {}
        Incoming::Other(_) => return check_details(redactor, limits, incoming),
    }
    DetailsBound::Within
}

/// Whether an error's details were over the limits, and replaced by a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(super) enum DetailsBound {
    Within,
    Replaced,
}

/// The check of a `McpStoreError` the shard does not hold yet, run unlocked: its details
/// bounded, then masked under the default policy; after it, the error is `Store` (checked) or
/// a copy.
pub(super) fn first_sight(
    redactor: &Redactor,
    limits: &ContextLimits,
    incoming: &mut Incoming<'_>,
) -> DetailsBound {
    check_details(redactor, limits, incoming)
}

/// An error's details bounded, then its message and details masked under the default policy
/// (the message even when the details were replaced: it may quote a secret too).
fn check_details(
    redactor: &Redactor,
    limits: &ContextLimits,
    incoming: &mut Incoming<'_>,
) -> DetailsBound {
    let bound = match bound_details(incoming, limits) {
        true => DetailsBound::Replaced,
        false => DetailsBound::Within,
    };
    if matches!(redactor.0, Policy::SecretKeys) {
        mask_details(incoming);
    } else if let Incoming::Unchecked(error) = *incoming {
        *incoming = Incoming::Store(error);
    }
    bound
}

/// Replaces details over `limits` (the context's) by a marker, in a copy of the error;
/// whether it did. Bounds memory, and keeps an export readable: serde_json reads back at most
/// 128 levels.
fn bound_details(incoming: &mut Incoming<'_>, limits: &ContextLimits) -> bool {
    let Some(Err(oversize)) = incoming
        .details()
        .map(|details| limits.check_details(details))
    else {
        return false;
    };
    let marker = limits.marker_of("details", oversize);
    tracing::warn!(
        target: "mcpstore_errors::collector",
        oversize = ?oversize,
        "an error's details over the collector's limits were replaced by a marker"
    );
    let message = incoming.message().to_owned();
    let kind = incoming.kind();
    let replaced = std::mem::replace(
        incoming,
        Incoming::Other(Payload::redacted(message, kind, Some(marker))),
    );
    // A hook's details may nest deeper than a recursive drop can go.
    if let Incoming::Other(payload) = replaced {
        payload.drop_flat();
    }
    true
}

/// The message of an error on its way in, as the policy would store it: one still to be
/// checked is masked here under the default policy.
pub(super) fn message_seen<'a>(redactor: &Redactor, incoming: &'a Incoming<'_>) -> Cow<'a, str> {
    match (&redactor.0, incoming) {
        (Policy::SecretKeys, Incoming::Unchecked(error)) => redact_text(error.message()),
        _ => Cow::Borrowed(incoming.message()),
    }
}

/// The default masking of an error's message and details, in place: a copy masked when they
/// hold a secret, else the error as it is (checked).
pub(super) fn mask_details(incoming: &mut Incoming<'_>) {
    let message = redact_text(incoming.message());
    let details_hold_secret = incoming
        .details()
        .is_some_and(|details| map_holds_secret(details, 0));
    // `ErrorRecord::error` hands out the error (a wrapper's cause has a message of its own),
    // and with it its causes.
    let causes_hold_secret = || {
        incoming
            .error()
            .is_some_and(|kept| holds_secret_text(kept.message()) || causes_hold_secret(kept))
    };
    if matches!(message, Cow::Borrowed(_)) && !details_hold_secret && !causes_hold_secret() {
        if let Incoming::Unchecked(error) = *incoming {
            *incoming = Incoming::Store(error);
        }
        return;
    }
    let message = message.into_owned();
    let mut details = incoming.details().cloned();
    if let Some(details) = details.as_mut().filter(|_| details_hold_secret) {
        mask_map(details, 0);
    }
    *incoming = Incoming::Other(Payload::redacted(message, incoming.kind(), details));
}

/// Whether a cause of `error` holds a secret: in its message (its `Display`), and for a
/// `McpStoreError` in its details. A cause whose `Display` fails, runs over the collector's
/// message bound, or panics, or a `source()` that panics, counts as holding one: the error is
/// then not kept.
fn causes_hold_secret(error: &McpStoreError) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        let mut next = std::error::Error::source(error);
        for _ in 0..super::record::MAX_CAUSES {
            let Some(cause) = next else {
                return false;
            };
            let holds = match cause.downcast_ref::<McpStoreError>() {
                Some(store) => {
                    holds_secret_text(store.message()) || map_holds_secret(store.details(), 0)
                }
                None => display_holds_secret(cause),
            };
            if holds {
                return true;
            }
            next = cause.source();
        }
        false
    }))
    .unwrap_or(true)
}

fn display_holds_secret(cause: &dyn std::error::Error) -> bool {
    use std::fmt::Write as _;
    let mut text = super::limits::BoundedWriter::default();
    write!(text, "{cause}").is_err() || text.overflowed() || holds_secret_text(&text.finish())
}

#[cold]
fn run_hook<'e>(
    hook: &Hook,
    error_type: &str,
    incoming: Incoming<'e>,
    context: &mut Context,
) -> Incoming<'e> {
    let empty = Map::new();
    let original_details = incoming.details();
    let mut message = incoming.message().to_owned();
    let mut details = original_details.cloned().unwrap_or_default();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        hook(&mut RedactTarget {
            error_type,
            message: &mut message,
            details: &mut details,
            context,
        });
    }));
    if ran.is_err() {
        tracing::error!(
            target: "mcpstore_errors::collector",
            error_type,
            "the redaction hook panicked; the error is stored without message, details or context"
        );
        let mut failed = Map::new();
        failed.insert("_redaction_failed".to_owned(), Value::Bool(true));
        std::mem::replace(context, Context::from(Value::Object(failed))).drop_flat();
        return Incoming::Other(Payload::redacted(
            "<redaction failed>".to_owned(),
            incoming.kind(),
            None,
        ));
    }
    let details_changed = &details != original_details.unwrap_or(&empty);
    if message == incoming.message() && !details_changed {
        return incoming;
    }
    let details = (original_details.is_some() || !details.is_empty()).then_some(details);
    Incoming::Other(Payload::redacted(message, incoming.kind(), details))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_keys_are_recognised_by_word_ignoring_case() {
        for key in [
            "password",
            "PASSWORD",
            "db_password",
            "token",
            "access_token",
            "accessToken",
            "refresh-token",
            "secret",
            "client_secret",
            "secretKey",
            "api_key",
            "apiKey",
            "APIKEY",
            "X-Api-Key",
            "x_api_key",
            "Authorization",
            "Proxy-Authorization",
            "cookie",
            "Set-Cookie",
            "private_key",
            "aws_access_key_id",
            "credentials",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "max_tokens",
            "author",
            "keyboard",
            "monkey",
            "tool",
            "operation",
            "service_name",
            "key",
            "",
            "__",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn plural_secret_keys_are_secret_too() {
        // A list of secrets under a plural key is as secret as one under the singular.
        for key in [
            "passwords",
            "db_passwords",
            "secrets",
            "clientSecrets",
            "cookies",
            "Cookies",
            "api_keys",
            "apiKeys",
            "APIKEYS",
            "private_keys",
            "access-keys",
            "passphrases",
            "signatures",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "jwt",
            "X-Authentication",
            "passcode",
            "sessionId",
            "Mcp-Session-Id",
            "JSESSIONID",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "max_tokens",
            "total_tokens",
            "completionTokens",
            "tokens_used",
            "keys",
            "monkeys",
            "hotkeys",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
        for key in [
            "tokens",
            "Tokens",
            "refresh_tokens",
            "accessTokens",
            "api-tokens",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn acronyms_and_one_word_compounds_are_read_as_words() {
        for key in [
            "AWSSecretKey",
            "JWTSecret",
            "APIToken",
            "myAPIToken",
            "DBPassword",
            "SSHPrivateKey",
            "HTTPAuthorization",
            "OpenAIAPIKey",
            "GCPApiKey",
            "idTokens",
            "privatekey",
            "accesskey",
            "authkey",
            "signing_key",
            "encryptionKey",
            "MASTER_KEY",
            "PASSWORDs",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "APIVersion",
            "HTTPStatus",
            "URLPath",
            "IDs",
            "TTLSeconds",
            "hotkey",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
        let mut value = json!({"passwords": ["hunter2"], "cookies": {"sid": "s"}});
        assert!(mask(&mut value, 0));
        assert_eq!(value, json!({"passwords": REDACTED, "cookies": REDACTED}));
    }

    /// The rule, written plainly: split into words, then look at each word and its
    /// predecessor.
    fn reference(key: &str) -> bool {
        let mut words: Vec<String> = Vec::new();
        for part in key.split(|c: char| !c.is_ascii_alphanumeric()) {
            let mut word = String::new();
            let chars: Vec<char> = part.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                let last = word.chars().last();
                let after_lower =
                    last.is_some_and(|l| l.is_ascii_lowercase() || l.is_ascii_digit());
                let lower_follows =
                    |n: usize| chars.get(i + n).is_some_and(char::is_ascii_lowercase);
                let acronym_ends = last.is_some_and(|l| l.is_ascii_uppercase())
                    && lower_follows(1)
                    && lower_follows(2);
                if c.is_ascii_uppercase() && (after_lower || acronym_ends) {
                    words.push(std::mem::take(&mut word));
                }
                word.push(c);
            }
            if !word.is_empty() {
                words.push(word);
            }
        }
        let words: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        const WORDS: &[&str] = &[
            "password",
            "passwd",
            "pwd",
            "passphrase",
            "secret",
            "token",
            "auth",
            "authorization",
            "bearer",
            "cookie",
            "credential",
            "credentials",
            "apikey",
            "signature",
            "jwt",
            "dsn",
            "passcode",
            "sessionid",
            "jsessionid",
            "authentication",
            "secretkey",
            "privatekey",
            "accesskey",
            "authkey",
            "apitoken",
            "authtoken",
            "accesstoken",
            "refreshtoken",
        ];
        let upper_snake = key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if key.eq_ignore_ascii_case("tokens")
            || upper_snake && (key.ends_with("_KEY") || key.ends_with("_KEYS"))
        {
            return true;
        }
        words.iter().enumerate().any(|(i, word)| {
            const BEFORE_TOKENS: &[&str] = &[
                "access", "refresh", "auth", "api", "bearer", "session", "id",
            ];
            let credentials = i > 0 && BEFORE_TOKENS.contains(&words[i - 1].as_str());
            let singular = match word.strip_suffix('s') {
                Some(stem) if stem.len() >= 3 && (stem != "token" || credentials) => stem,
                _ => word.as_str(),
            };
            WORDS.contains(&word.as_str())
                || WORDS.contains(&singular)
                || (word == "key" || word == "keys")
                    && i > 0
                    && (words[i - 1].ends_with("api")
                        || ["private", "access", "signing", "encryption", "master"]
                            .contains(&words[i - 1].as_str()))
                || word == "id" && i > 0 && words[i - 1] == "session"
        })
    }

    proptest::proptest! {
        #[test]
        fn the_byte_scan_follows_the_rule(
            key in "([a-zA-Z0-9]{0,3}|[-_. ]|api|Api|KEY|key|Key|keys|token|Token|tokens|Tokens|access|refresh|max|auth|secret|API|AWS|DB|Secret|Password|privatekey|signing|openai|pwd|jwt|passcode|sessionId|session|id|Id|authentication|s|S){0,6}"
        ) {
            proptest::prop_assert_eq!(is_secret_key(&key), reference(&key), "{}", key);
        }
    }

    #[test]
    fn headers_written_as_pairs_or_name_and_value_are_masked_by_name() {
        let mut value = json!({
            "headers": [["Authorization", "Bearer t"], ["Accept", "*/*"]],
            "har": [{"name": "X-Api-Key", "value": "k1"}, {"name": "Accept", "value": "*/*"}],
            "postman": [{"key": "Cookie", "value": "sid=1"}],
        });
        assert!(holds_secret(&value, 0));
        assert!(mask(&mut value, 0));
        assert_eq!(
            value,
            json!({
                "headers": [["Authorization", REDACTED], ["Accept", "*/*"]],
                "har": [{"name": "X-Api-Key", "value": REDACTED}, {"name": "Accept", "value": "*/*"}],
                "postman": [{"key": "Cookie", "value": REDACTED}],
            })
        );
        assert!(!holds_secret(&value, 0));
        // A list that is not one of pairs: two names, no header.
        let mut names =
            json!({"missing_fields": ["password", "email"], "tags": ["auth", "billing"]});
        assert!(!holds_secret(&names, 0));
        assert!(!mask(&mut names, 0));
    }

    #[test]
    fn a_secret_flags_argument_and_a_key_quoting_a_secret_are_masked() {
        let mut value = json!({
            "args": ["npx", "server", "--api-key", "sk-1", "--port", "3000", "--token", "--verbose", "--no-auth", "serve"],
            "status": {"postgres://app:hunter2@db/x": "down", "plain": "up"},
            "keys": {"password=abc": 1, "password=[REDACTED]": 2},
            "env": {"OPENAI_KEY": "sk-2", "SENTRY_DSN": "https://k@o.io/1", "PATH": "/bin"},
        });
        assert!(holds_secret(&value, 0));
        assert!(mask(&mut value, 0));
        assert_eq!(
            value,
            json!({
                "args": ["npx", "server", "--api-key", REDACTED, "--port", "3000", "--token", "--verbose", "--no-auth", "serve"],
                "status": {"postgres://app:[REDACTED]@db/x": "down", "plain": "up"},
                // Keys naming a password: their values masked too.
                "keys": {"password=[REDACTED]": REDACTED, "~password=[REDACTED]": REDACTED},
                "env": {"OPENAI_KEY": REDACTED, "SENTRY_DSN": REDACTED, "PATH": "/bin"},
            })
        );
        assert!(!holds_secret(&value, 0));
        assert!(!mask(&mut value, 0));
    }

    #[test]
    fn masking_reaches_every_depth_and_every_array() {
        let mut value = json!({
            "args": [{"headers": {"X-Api-Key": "k1"}}, [{"token": {"nested": "t"}}]],
            "password": 42,
            "plain": "kept",
        });
        assert!(holds_secret(&value, 0));
        assert!(mask(&mut value, 0));
        assert_eq!(
            value,
            json!({
                "args": [{"headers": {"X-Api-Key": REDACTED}}, [{"token": REDACTED}]],
                "password": REDACTED,
                "plain": "kept",
            })
        );
        assert!(!holds_secret(&value, 0));
        assert!(!mask(&mut value, 0));
    }
}

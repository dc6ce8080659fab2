//! The names attributes accept for kinds, strategies and jitters, resolved at compile time.
//!
//! Generated code evaluates each name in a `const` item of its own, in a call spanned on the
//! user's token, so an unknown name fails the build there, with the closest valid name when
//! one is close and the list of them. The tables live here, next to the enums they name, so
//! the macro crate knows none of them.

use crate::{ErrorKind, Jitter, RetryStrategy};

/// The names of one table and the message for each way a name can miss: one suggesting
/// each name, then one for a name close to none (a constant's panic message cannot be
/// formatted, so each is a literal).
struct Names {
    names: &'static [&'static str],
    messages: &'static [&'static str],
}

macro_rules! names {
    ($unknown:literal, expected $expected:literal, [$($name:literal),+ $(,)?]) => {
        Names {
            names: &[$($name),+],
            messages: &[
                $(concat!($unknown, " (did you mean `", $name, "`?); expected ", $expected),)+
                concat!($unknown, "; expected ", $expected),
            ],
        }
    };
}

impl Names {
    /// The message that says `name` is unknown, and which name it was likely meant to be.
    const fn unknown(&self, name: &str) -> &'static str {
        self.messages[nearest(name, self.names)]
    }
}

// In the order of `ErrorKind::ALL`.
const KINDS: Names = names!(
    "unknown error kind",
    expected "one of McpStore, Service, ServiceNotFound, ServiceStart, ServiceStop, \
              ServiceTimeout, Tool, ToolNotFound, ToolExecution, Configuration, Connection, \
              CircuitOpen",
    [
        "McpStore", "Service", "ServiceNotFound", "ServiceStart", "ServiceStop",
        "ServiceTimeout", "Tool", "ToolNotFound", "ToolExecution", "Configuration",
        "Connection", "CircuitOpen",
    ]
);

// In the order of `RetryStrategy::ALL`.
const STRATEGIES: Names = names!(
    "unknown strategy",
    expected "one of fixed, linear, exponential, fibonacci",
    ["fixed", "linear", "exponential", "fibonacci"]
);

const JITTERS: Names = names!(
    "unknown jitter",
    expected "true, false, a fraction such as 0.1, or one of none, full, equal, decorrelated",
    ["none", "full", "equal", "decorrelated"]
);

/// The [`ErrorKind`] variant called `name`, e.g. `"Connection"`.
///
/// # Panics
/// When no variant has that name; meant for a `const` item, where that is a compile error.
pub const fn error_kind(name: &str) -> ErrorKind {
    // Each lookup is a match on the bytes, which the compiler evaluates in a few steps: a loop
    // over the table cost about 1.5 M rustc instructions a name. A test checks each arm
    // against the table.
    match name.as_bytes() {
        b"McpStore" => ErrorKind::McpStore,
        b"Service" => ErrorKind::Service,
        b"ServiceNotFound" => ErrorKind::ServiceNotFound,
        b"ServiceStart" => ErrorKind::ServiceStart,
        b"ServiceStop" => ErrorKind::ServiceStop,
        b"ServiceTimeout" => ErrorKind::ServiceTimeout,
        b"Tool" => ErrorKind::Tool,
        b"ToolNotFound" => ErrorKind::ToolNotFound,
        b"ToolExecution" => ErrorKind::ToolExecution,
        b"Configuration" => ErrorKind::Configuration,
        b"Connection" => ErrorKind::Connection,
        b"CircuitOpen" => ErrorKind::CircuitOpen,
        _ => panic!("{}", KINDS.unknown(name)),
    }
}

/// The [`RetryStrategy`] `strategy = name` means, e.g. `"exponential"`.
///
/// # Panics
/// When the name is unknown; meant for a `const` item, where that is a compile error.
pub const fn strategy(name: &str) -> RetryStrategy {
    match name.as_bytes() {
        b"fixed" => RetryStrategy::Fixed,
        b"linear" => RetryStrategy::Linear,
        b"exponential" => RetryStrategy::Exponential,
        b"fibonacci" => RetryStrategy::Fibonacci,
        _ => panic!("{}", STRATEGIES.unknown(name)),
    }
}

/// The [`Jitter`] `jitter = name` means, e.g. `"full"`.
///
/// # Panics
/// When the name is unknown; meant for a `const` item, where that is a compile error.
pub const fn jitter(name: &str) -> Jitter {
    match name.as_bytes() {
        b"none" => Jitter::None,
        b"full" => Jitter::Full,
        b"equal" => Jitter::Equal,
        b"decorrelated" => Jitter::Decorrelated,
        _ => panic!("{}", JITTERS.unknown(name)),
    }
}

/// Names longer than this get no suggestion (the distance's row is a fixed array).
const LONGEST_COMPARED: usize = 48;

/// The index of the name `name` was most likely meant to be: the closest within a third of
/// its length (at least one edit; a change of case is none), else the one it begins (a name
/// cut short, `expo`); `names.len()` for none.
const fn nearest(name: &str, names: &[&str]) -> usize {
    let name = name.as_bytes();
    if name.len() > LONGEST_COMPARED {
        return names.len();
    }
    let allowed = if name.len() < 3 { 1 } else { name.len() / 3 };
    let mut best: Option<(usize, usize)> = None;
    let mut prefix_of = None;
    let mut i = 0;
    while i < names.len() {
        let candidate = names[i].as_bytes();
        if candidate.len() <= LONGEST_COMPARED {
            let distance = distance(name, candidate);
            if distance == 0 {
                return i;
            }
            let closer = match best {
                Some((_, shortest)) => distance < shortest,
                None => true,
            };
            if distance <= allowed && closer {
                best = Some((i, distance));
            }
            if prefix_of.is_none() && name.len() >= 3 && starts_with(candidate, name) {
                prefix_of = Some(i);
            }
        }
        i += 1;
    }
    match (best, prefix_of) {
        (Some((index, _)), _) | (None, Some(index)) => index,
        (None, None) => names.len(),
    }
}

/// Levenshtein distance, ASCII case ignored; both at most [`LONGEST_COMPARED`] long.
const fn distance(a: &[u8], b: &[u8]) -> usize {
    let mut row = [0usize; LONGEST_COMPARED + 1];
    let mut j = 0;
    while j <= b.len() {
        row[j] = j;
        j += 1;
    }
    let mut i = 0;
    while i < a.len() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        let mut j = 0;
        while j < b.len() {
            let substitution = diagonal + (!a[i].eq_ignore_ascii_case(&b[j])) as usize;
            let deletion = row[j + 1] + 1;
            let insertion = row[j] + 1;
            diagonal = row[j + 1];
            row[j + 1] = min(substitution, min(deletion, insertion));
            j += 1;
        }
        i += 1;
    }
    row[b.len()]
}

const fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    if prefix.len() > text.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if !text[i].eq_ignore_ascii_case(&prefix[i]) {
            return false;
        }
        i += 1;
    }
    true
}

const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The panic message of resolving `name` in one table.
    fn message_of(resolve: fn(&str), name: &str) -> String {
        let payload =
            std::panic::catch_unwind(|| resolve(name)).expect_err("an unknown name panics");
        payload
            .downcast::<String>()
            .map(|s| *s)
            .or_else(|p| p.downcast::<&str>().map(|s| s.to_string()))
            .expect("a text message")
    }

    const KIND: fn(&str) = |name| {
        let _ = error_kind(name);
    };
    const STRATEGY: fn(&str) = |name| {
        let _ = strategy(name);
    };
    const JITTER: fn(&str) = |name| {
        let _ = jitter(name);
    };

    #[test]
    fn a_misspelt_or_shortened_name_is_answered_with_the_name_meant() {
        for (table, name, meant) in [
            (KIND, "ServiceTimeOut", "ServiceTimeout"),
            (KIND, "Conection", "Connection"),
            (KIND, "connection", "Connection"),
            (KIND, "Tol", "Tool"),
            (KIND, "ToolNotFond", "ToolNotFound"),
            (STRATEGY, "expo", "exponential"),
            (STRATEGY, "Fixed", "fixed"),
            (STRATEGY, "fibonaci", "fibonacci"),
            (JITTER, "ful", "full"),
            (JITTER, "decorr", "decorrelated"),
        ] {
            let message = message_of(table, name);
            assert!(
                message.contains(&format!("(did you mean `{meant}`?); expected ")),
                "{name}: {message}"
            );
        }
    }

    #[test]
    fn a_name_close_to_none_gets_the_list_alone() {
        let long = "x".repeat(10_000);
        for (table, name) in [
            (KIND, "Nope"),
            (KIND, "ex"),
            (KIND, ""),
            (KIND, long.as_str()),
            (STRATEGY, "random"),
            (JITTER, "proportional"),
        ] {
            let message = message_of(table, name);
            assert!(!message.contains("did you mean"), "{message}");
            assert!(message.contains("; expected "), "{message}");
        }
    }

    #[test]
    fn the_distance_counts_edits_and_ignores_case() {
        assert_eq!(distance(b"kitten", b"sitting"), 3);
        assert_eq!(distance(b"Tool", b"tOOL"), 0);
        assert_eq!(distance(b"", b"full"), 4);
        assert_eq!(distance(b"full", b""), 4);
    }

    #[test]
    fn every_kind_is_found_by_its_variant_name_and_listed() {
        let message = message_of(KIND, "Nope");
        for kind in ErrorKind::ALL {
            let name = format!("{kind:?}");
            assert_eq!(error_kind(&name), kind);
            assert!(message.contains(&name), "{name} missing from: {message}");
        }
    }

    #[test]
    fn every_strategy_is_found_by_its_lowercase_name() {
        for strategy in RetryStrategy::ALL {
            let name = format!("{strategy:?}").to_lowercase();
            assert_eq!(super::strategy(&name), strategy);
        }
        assert!(std::panic::catch_unwind(|| super::strategy("Fixed")).is_err());
    }

    // In the order of `JITTERS`.
    const NAMED_JITTERS: [Jitter; 4] = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ];

    #[test]
    fn each_arm_of_a_lookup_answers_its_table_name_with_the_value_of_the_same_place() {
        assert_eq!(KINDS.names.len(), ErrorKind::ALL.len());
        for (name, kind) in KINDS.names.iter().zip(ErrorKind::ALL) {
            assert_eq!(error_kind(name), kind, "{name}");
        }
        assert_eq!(STRATEGIES.names.len(), RetryStrategy::ALL.len());
        for (name, strategy_named) in STRATEGIES.names.iter().zip(RetryStrategy::ALL) {
            assert_eq!(strategy(name), strategy_named, "{name}");
        }
        assert_eq!(JITTERS.names.len(), NAMED_JITTERS.len());
        for (name, jitter_named) in JITTERS.names.iter().zip(NAMED_JITTERS) {
            assert_eq!(jitter(name), jitter_named, "{name}");
        }
    }

    #[test]
    fn named_jitters_are_the_unit_variants() {
        for (name, expected) in [
            ("none", Jitter::None),
            ("full", Jitter::Full),
            ("equal", Jitter::Equal),
            ("decorrelated", Jitter::Decorrelated),
        ] {
            assert_eq!(jitter(name), expected);
        }
        assert!(std::panic::catch_unwind(|| jitter("proportional")).is_err());
    }
}

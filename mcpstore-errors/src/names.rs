//! The names attributes accept for kinds, strategies and jitters, resolved at compile time.
//!
//! Generated code evaluates these in a constant (a `const` item, or the initialiser of a
//! policy's `static`), in a call spanned on the user's token, so an unknown name fails the
//! build there, with the valid names in the message. The tables live here, next
//! to the enums they name, so the macro crate knows none of them.

use crate::{ErrorKind, Jitter, RetryStrategy};

/// The [`ErrorKind`] variant called `name`, e.g. `"Connection"`.
///
/// # Panics
/// When no variant has that name; meant for a `const` item, where that is a compile error.
pub const fn error_kind(name: &str) -> ErrorKind {
    use ErrorKind::*;
    match name.as_bytes() {
        b"McpStore" => McpStore,
        b"Service" => Service,
        b"ServiceNotFound" => ServiceNotFound,
        b"ServiceStart" => ServiceStart,
        b"ServiceStop" => ServiceStop,
        b"ServiceTimeout" => ServiceTimeout,
        b"Tool" => Tool,
        b"ToolNotFound" => ToolNotFound,
        b"ToolExecution" => ToolExecution,
        b"Configuration" => Configuration,
        b"Connection" => Connection,
        b"CircuitOpen" => CircuitOpen,
        _ => panic!(
            "unknown error kind; expected one of McpStore, Service, ServiceNotFound, \
             ServiceStart, ServiceStop, ServiceTimeout, Tool, ToolNotFound, ToolExecution, \
             Configuration, Connection, CircuitOpen"
        ),
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
        _ => panic!("unknown strategy; expected one of fixed, linear, exponential, fibonacci"),
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
        _ => panic!(
            "unknown jitter; expected true, false, a fraction such as 0.1, or one of none, \
             full, equal, decorrelated"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_variant_name_and_listed() {
        let message = std::panic::catch_unwind(|| error_kind("Nope"))
            .expect_err("an unknown kind panics")
            .downcast::<String>()
            .map(|s| *s)
            .or_else(|p| p.downcast::<&str>().map(|s| s.to_string()))
            .expect("a text message");
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

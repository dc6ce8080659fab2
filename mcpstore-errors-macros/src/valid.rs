//! Checks of argument values that the parser alone cannot make.

use syn::spanned::Spanned;
use syn::{Expr, Ident};

use crate::args::Errors;

/// The variant names of `mcpstore_errors::ErrorKind`; a runtime test checks they agree.
pub(crate) const ERROR_KINDS: &[&str] = &[
    "McpStore",
    "Service",
    "ServiceNotFound",
    "ServiceStart",
    "ServiceStop",
    "ServiceTimeout",
    "Tool",
    "ToolNotFound",
    "ToolExecution",
    "Configuration",
    "Connection",
];

/// `strategy = ...` names and the `RetryStrategy` variant each one means.
pub(crate) const STRATEGIES: &[(&str, &str)] = &[
    ("fixed", "Fixed"),
    ("linear", "Linear"),
    ("exponential", "Exponential"),
    ("fibonacci", "Fibonacci"),
];

/// `jitter = ...` names and the `Jitter` variant each one means.
pub(crate) const JITTERS: &[(&str, &str)] = &[
    ("none", "None"),
    ("full", "Full"),
    ("equal", "Equal"),
    ("decorrelated", "Decorrelated"),
];

fn names(table: &[(&str, &str)]) -> String {
    table
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn strategy(ident: &Ident, errors: &mut Errors) {
    if !STRATEGIES.iter().any(|(name, _)| ident == name) {
        errors.at(
            ident.span(),
            format_args!(
                "unknown strategy `{ident}`; expected one of {}",
                names(STRATEGIES)
            ),
        );
    }
}

pub(crate) fn jitter(ident: &Ident, errors: &mut Errors) {
    if !JITTERS.iter().any(|(name, _)| ident == name) {
        errors.at(
            ident.span(),
            format_args!(
                "unknown jitter `{ident}`; expected true, false, a fraction such as 0.1, or one of {}",
                names(JITTERS)
            ),
        );
    }
}

pub(crate) fn error_kind(ident: &Ident, errors: &mut Errors) {
    if !ERROR_KINDS.iter().any(|name| ident == name) {
        errors.at(
            ident.span(),
            format_args!(
                "unknown error kind `{ident}`; expected one of {}",
                ERROR_KINDS.join(", ")
            ),
        );
    }
}

/// A closure given where a function of `arity` arguments is expected must have that many.
pub(crate) fn predicate(expr: &Expr, arity: usize, key: &str, expected: &str, errors: &mut Errors) {
    let closure = match expr {
        Expr::Closure(closure) => closure,
        Expr::Lit(_) | Expr::Array(_) | Expr::Tuple(_) | Expr::Block(_) => {
            errors.at(expr.span(), format_args!("`{key}` expects {expected}"));
            return;
        }
        _ => return,
    };
    if closure.inputs.len() != arity {
        let plural = if arity == 1 { "" } else { "s" };
        let span = match closure.inputs.first() {
            Some(_) => closure.inputs.span(),
            None => closure.or1_token.span,
        };
        errors.at(
            span,
            format_args!(
                "`{key}` expects {expected}: a closure of {arity} argument{plural}, not {}",
                closure.inputs.len()
            ),
        );
    }
}

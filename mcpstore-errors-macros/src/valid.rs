//! Checks of argument values that the parser alone cannot make.

use proc_macro2::Span;
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
    "CircuitOpen",
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

/// A value the expansion evaluates once into a `static` (`config`, `delay`, `ttl`..) cannot
/// name what only a call has: reports its first `Self`, `self` or generic parameter of the
/// function (`generics`: their names, lifetimes with their `'`).
pub(crate) fn evaluated_once(
    key: &str,
    value: proc_macro2::TokenStream,
    generics: &[String],
    errors: &mut Errors,
) {
    if let Some(span) = names_outer_item(value, generics) {
        errors.at(
            span,
            format_args!(
                "`{key}` is evaluated once into a static shared by every call, so it cannot use \
                 `Self`, `self` or the function's generic parameters; name the type instead \
                 (e.g. `Store::policy()`)"
            ),
        );
    }
}

fn names_outer_item(tokens: proc_macro2::TokenStream, generics: &[String]) -> Option<Span> {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_punct = |tree: Option<&TokenTree>, c: char| matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == c);
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                if let Some(span) = names_outer_item(group.stream(), generics) {
                    return Some(span);
                }
            }
            TokenTree::Ident(ident) => {
                // `x.T` is a field or method, `a::T` a path's segment, `'a` a lifetime.
                let after_dot_or_path = i > 0
                    && (is_punct(trees.get(i - 1), '.')
                        || (is_punct(trees.get(i - 1), ':')
                            && i > 1
                            && is_punct(trees.get(i - 2), ':')));
                let name = ident.to_string();
                let lifetime = i > 0 && is_punct(trees.get(i - 1), '\'');
                let names_outer = if lifetime {
                    generics.contains(&format!("'{name}"))
                } else if after_dot_or_path {
                    false
                } else if name == "self" {
                    // `self::module::f()` is a module path, fine in a static.
                    !is_punct(trees.get(i + 1), ':')
                } else {
                    name == "Self" || generics.contains(&name)
                };
                if names_outer {
                    return Some(ident.span());
                }
            }
            _ => {}
        }
    }
    None
}

//! Literal values whose bounds the runtime knows (`max_attempts`, a jitter fraction, a cache
//! capacity). Each literal passes through a `__private::literals` function, spanned on it and
//! evaluated as a constant (inside one already, or in a `const` item of its own), so a value
//! out of range fails the build there, with the runtime's rule.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::{Expr, Ident, Lit};

use crate::args::{JitterValue, Layer, Strategy};
use crate::duration::DurationValue;

#[derive(Clone, Copy)]
pub(super) enum Bound {
    MaxAttempts,
    CacheCapacity,
    JitterFraction,
}

impl Bound {
    /// `const` item type and `__private::literals` call for `literal`, spanned from where it
    /// starts to `end`, where it ends (a negated literal is two tokens).
    fn check(self, literal: &Lit, end: Span) -> (TokenStream, TokenStream) {
        let span = literal.span();
        let (function, ty) = match self {
            Bound::MaxAttempts => (
                "max_attempts",
                quote_spanned!(span=> ::core::primitive::u32),
            ),
            Bound::CacheCapacity => (
                "cache_capacity",
                quote_spanned!(span=> ::core::primitive::usize),
            ),
            Bound::JitterFraction => (
                "jitter_fraction",
                quote_spanned!(span=> ::core::primitive::f64),
            ),
        };
        let function = Ident::new(function, span);
        // The call's span runs from its path's first token to its parentheses: rustc reports
        // a failed evaluation over the whole literal.
        let mut arguments = Group::new(Delimiter::Parenthesis, literal.to_token_stream());
        arguments.set_span(end);
        let call =
            quote_spanned!(span=> ::mcpstore_errors::__private::literals::#function #arguments);
        (ty, call)
    }
}

/// The number literal `expr` is, looking through the invisible groups and parentheses a
/// `macro_rules!` fragment arrives in.
fn number(expr: &Expr) -> Option<&Lit> {
    match crate::args::bare(expr) {
        Expr::Lit(syn::ExprLit { lit, .. }) if matches!(lit, Lit::Int(_) | Lit::Float(_)) => {
            Some(lit)
        }
        _ => None,
    }
}

/// Whether an integer literal is in `T`'s range (any other literal is left to the check).
fn fits<T: std::str::FromStr>(literal: &Lit) -> bool
where
    T::Err: std::fmt::Display,
{
    match literal {
        Lit::Int(int) => int.base10_parse::<T>().is_ok(),
        _ => true,
    }
}

/// Whether `expr` is a number literal, as written or through a `macro_rules!` fragment.
pub(super) fn is_number(expr: &Expr) -> bool {
    number(expr).is_some()
}

/// `literal` as a constant expression checked against `bound`.
pub(super) fn checked_literal(bound: Bound, literal: &Lit) -> TokenStream {
    checked_literal_to(bound, literal, literal.span())
}

/// [`checked_literal`] of a literal written from its span to `end`.
pub(super) fn checked_literal_to(bound: Bound, literal: &Lit, end: Span) -> TokenStream {
    let (ty, call) = bound.check(literal, end);
    super::evaluated(ty, call, literal.span())
}

/// `value`, checked against `bound` when it is a literal (any other expression is the
/// runtime's to clamp).
pub(super) fn checked(bound: Bound, value: &Expr) -> TokenStream {
    match number(value) {
        Some(literal) => checked_literal(bound, literal),
        None => value.to_token_stream(),
    }
}

/// `backoff = value` as an `f64` constant checked by the runtime, when `value` is a number
/// literal, negated or not (an integer is written as a float); `None` for an expression.
pub(super) fn checked_multiplier(value: &Expr) -> Option<TokenStream> {
    let (ty, call, span) = multiplier_call(value)?;
    Some(super::evaluated(ty, call, span))
}

fn multiplier_call(value: &Expr) -> Option<(TokenStream, TokenStream, proc_macro2::Span)> {
    let (negative, literal) = match crate::args::bare(value) {
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, number(expr)?),
        _ => (false, number(value)?),
    };
    let float = match literal {
        Lit::Int(int) => syn::LitFloat::new(&format!("{}.0", int.base10_digits()), int.span()),
        Lit::Float(float) => float.clone(),
        _ => return None,
    };
    let span = literal.span();
    let value = if negative {
        quote_spanned!(span=> -#float)
    } else {
        quote_spanned!(span=> #float)
    };
    let call = quote_spanned!(span=> ::mcpstore_errors::__private::literals::multiplier(#value));
    Some((quote_spanned!(span=> ::core::primitive::f64), call, span))
}

/// A literal duration the runtime bounds, spanned on its key: a cache's `ttl`
/// (`literals::cache_ttl`) or a timeout (`literals::timeout`).
#[derive(Clone, Copy)]
pub(super) enum DurationBound {
    CacheTtl,
    Timeout,
    Deadline,
}

/// `value`, checked against `bound` (spanned on `key`) when it is a literal.
pub(super) fn checked_duration(
    bound: DurationBound,
    value: &DurationValue,
    key: proc_macro2::Span,
) -> TokenStream {
    match duration_call(bound, value, key) {
        Some((ty, call, span)) => super::evaluated(ty, call, span),
        None => value.to_tokens(),
    }
}

fn duration_call(
    bound: DurationBound,
    value: &DurationValue,
    span: proc_macro2::Span,
) -> Option<(TokenStream, TokenStream, proc_macro2::Span)> {
    if !matches!(value, DurationValue::Known(_)) {
        return None;
    }
    let function = match bound {
        DurationBound::CacheTtl => "cache_ttl",
        DurationBound::Timeout => "timeout",
        DurationBound::Deadline => "deadline",
    };
    let function = Ident::new(function, span);
    let value = value.to_tokens();
    let call = quote_spanned!(span=> ::mcpstore_errors::__private::literals::#function(#value));
    Some((quote_spanned!(span=> ::core::time::Duration), call, span))
}

/// `delay`, checked by the runtime against its cap (spanned on the key), when both are known:
/// a literal `max_delay`, or none and no `config` (the attribute's default cap).
pub(super) fn checked_delay(args: &crate::args::RetryArgs) -> Option<TokenStream> {
    let (ty, call, span) = delay_call(args)?;
    Some(super::evaluated(ty, call, span))
}

fn delay_call(
    args: &crate::args::RetryArgs,
) -> Option<(TokenStream, TokenStream, proc_macro2::Span)> {
    let delay @ DurationValue::Known(_) = args.delay.get()? else {
        return None;
    };
    let span = args.delay.key_span()?;
    let max_delay = match args.max_delay.get() {
        Some(max_delay @ DurationValue::Known(_)) => max_delay.to_tokens(),
        None if args.config.get().is_none() => quote_spanned! {span=>
            ::mcpstore_errors::__private::DEFAULT_MAX_DELAY
        },
        _ => return None,
    };
    let delay = delay.to_tokens();
    let call = quote_spanned!(span=> ::mcpstore_errors::__private::literals::base_delay(#delay, #max_delay));
    Some((quote_spanned!(span=> ::core::time::Duration), call, span))
}

/// For a stack that is not expanded because of other errors: `const _` items that still check
/// every literal, so that one build reports all the problems.
pub(super) fn checks(layers: &[Layer]) -> TokenStream {
    let mut literals: Vec<(Bound, Lit, Span)> = Vec::new();
    let mut checks = TokenStream::new();
    for layer in layers {
        match layer {
            Layer::Retry(args) => {
                if let Some((ty, call, span)) = args.backoff.get().and_then(multiplier_call) {
                    checks.extend(super::check_item(ty, call, span));
                }
                // One out of the type's range is reported as such (`valid::literal_fits`).
                let attempts = args
                    .max_attempts
                    .get()
                    .and_then(number)
                    .filter(|lit| fits::<u32>(lit));
                literals.extend(attempts.map(|lit| (Bound::MaxAttempts, lit.clone(), lit.span())));
                if let Some(JitterValue::Proportional(fraction, end)) = args.jitter.get() {
                    literals.push((Bound::JitterFraction, Lit::Float(fraction.clone()), *end));
                }
                checks.extend(duration_check(
                    DurationBound::Timeout,
                    &args.attempt_timeout,
                ));
                checks.extend(duration_check(DurationBound::Deadline, &args.deadline));
                if let Some((ty, call, span)) = delay_call(args) {
                    checks.extend(super::check_item(ty, call, span));
                }
            }
            Layer::Fallback(args) => {
                for strategy in &args.strategies {
                    let Strategy::Cache {
                        key, ttl, capacity, ..
                    } = strategy
                    else {
                        continue;
                    };
                    if let Some((ty, call, span)) = ttl
                        .as_ref()
                        .and_then(|ttl| duration_call(DurationBound::CacheTtl, ttl, key.span()))
                    {
                        checks.extend(super::check_item(ty, call, span));
                    }
                    let capacity = capacity
                        .as_ref()
                        .and_then(number)
                        .filter(|lit| fits::<usize>(lit));
                    literals.extend(
                        capacity.map(|lit| (Bound::CacheCapacity, lit.clone(), lit.span())),
                    );
                }
            }
            Layer::Timeout(args) => {
                checks.extend(duration_check(DurationBound::Timeout, &args.after))
            }
            Layer::Collect(_) | Layer::Breaker(_) => {}
        }
    }
    for (bound, literal, end) in &literals {
        let (ty, call) = bound.check(literal, *end);
        checks.extend(super::check_item(ty, call, literal.span()));
    }
    checks
}

fn duration_check(bound: DurationBound, slot: &crate::args::Slot<DurationValue>) -> TokenStream {
    let call = slot
        .get()
        .zip(slot.key_span())
        .and_then(|(duration, key)| duration_call(bound, duration, key));
    match call {
        Some((ty, call, span)) => super::check_item(ty, call, span),
        None => TokenStream::new(),
    }
}

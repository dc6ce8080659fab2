//! The keys of `#[retry(...)]`.

use proc_macro2::TokenStream;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::{Slot, assigned, crate_path, ident_list, parse_entries, unknown_key};
use crate::duration::DurationValue;
use crate::errors::Errors;
use crate::valid;

/// How failed attempts are retried.
pub(crate) enum RetryFilter {
    /// `when = retryable`: the error's `Classify::is_retryable`.
    Retryable(Ident),
    /// `when = predicate`.
    Predicate(Expr),
}

/// The jitter of `jitter = ...`.
pub(crate) enum JitterValue {
    None,
    /// The fraction, spanned where it starts (a `-`), and where its literal ends.
    Proportional(syn::LitFloat, proc_macro2::Span),
    /// `jitter = true`: the runtime's default.
    Default(proc_macro2::Span),
    Named(Ident),
    Expr(Expr),
}

/// The arguments of `#[retry(...)]`.
#[derive(Default)]
pub(crate) struct RetryArgs {
    pub(crate) max_attempts: Slot<Expr>,
    pub(crate) delay: Slot<DurationValue>,
    pub(crate) max_delay: Slot<DurationValue>,
    pub(crate) backoff: Slot<Expr>,
    pub(crate) jitter: Slot<JitterValue>,
    pub(crate) strategy: Slot<Ident>,
    pub(crate) on: Slot<Vec<Ident>>,
    pub(crate) when: Slot<RetryFilter>,
    pub(crate) retry_if_result: Slot<Expr>,
    pub(crate) config: Slot<Expr>,
    pub(crate) on_retry: Slot<Expr>,
    pub(crate) no_clone: Slot<Vec<Ident>>,
    pub(crate) attempt_timeout: Slot<DurationValue>,
    pub(crate) deadline: Slot<DurationValue>,
    pub(crate) budget: Slot<Expr>,
    /// `crate = path`.
    pub(crate) krate: Slot<syn::Path>,
}

pub(crate) const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "delay",
    "backoff",
    "max_delay",
    "jitter",
    "strategy",
    "on",
    "when",
    "retry_if_result",
    "config",
    "on_retry",
    "no_clone",
    "attempt_timeout",
    "deadline",
    "budget",
    "crate",
];

impl RetryArgs {
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> RetryArgs {
        let mut args = RetryArgs::default();
        parse_entries(tokens, errors, |key, value, errors| {
            let name = key.to_string();
            match name.as_str() {
                "max_attempts" => {
                    let value: Expr = assigned(key, value, "max_attempts = 5")?.parse()?;
                    args.max_attempts.set(key, value, errors);
                }
                "delay" | "max_delay" | "attempt_timeout" | "deadline" => {
                    let input = assigned(key, value, &format!("{name} = \"200ms\""))?;
                    let duration = DurationValue::parse(input, errors)?;
                    let slot = match name.as_str() {
                        "delay" => &mut args.delay,
                        "max_delay" => &mut args.max_delay,
                        "attempt_timeout" => &mut args.attempt_timeout,
                        _ => &mut args.deadline,
                    };
                    slot.set(key, duration, errors);
                }
                "budget" => {
                    let value: Expr =
                        assigned(key, value, "budget = \"fs\" or budget = &MY_BUDGET")?.parse()?;
                    args.budget.set(key, value, errors);
                }
                "backoff" => {
                    let value: Expr = assigned(key, value, "backoff = 2.0")?.parse()?;
                    args.backoff.set(key, value, errors);
                }
                "jitter" => {
                    let input = assigned(key, value, "jitter = false")?;
                    let jitter = parse_jitter(input, key)?;
                    args.jitter.set(key, jitter, errors);
                }
                "strategy" => {
                    let ident = super::name(assigned(key, value, "strategy = fibonacci")?, key)?;
                    args.strategy.set(key, ident, errors);
                }
                "on" => {
                    let kinds = ident_list(
                        assigned(key, value, "on = [ServiceStart, ServiceTimeout]")?,
                        key,
                    )?;
                    if kinds.is_empty() {
                        errors.at(
                            key.span(),
                            "`on = []` retries no error: list the kinds to retry, or leave `on` out to retry every error",
                        );
                    }
                    args.on.set(key, kinds, errors);
                }
                "when" => {
                    let value: Expr = assigned(key, value, "when = retryable")?.parse()?;
                    let filter = match &value {
                        Expr::Path(path) if path.path.is_ident("retryable") => {
                            RetryFilter::Retryable(path.path.segments[0].ident.clone())
                        }
                        _ => {
                            valid::predicate(
                                &value,
                                1,
                                "when",
                                "a predicate on the error, e.g. `when = |e: &MyError| e.is_transient()`",
                                errors,
                            );
                            RetryFilter::Predicate(value)
                        }
                    };
                    args.when.set(key, filter, errors);
                }
                "retry_if_result" => {
                    let value: Expr =
                        assigned(key, value, "retry_if_result = |ok: &bool| !*ok")?.parse()?;
                    valid::predicate(
                        &value,
                        1,
                        "retry_if_result",
                        "a predicate on the `Ok` value, e.g. `retry_if_result = |ok: &bool| !*ok`",
                        errors,
                    );
                    args.retry_if_result.set(key, value, errors);
                }
                "config" => {
                    let value: Expr = assigned(key, value, "config = my_policy()")?.parse()?;
                    args.config.set(key, value, errors);
                }
                "on_retry" => {
                    let value: Expr = assigned(key, value, "on_retry = log_attempt")?.parse()?;
                    valid::predicate(
                        &value,
                        3,
                        "on_retry",
                        "a hook `|attempt: u32, error: &E, delay: Duration|`",
                        errors,
                    );
                    args.on_retry.set(key, value, errors);
                }
                "no_clone" => {
                    let names = super::no_clone_list(key, value)?;
                    args.no_clone.set(key, names, errors);
                }
                "crate" => args.krate.set(key, crate_path(key, value)?, errors),
                _ => return Err(unknown_key(key, "retry", RETRY_KEYS)),
            }
            Ok(())
        });
        args
    }
}

/// `value` as a float literal at `span`. One too large for an `f64` (`1e400`, 400 digits)
/// becomes the largest finite one, which the runtime's check refuses as any other.
fn fraction(value: f64, span: proc_macro2::Span) -> syn::LitFloat {
    let value = if value.is_finite() {
        value
    } else {
        f64::MAX.copysign(value)
    };
    syn::LitFloat::new(
        &proc_macro2::Literal::f64_unsuffixed(value).to_string(),
        span,
    )
}

fn parse_jitter(input: ParseStream<'_>, key: &Ident) -> syn::Result<JitterValue> {
    let value: Expr = input.parse()?;
    Ok(match super::bare(&value) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) => {
            let fraction = text.value().parse::<f64>();
            return Err(match fraction {
                Ok(_) => syn::Error::new(
                    text.span(),
                    format!(
                        "`jitter` takes a number, without quotes: `jitter = {}`",
                        text.value()
                    ),
                ),
                Err(_) => super::quoted_name(key, text, true),
            });
        }
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) if !b.value => JitterValue::None,
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => JitterValue::Default(b.span),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(f),
            ..
        }) if f.suffix().is_empty() && f.base10_parse::<f64>()?.is_infinite() => {
            JitterValue::Proportional(fraction(f64::INFINITY, f.span()), f.span())
        }
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(f),
            ..
        }) => JitterValue::Proportional(f.clone(), f.span()),
        // `1` and `-0.5` are fractions too, for the runtime's check to judge.
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) if int.suffix().is_empty() => {
            JitterValue::Proportional(fraction(int.base10_parse()?, int.span()), int.span())
        }
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match super::bare(expr) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Float(f),
                ..
            }) if f.suffix().is_empty() => JitterValue::Proportional(
                fraction(-f.base10_parse::<f64>()?, value.span()),
                f.span(),
            ),
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(int),
                ..
            }) if int.suffix().is_empty() => JitterValue::Proportional(
                fraction(-int.base10_parse::<f64>()?, value.span()),
                int.span(),
            ),
            _ => JitterValue::Expr(value),
        },
        Expr::Path(path) if path.path.get_ident().is_some() => {
            let ident = path.path.segments[0].ident.clone();
            JitterValue::Named(ident)
        }
        _ => JitterValue::Expr(value),
    })
}

//! Durations in attribute arguments: `"250ms"`, `"1.5s"`, `"2m"` (checked here, at compile time),
//! a bare number of seconds, or any expression of type `Duration`.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use crate::errors::Errors;

/// A duration given to an attribute.
pub(crate) enum DurationValue {
    /// Known at compile time.
    Known(Duration),
    /// An expression the compiler checks to be a `Duration`.
    Expr(Expr),
    /// Malformed, and already reported: expands to zero, and no bound is checked on it.
    Reported,
}

impl DurationValue {
    pub(crate) fn parse(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<DurationValue> {
        let expr: Expr = input.parse()?;
        // Through the invisible group a `macro_rules!` fragment (`$d:literal`) arrives in.
        Ok(match crate::args::bare(&expr) {
            Expr::Lit(syn::ExprLit { lit, .. }) => match known(lit) {
                Ok(duration) => DurationValue::Known(duration),
                Err(error) => {
                    errors.push(error);
                    DurationValue::Reported
                }
            },
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                expr: inner,
                ..
            }) if matches!(crate::args::bare(inner), Expr::Lit(_)) => {
                errors.at(expr.span(), "a duration cannot be negative");
                DurationValue::Reported
            }
            _ => DurationValue::Expr(expr),
        })
    }

    /// Whether the value is known at compile time (so a `static` can hold it).
    pub(crate) fn is_known(&self) -> bool {
        matches!(self, DurationValue::Known(_) | DurationValue::Reported)
    }

    /// An expression of type `::core::time::Duration`.
    pub(crate) fn to_tokens(&self) -> TokenStream {
        match self {
            DurationValue::Known(duration) => {
                let (secs, nanos) = (duration.as_secs(), duration.subsec_nanos());
                quote!(::core::time::Duration::new(#secs, #nanos))
            }
            DurationValue::Reported => quote!(::core::time::Duration::ZERO),
            DurationValue::Expr(expr) => quote_spanned! {expr.span()=>
                {
                    let __mcpstore_duration: ::core::time::Duration = #expr;
                    __mcpstore_duration
                }
            },
        }
    }
}

fn known(lit: &Lit) -> syn::Result<Duration> {
    let invalid = |message: String| syn::Error::new(lit.span(), message);
    // Rust reads `250ms` as the number 250 with a suffix, which parsing as a number drops.
    let suffixed = match lit {
        Lit::Int(int) => Some((int.base10_digits(), int.suffix())),
        Lit::Float(float) => Some((float.base10_digits(), float.suffix())),
        _ => None,
    };
    if let Some((digits, suffix)) = suffixed.filter(|(_, suffix)| !suffix.is_empty()) {
        let written = format!("{digits}{suffix}");
        return Err(invalid(if humantime::parse_duration(&written).is_ok() {
            format!("a duration with a unit is a string: write \"{written}\"")
        } else {
            format!(
                "a number of seconds takes no suffix: write `{digits}`, or a string such as \"{digits}s\""
            )
        }));
    }
    match lit {
        Lit::Str(text) => humantime::parse_duration(&text.value()).map_err(|error| {
            invalid(format!(
                "malformed duration {:?}: {error}; write e.g. \"250ms\", \"1.5s\" or \"2m\"",
                text.value()
            ))
        }),
        Lit::Int(int) => int
            .base10_parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|error| invalid(format!("{error}"))),
        Lit::Float(float) => {
            let seconds = float.base10_parse::<f64>()?;
            Duration::try_from_secs_f64(seconds)
                .map_err(|_| invalid(format!("{seconds} seconds is not a valid duration")))
        }
        _ => Err(invalid(
            "expected a duration: a string with a unit (\"200ms\"), a number of seconds, or a `Duration` expression".to_owned(),
        )),
    }
}

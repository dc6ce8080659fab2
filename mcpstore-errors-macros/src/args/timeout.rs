//! The keys of `#[timeout(...)]`, or its one positional duration.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::{Slot, assigned, crate_path, parse_entries, unknown_key};
use crate::duration::DurationValue;
use crate::errors::Errors;
use crate::valid;

/// The arguments of `#[timeout("2s")]` or `#[timeout(after = "2s", sleeper = ..)]`.
#[derive(Default)]
pub(crate) struct TimeoutArgs {
    pub(crate) after: Slot<DurationValue>,
    pub(crate) sleeper: Slot<Expr>,
    /// `crate = path`.
    pub(crate) krate: Slot<syn::Path>,
}

pub(crate) const TIMEOUT_KEYS: &[&str] = &["after", "sleeper", "crate"];

impl TimeoutArgs {
    pub(crate) fn parse(tokens: TokenStream, span: Span, errors: &mut Errors) -> TimeoutArgs {
        let mut args = TimeoutArgs::default();
        // A duration alone or first (`#[timeout("2s", sleeper = ..)]`): anything up to the
        // first comma that cannot be a key, which is a name alone or before `=` or `(`: a
        // literal, `-1`, a path (`Duration::from_secs(2)`), a method call (`config.limit()`).
        let mut trees: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
        let mut tokens = tokens;
        let path_or_call = |tree: Option<&proc_macro2::TokenTree>| matches!(tree, Some(proc_macro2::TokenTree::Punct(p)) if matches!(p.as_char(), ':' | '.'));
        let positional = match trees.first() {
            None => false,
            Some(proc_macro2::TokenTree::Ident(_)) => path_or_call(trees.get(1)),
            Some(_) => true,
        };
        if positional {
            let comma = |tree: &proc_macro2::TokenTree| matches!(tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',');
            let end = trees.iter().position(comma).unwrap_or(trees.len());
            let rest = trees.split_off(end);
            let positional: TokenStream = trees.into_iter().collect();
            let key = Ident::new("after", positional.span());
            let parsed = Parser::parse2(
                |input: ParseStream<'_>| {
                    let duration = DurationValue::parse(input, errors)?;
                    if !input.is_empty() {
                        return Err(input.error("expected `,` after the duration"));
                    }
                    Ok(duration)
                },
                positional,
            );
            match parsed {
                // Given, though not well: no second error saying one is missing.
                Ok(duration) => args.after.set(&key, duration, errors),
                Err(error) => {
                    errors.push(error);
                    args.after.set(&key, DurationValue::Reported, errors);
                }
            }
            tokens = rest.into_iter().skip(1).collect();
        }
        parse_entries(tokens, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "after" => {
                    let duration =
                        DurationValue::parse(assigned(key, value, "after = \"2s\"")?, errors)?;
                    args.after.set(key, duration, errors);
                }
                "sleeper" => {
                    let value: Expr = assigned(key, value, "sleeper = my_sleeper()")?.parse()?;
                    args.sleeper.set(key, value, errors);
                }
                "crate" => args.krate.set(key, crate_path(key, value)?, errors),
                _ => {
                    let error = unknown_key(key, "timeout", TIMEOUT_KEYS);
                    // A constant's name reads as a key: say where a duration goes, and not
                    // a second time that none was given.
                    if args.after.get().is_none() {
                        args.after.set(key, DurationValue::Reported, errors);
                    }
                    return Err(syn::Error::new(
                        key.span(),
                        format_args!("{error}; a duration by name goes after `after =`"),
                    ));
                }
            }
            Ok(())
        });
        valid::timeout_has_duration(&args, span, errors);
        args
    }
}

//! The keys of `#[timeout(...)]`, or its one positional duration.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
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
        // `"2s"` alone or first: `#[timeout("2s", sleeper = ..)]`.
        let mut trees: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
        // A `macro_rules!` fragment (`$d:literal`, `$d:expr`) arrives in an invisible group.
        if let Some(proc_macro2::TokenTree::Group(group)) = trees.first()
            && group.delimiter() == proc_macro2::Delimiter::None
            && let [literal @ proc_macro2::TokenTree::Literal(_)] =
                group.stream().into_iter().collect::<Vec<_>>().as_slice()
        {
            trees[0] = literal.clone();
        }
        let comma = |tree: &proc_macro2::TokenTree| matches!(tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',');
        let mut tokens = tokens;
        if let Some(proc_macro2::TokenTree::Literal(literal)) = trees.first()
            && trees.get(1).is_none_or(comma)
        {
            let key = Ident::new("after", span);
            let parsed = Parser::parse2(
                |input: ParseStream<'_>| DurationValue::parse(input, errors),
                literal.to_token_stream(),
            );
            match parsed {
                Ok(duration) => args.after.set(&key, duration, errors),
                Err(error) => errors.push(error),
            }
            tokens = trees.into_iter().skip(2).collect();
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
                _ => return Err(unknown_key(key, "timeout", TIMEOUT_KEYS)),
            }
            Ok(())
        });
        valid::timeout_has_duration(&args, span, errors);
        args
    }
}

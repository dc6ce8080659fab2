//! The keys of `#[collect_errors(...)]`.

use proc_macro2::TokenStream;
use syn::Expr;

use super::{Slot, assigned, crate_path, parse_entries, unknown_key};
use crate::errors::Errors;

/// The arguments of `#[collect_errors(...)]`.
#[derive(Default)]
pub(crate) struct CollectArgs {
    /// The tokens of `{...}`, in `serde_json::json!` syntax.
    pub(crate) context: Slot<TokenStream>,
    pub(crate) collector: Slot<Expr>,
    /// `crate = path`.
    pub(crate) krate: Slot<syn::Path>,
}

pub(crate) const COLLECT_KEYS: &[&str] = &["context", "collector", "crate"];

impl CollectArgs {
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> CollectArgs {
        let mut args = CollectArgs::default();
        parse_entries(tokens, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "context" => {
                    let input = assigned(key, value, "context = {\"operation\": \"start\"}")?;
                    if !input.peek(syn::token::Brace) {
                        return Err(input.error("`context` is a JSON object in braces: `context = {\"operation\": \"start\"}`"));
                    }
                    let group: proc_macro2::TokenTree = input.parse()?;
                    args.context.set(key, group.into(), errors);
                }
                "collector" => {
                    let value: Expr = assigned(key, value, "collector = &MY_COLLECTOR")?.parse()?;
                    args.collector.set(key, value, errors);
                }
                "crate" => args.krate.set(key, crate_path(key, value)?, errors),
                _ => return Err(unknown_key(key, "collect_errors", COLLECT_KEYS)),
            }
            Ok(())
        });
        args
    }
}

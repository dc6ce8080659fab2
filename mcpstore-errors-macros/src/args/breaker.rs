//! The keys of `#[circuit_breaker(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::Expr;

use super::{Slot, assigned, crate_path, parse_entries, unknown_key};
use crate::errors::Errors;
use crate::valid;

/// The arguments of `#[circuit_breaker(...)]`.
#[derive(Default)]
pub(crate) struct BreakerArgs {
    pub(crate) service: Slot<Expr>,
    pub(crate) registry: Slot<Expr>,
    /// `crate = path`.
    pub(crate) krate: Slot<syn::Path>,
}

pub(crate) const BREAKER_KEYS: &[&str] = &["service", "registry", "crate"];

impl BreakerArgs {
    pub(crate) fn parse(tokens: TokenStream, span: Span, errors: &mut Errors) -> BreakerArgs {
        let mut args = BreakerArgs::default();
        parse_entries(tokens, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "service" => {
                    let value: Expr = assigned(key, value, "service = \"filesystem\"")?.parse()?;
                    args.service.set(key, value, errors);
                }
                "registry" => {
                    let value: Expr = assigned(key, value, "registry = &MY_BREAKERS")?.parse()?;
                    args.registry.set(key, value, errors);
                }
                "crate" => args.krate.set(key, crate_path(key, value)?, errors),
                _ => return Err(unknown_key(key, "circuit_breaker", BREAKER_KEYS)),
            }
            Ok(())
        });
        valid::breaker_has_service(&args, span, errors);
        args
    }
}

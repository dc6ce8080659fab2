//! The strategies and keys of `#[fallback(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Ident};

use super::{Slot, Value, assigned, crate_path, parse_entries, unknown_key};
use crate::duration::DurationValue;
use crate::errors::Errors;
use crate::valid;

/// One strategy of the chain, in the order written.
pub(crate) enum Strategy {
    /// `cache` or `cache(ttl = .., capacity = .., key = ..)`.
    Cache {
        key: Ident,
        ttl: Option<DurationValue>,
        capacity: Option<Expr>,
        /// `key = expr`: keys the entries in place of the arguments (boxed: an `Expr` is large).
        by: Option<Box<Expr>>,
    },
    /// `default` or `default = expr`.
    Default { key: Ident, value: Option<Expr> },
    /// `with = path`: the same arguments.
    With { key: Ident, function: Expr },
    /// `recover = path`: the same arguments plus `&error`.
    Recover { key: Ident, function: Expr },
}

/// The arguments of `#[fallback(...)]`.
#[derive(Default)]
pub(crate) struct FallbackArgs {
    pub(crate) strategies: Vec<Strategy>,
    pub(crate) no_clone: Slot<Vec<Ident>>,
    /// `crate = path`.
    pub(crate) krate: Slot<syn::Path>,
}

pub(crate) const FALLBACK_KEYS: &[&str] =
    &["cache", "default", "with", "recover", "no_clone", "crate"];
const CACHE_KEYS: &[&str] = &["ttl", "capacity", "key"];

impl FallbackArgs {
    pub(crate) fn parse(tokens: TokenStream, span: Span, errors: &mut Errors) -> FallbackArgs {
        let mut args = FallbackArgs::default();
        // One slot per strategy key: each may appear once.
        let (mut cache, mut default, mut with, mut recover) = (
            Slot::default(),
            Slot::default(),
            Slot::default(),
            Slot::default(),
        );
        parse_entries(tokens, errors, |key, value, errors| {
            let strategy = match key.to_string().as_str() {
                "cache" => {
                    let CacheArgs { ttl, capacity, by } = match value {
                        Value::Flag => CacheArgs::default(),
                        Value::List(tokens, _) => parse_cache(tokens, errors),
                        Value::Assign(input) => {
                            return Err(input.error(
                                "write `cache` or `cache(ttl = \"10m\", capacity = 1000, key = request.id)`",
                            ));
                        }
                    };
                    if !cache.fill(key, (), errors) {
                        return Ok(());
                    }
                    Strategy::Cache {
                        key: key.clone(),
                        ttl,
                        capacity,
                        by,
                    }
                }
                "default" => {
                    let value = match value {
                        Value::Flag => None,
                        Value::List(_, span) => {
                            return Err(syn::Error::new(
                                span,
                                "write `default` or `default = expression`",
                            ));
                        }
                        assign => Some(assigned(key, assign, "default = Vec::new()")?.parse()?),
                    };
                    if !default.fill(key, (), errors) {
                        return Ok(());
                    }
                    Strategy::Default {
                        key: key.clone(),
                        value,
                    }
                }
                "with" => {
                    let function: Expr =
                        assigned(key, value, "with = Self::from_backup")?.parse()?;
                    if !with.fill(key, (), errors) {
                        return Ok(());
                    }
                    Strategy::With {
                        key: key.clone(),
                        function,
                    }
                }
                "recover" => {
                    let function: Expr =
                        assigned(key, value, "recover = Self::on_failure")?.parse()?;
                    if !recover.fill(key, (), errors) {
                        return Ok(());
                    }
                    Strategy::Recover {
                        key: key.clone(),
                        function,
                    }
                }
                "no_clone" => {
                    let names = super::no_clone_list(key, value)?;
                    args.no_clone.set(key, names, errors);
                    return Ok(());
                }
                "crate" => {
                    args.krate.set(key, crate_path(key, value)?, errors);
                    return Ok(());
                }
                _ => return Err(unknown_key(key, "fallback", FALLBACK_KEYS)),
            };
            valid::runs_after_default(&args.strategies, key, errors);
            args.strategies.push(strategy);
            Ok(())
        });
        valid::fallback_has_strategy(&args, span, errors);
        args
    }
}

/// The keys of `cache(..)`.
#[derive(Default)]
struct CacheArgs {
    ttl: Option<DurationValue>,
    capacity: Option<Expr>,
    by: Option<Box<Expr>>,
}

const KEY_EXAMPLE: &str = "key = (service.to_owned(), request.id)";

fn parse_cache(tokens: TokenStream, errors: &mut Errors) -> CacheArgs {
    let mut ttl = Slot::default();
    let mut capacity = Slot::default();
    let mut by = Slot::default();
    parse_entries(tokens, errors, |key, value, errors| {
        match key.to_string().as_str() {
            "ttl" => {
                let duration =
                    DurationValue::parse(assigned(key, value, "ttl = \"10m\"")?, errors)?;
                ttl.set(key, duration, errors);
            }
            "capacity" => {
                let value: Expr = assigned(key, value, "capacity = 1000")?.parse()?;
                capacity.set(key, value, errors);
            }
            "key" => {
                let input = assigned(key, value, KEY_EXAMPLE)?;
                // `key = , ttl = ..`: said at the key, as `key =` at the end is.
                if input.peek(syn::Token![,]) {
                    return Err(syn::Error::new(
                        key.span(),
                        format_args!("`key =` needs a value after `=`: `{KEY_EXAMPLE}`"),
                    ));
                }
                let value: Expr = input.parse()?;
                by.set(key, Box::new(value), errors);
            }
            _ => {
                return Err(syn::Error::new(
                    key.span(),
                    format_args!(
                        "unknown key `{key}` in `cache(...)`; expected one of: {}",
                        CACHE_KEYS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    });
    CacheArgs {
        ttl: ttl.0.map(|(_, v)| v),
        capacity: capacity.0.map(|(_, v)| v),
        by: by.0.map(|(_, v)| v),
    }
}

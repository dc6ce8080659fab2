//! Attribute arguments: `key`, `key = value` and `key(...)` entries, each into a typed slot.
//!
//! Parsing never stops at the first problem: every error is recorded and the parser skips to
//! the next entry, so one compile run reports all of them.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitInt, Token};

use crate::duration::DurationValue;
use crate::valid;

/// Every error found, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// A key that may be given once; the second occurrence is the error.
pub(crate) struct Slot<T>(Option<(Ident, T)>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(None)
    }
}

impl<T> Slot<T> {
    pub(crate) fn set(&mut self, key: &Ident, value: T, errors: &mut Errors) {
        if self.0.is_some() {
            errors.at(key.span(), format_args!("duplicate `{key}`: give it once"));
        } else {
            self.0 = Some((key.clone(), value));
        }
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.0.as_ref().map(|(_, value)| value)
    }

    /// Where the key was written, when it was.
    pub(crate) fn key_span(&self) -> Option<Span> {
        self.0.as_ref().map(|(key, _)| key.span())
    }
}

/// What follows a key.
pub(crate) enum Value<'a> {
    /// Nothing: `default`.
    Flag,
    /// `= value`, not consumed yet: the handler parses it.
    Assign(ParseStream<'a>),
    /// `(...)`: the tokens inside the parentheses.
    List(TokenStream, Span),
}

/// Parses `key, key = value, key(...)` entries, calling `entry` for each one; the handler
/// consumes an `Assign` value. A value the handler cannot parse is skipped up to the next
/// comma.
pub(crate) fn parse_entries(
    tokens: TokenStream,
    errors: &mut Errors,
    mut entry: impl FnMut(&Ident, Value<'_>, &mut Errors) -> syn::Result<()>,
) {
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let key = match input.call(syn::ext::IdentExt::parse_any) {
                Ok(key) => key,
                Err(error) => {
                    errors.push(error);
                    skip_to_comma(input);
                    continue;
                }
            };
            let outcome = if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                entry(&key, Value::Assign(input), errors)
            } else if input.peek(syn::token::Paren) {
                let content;
                let parens = syn::parenthesized!(content in input);
                let inner: TokenStream = content.parse()?;
                entry(&key, Value::List(inner, parens.span.join()), errors)
            } else {
                entry(&key, Value::Flag, errors)
            };
            if let Err(error) = outcome {
                errors.push(error);
                skip_to_comma(input);
            }
            if input.is_empty() {
                break;
            }
            match input.parse::<Token![,]>() {
                Ok(_) => {}
                Err(error) => {
                    errors.push(error);
                    skip_to_comma(input);
                    let _ = input.parse::<Option<Token![,]>>();
                }
            }
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(tokens) {
        errors.push(error);
    }
}

/// Skips token trees up to (not including) the next top-level comma.
fn skip_to_comma(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if let proc_macro2::TokenTree::Punct(p) = &tt {
                if p.as_char() == ',' {
                    break;
                }
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// The error for a key the attribute does not know.
pub(crate) fn unknown_key(key: &Ident, attribute: &str, valid: &[&str]) -> syn::Error {
    syn::Error::new(
        key.span(),
        format_args!(
            "unknown key `{key}` in #[{attribute}]; expected one of: {}",
            valid.join(", ")
        ),
    )
}

/// The value after `=` for a key that takes one.
pub(crate) fn assigned<'a>(
    key: &Ident,
    value: Value<'a>,
    example: &str,
) -> syn::Result<ParseStream<'a>> {
    match value {
        Value::Assign(input) => Ok(input),
        Value::Flag => Err(syn::Error::new(
            key.span(),
            format_args!("`{key}` needs a value: `{example}`"),
        )),
        Value::List(_, span) => Err(syn::Error::new(
            span,
            format_args!("`{key}` takes a value after `=`: `{example}`"),
        )),
    }
}

/// `[name, name, ...]` of identifiers (or paths, of which the last segment counts).
pub(crate) fn ident_list(input: ParseStream<'_>) -> syn::Result<Vec<Ident>> {
    let content;
    syn::bracketed!(content in input);
    let paths = Punctuated::<syn::Path, Token![,]>::parse_terminated(&content)?;
    paths
        .into_iter()
        .map(|path| match path.segments.last() {
            Some(last) if last.arguments.is_empty() => Ok(last.ident.clone()),
            _ => Err(syn::Error::new(path.span(), "expected a name")),
        })
        .collect()
}

/// `crate = path`: where the runtime crate is, when not at `::mcpstore_errors`.
pub(crate) fn crate_path(key: &Ident, value: Value<'_>) -> syn::Result<syn::Path> {
    const EXAMPLE: &str = "crate = my_deps::mcpstore_errors";
    let input = assigned(key, value, EXAMPLE)?;
    syn::Path::parse_mod_style(input).map_err(|error| {
        syn::Error::new(
            error.span(),
            format_args!("`crate` takes a path: `{EXAMPLE}`"),
        )
    })
}

/// `path` as written in code, for messages.
pub(crate) fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let leading = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{leading}{}", segments.join("::"))
}

// ---------------------------------------------------------------------------------------------
// #[retry]

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
    Proportional(syn::LitFloat),
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
                    if let Some(lit) = int_literal(&value) {
                        match lit.base10_parse::<u32>() {
                            Ok(0) => errors.at(lit.span(), "`max_attempts` must be at least 1: it counts calls, the first included"),
                            Ok(_) => {}
                            Err(error) => errors.push(error),
                        }
                    }
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
                        assigned(key, value, "budget = retry_budgets().budget(\"fs\")")?.parse()?;
                    args.budget.set(key, value, errors);
                }
                "backoff" => {
                    let value: Expr = assigned(key, value, "backoff = 2.0")?.parse()?;
                    args.backoff.set(key, value, errors);
                }
                "jitter" => {
                    let input = assigned(key, value, "jitter = false")?;
                    let jitter = parse_jitter(input, errors)?;
                    args.jitter.set(key, jitter, errors);
                }
                "strategy" => {
                    let ident: Ident = assigned(key, value, "strategy = fibonacci")?.parse()?;
                    valid::strategy(&ident, errors);
                    args.strategy.set(key, ident, errors);
                }
                "on" => {
                    let kinds =
                        ident_list(assigned(key, value, "on = [ServiceStart, ServiceTimeout]")?)?;
                    for kind in &kinds {
                        valid::error_kind(kind, errors);
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
                    let names = ident_list(assigned(key, value, "no_clone = [pool]")?)?;
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

fn parse_jitter(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<JitterValue> {
    let value: Expr = input.parse()?;
    Ok(match &value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) if !b.value => JitterValue::None,
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => JitterValue::Proportional(syn::LitFloat::new("0.25", b.span)),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(f),
            ..
        }) => {
            match f.base10_parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => {}
                _ => errors.at(
                    f.span(),
                    "a jitter fraction is between 0.0 and 1.0 (0.25 = ±25 %)",
                ),
            }
            JitterValue::Proportional(f.clone())
        }
        Expr::Path(path) if path.path.get_ident().is_some() => {
            let ident = path.path.segments[0].ident.clone();
            valid::jitter(&ident, errors);
            JitterValue::Named(ident)
        }
        _ => JitterValue::Expr(value),
    })
}

pub(crate) fn int_literal(expr: &Expr) -> Option<&LitInt> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => Some(lit),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// #[fallback]

/// One strategy of the chain, in the order written.
pub(crate) enum Strategy {
    /// `cache` or `cache(ttl = .., capacity = ..)`.
    Cache {
        key: Ident,
        ttl: Option<DurationValue>,
        capacity: Option<Expr>,
    },
    /// `default` or `default = expr`.
    Default { key: Ident, value: Option<Expr> },
    /// `with = path`: the same arguments.
    With { function: Expr },
    /// `recover = path`: the same arguments plus `&error`.
    Recover { function: Expr },
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
const CACHE_KEYS: &[&str] = &["ttl", "capacity"];

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
                    let (ttl, capacity) = match value {
                        Value::Flag => (None, None),
                        Value::List(tokens, _) => parse_cache(tokens, errors),
                        Value::Assign(input) => {
                            return Err(input.error(
                                "write `cache` or `cache(ttl = \"10m\", capacity = 1000)`",
                            ));
                        }
                    };
                    cache.set(key, (), errors);
                    Strategy::Cache {
                        key: key.clone(),
                        ttl,
                        capacity,
                    }
                }
                "default" => {
                    let value = match value {
                        Value::Flag => None,
                        Value::Assign(input) => Some(input.parse::<Expr>()?),
                        Value::List(_, span) => {
                            return Err(syn::Error::new(
                                span,
                                "write `default` or `default = expression`",
                            ));
                        }
                    };
                    default.set(key, (), errors);
                    Strategy::Default {
                        key: key.clone(),
                        value,
                    }
                }
                "with" => {
                    let function: Expr =
                        assigned(key, value, "with = Self::from_backup")?.parse()?;
                    with.set(key, (), errors);
                    Strategy::With { function }
                }
                "recover" => {
                    let function: Expr =
                        assigned(key, value, "recover = Self::on_failure")?.parse()?;
                    recover.set(key, (), errors);
                    Strategy::Recover { function }
                }
                "no_clone" => {
                    let names = ident_list(assigned(key, value, "no_clone = [pool]")?)?;
                    args.no_clone.set(key, names, errors);
                    return Ok(());
                }
                "crate" => {
                    args.krate.set(key, crate_path(key, value)?, errors);
                    return Ok(());
                }
                _ => return Err(unknown_key(key, "fallback", FALLBACK_KEYS)),
            };
            args.strategies.push(strategy);
            Ok(())
        });
        if args.strategies.is_empty() && errors.is_empty() {
            errors.at(
                span,
                "#[fallback] needs at least one strategy: cache, default, with = .., recover = ..",
            );
        }
        args
    }
}

fn parse_cache(tokens: TokenStream, errors: &mut Errors) -> (Option<DurationValue>, Option<Expr>) {
    let mut ttl = Slot::default();
    let mut capacity = Slot::default();
    parse_entries(tokens, errors, |key, value, errors| {
        match key.to_string().as_str() {
            "ttl" => {
                let duration =
                    DurationValue::parse(assigned(key, value, "ttl = \"10m\"")?, errors)?;
                ttl.set(key, duration, errors);
            }
            "capacity" => {
                let value: Expr = assigned(key, value, "capacity = 1000")?.parse()?;
                if let Some(lit) = int_literal(&value) {
                    match lit.base10_parse::<usize>() {
                        Ok(0) => errors.at(lit.span(), "a cache `capacity` must be at least 1"),
                        Ok(_) => {}
                        Err(error) => errors.push(error),
                    }
                }
                capacity.set(key, value, errors);
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
    (ttl.0.map(|(_, v)| v), capacity.0.map(|(_, v)| v))
}

// ---------------------------------------------------------------------------------------------
// #[collect_errors]

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

// ---------------------------------------------------------------------------------------------
// #[circuit_breaker]

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
        if args.service.get().is_none() {
            errors.at(
                span,
                "#[circuit_breaker] needs the service it guards: `#[circuit_breaker(service = \"filesystem\")]`",
            );
        }
        args
    }
}

// ---------------------------------------------------------------------------------------------
// #[timeout]

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
        let positional = syn::parse2::<syn::LitStr>(tokens.clone())
            .map(|lit| lit.into_token_stream())
            .or_else(|_| {
                syn::parse2::<syn::LitInt>(tokens.clone()).map(|lit| lit.into_token_stream())
            })
            .or_else(|_| {
                syn::parse2::<syn::LitFloat>(tokens.clone()).map(|lit| lit.into_token_stream())
            });
        if let Ok(literal) = positional {
            let key = Ident::new("after", span);
            let parsed = Parser::parse2(
                |input: ParseStream<'_>| DurationValue::parse(input, errors),
                literal,
            );
            match parsed {
                Ok(duration) => args.after.set(&key, duration, errors),
                Err(error) => errors.push(error),
            }
            return args;
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
        if args.after.get().is_none() {
            errors.at(span, "#[timeout] needs a duration: `#[timeout(\"2s\")]`");
        }
        args
    }
}

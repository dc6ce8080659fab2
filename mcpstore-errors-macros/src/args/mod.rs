//! Attribute arguments: `key`, `key = value` and `key(...)` entries, each into a typed slot,
//! then one module per attribute for its keys.
//!
//! Parsing never stops at the first problem: every error is recorded and the parser skips to
//! the next entry, so one compile run reports all of them. What a value must satisfy beyond
//! its syntax is checked in [`crate::valid`].

mod breaker;
mod collect;
mod fallback;
mod retry;
mod timeout;

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, Token};

pub(crate) use breaker::BreakerArgs;
pub(crate) use collect::CollectArgs;
pub(crate) use fallback::{FallbackArgs, Strategy};
pub(crate) use retry::{JitterValue, RetryArgs, RetryFilter};
pub(crate) use timeout::TimeoutArgs;

use crate::errors::Errors;

/// Which attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Retry,
    Fallback,
    CollectErrors,
    CircuitBreaker,
    Timeout,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Retry => "retry",
            Kind::Fallback => "fallback",
            Kind::CollectErrors => "collect_errors",
            Kind::CircuitBreaker => "circuit_breaker",
            Kind::Timeout => "timeout",
        }
    }

    /// Recognises `#[retry]`, `#[mcpstore_errors::retry]` or `#[<krate>::retry]` (and the
    /// other two), `krate` being the outermost attribute's `crate = path`.
    pub(crate) fn of(attr: &Attribute, krate: Option<&syn::Path>) -> Option<Kind> {
        let path = attr.path();
        let last = path.segments.last()?;
        let prefix: Vec<&Ident> = path.segments.iter().map(|s| &s.ident).collect();
        let prefix = &prefix[..prefix.len() - 1];
        let in_crate = match prefix {
            [] => path.leading_colon.is_none(),
            [name] if *name == "mcpstore_errors" => true,
            _ => krate.is_some_and(|krate| {
                krate.segments.len() == prefix.len()
                    && krate
                        .segments
                        .iter()
                        .zip(prefix)
                        .all(|(segment, name)| segment.ident == **name)
            }),
        };
        if !in_crate {
            return None;
        }
        [
            Kind::Retry,
            Kind::Fallback,
            Kind::CollectErrors,
            Kind::CircuitBreaker,
            Kind::Timeout,
        ]
        .into_iter()
        .find(|kind| last.ident == kind.name())
    }
}

/// One attribute of the stack, parsed.
pub(crate) enum Layer {
    Retry(Box<RetryArgs>),
    Fallback(FallbackArgs),
    Collect(CollectArgs),
    Breaker(BreakerArgs),
    Timeout(TimeoutArgs),
}

impl Layer {
    pub(crate) fn parse(kind: Kind, args: TokenStream, span: Span, errors: &mut Errors) -> Layer {
        match kind {
            Kind::Retry => Layer::Retry(Box::new(RetryArgs::parse(args, errors))),
            Kind::Fallback => Layer::Fallback(FallbackArgs::parse(args, span, errors)),
            Kind::CollectErrors => Layer::Collect(CollectArgs::parse(args, errors)),
            Kind::CircuitBreaker => Layer::Breaker(BreakerArgs::parse(args, span, errors)),
            Kind::Timeout => Layer::Timeout(TimeoutArgs::parse(args, span, errors)),
        }
    }

    /// `crate = path`, when given.
    pub(crate) fn krate(&self) -> Option<&syn::Path> {
        match self {
            Layer::Retry(args) => args.krate.get(),
            Layer::Fallback(args) => args.krate.get(),
            Layer::Collect(args) => args.krate.get(),
            Layer::Breaker(args) => args.krate.get(),
            Layer::Timeout(args) => args.krate.get(),
        }
    }

    /// Whether the layer passes the arguments on to a function of the user's (a fallback's
    /// `with` or `recover`).
    pub(crate) fn forwards_arguments(&self) -> bool {
        matches!(self, Layer::Fallback(args) if args.strategies.iter().any(|strategy| {
            matches!(strategy, Strategy::With { .. } | Strategy::Recover { .. })
        }))
    }

    pub(crate) fn no_clone(&self) -> &[Ident] {
        let slot = match self {
            Layer::Retry(args) => args.no_clone.get(),
            Layer::Fallback(args) => args.no_clone.get(),
            Layer::Collect(_) | Layer::Breaker(_) | Layer::Timeout(_) => None,
        };
        slot.map_or(&[], Vec::as_slice)
    }
}

/// `expr` without the invisible groups and parentheses a `macro_rules!` fragment
/// (`$x:literal`, `$x:expr`) arrives in.
pub(crate) fn bare(mut expr: &syn::Expr) -> &syn::Expr {
    while let syn::Expr::Group(syn::ExprGroup { expr: inner, .. })
    | syn::Expr::Paren(syn::ExprParen { expr: inner, .. }) = expr
    {
        expr = inner;
    }
    expr
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
        self.fill(key, value, errors);
    }

    /// Fills the slot, or reports `key` as given twice; whether it was the first.
    pub(crate) fn fill(&mut self, key: &Ident, value: T, errors: &mut Errors) -> bool {
        if self.0.is_some() {
            errors.at(key.span(), format_args!("duplicate `{key}`: give it once"));
            false
        } else {
            self.0 = Some((key.clone(), value));
            true
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
            let key = match input.call(<Ident as syn::ext::IdentExt>::parse_any) {
                // `r#delay` is `delay`.
                Ok(key) => syn::ext::IdentExt::unraw(&key),
                Err(error) => {
                    errors.push(syn::Error::new(
                        error.span(),
                        "expected a key: `name`, `name = value` or `name(..)`",
                    ));
                    // Past the comma too: a cursor left on it would fail here for ever.
                    skip_to_comma(input);
                    let _ = input.parse::<Option<Token![,]>>();
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

/// The error for a key the attribute does not know, with the key most likely meant.
pub(crate) fn unknown_key(key: &Ident, attribute: &str, valid: &[&str]) -> syn::Error {
    let name = key.to_string();
    let meant = valid
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(&name, candidate), candidate))
        .filter(|(distance, _)| *distance <= (name.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default();
    syn::Error::new(
        key.span(),
        format_args!(
            "unknown key `{key}` in #[{attribute}]{meant}; expected one of: {}",
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
        Value::Assign(input) if input.is_empty() => Err(syn::Error::new(
            key.span(),
            format_args!("`{key} =` needs a value after `=`: `{example}`"),
        )),
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
pub(crate) fn ident_list(input: ParseStream<'_>, key: &Ident) -> syn::Result<Vec<Ident>> {
    let content;
    syn::bracketed!(content in input);
    let items = Punctuated::<NameItem, Token![,]>::parse_terminated(&content)?;
    items
        .into_iter()
        .map(|item| match item {
            NameItem::Path(path) => match path.segments.last() {
                Some(last) if last.arguments.is_empty() => Ok(last.ident.clone()),
                _ => Err(syn::Error::new(path.span(), "expected a name")),
            },
            NameItem::Quoted(text) => Err(quoted_name(key, &text, false)),
        })
        .collect::<syn::Result<Vec<Ident>>>()
        .and_then(|names| {
            let twice = names
                .iter()
                .enumerate()
                .find(|(i, name)| names[..*i].contains(name));
            match twice {
                Some((_, name)) => Err(syn::Error::new(
                    name.span(),
                    format_args!("`{name}` is listed twice in `{key}`"),
                )),
                None => Ok(names),
            }
        })
}

/// `no_clone = [..]`: the parameters named, at least one.
pub(crate) fn no_clone_list(key: &Ident, value: Value<'_>) -> syn::Result<Vec<Ident>> {
    let input = assigned(key, value, "no_clone = [pool]")?;
    let span = input.span();
    let names = ident_list(input, key)?;
    if names.is_empty() {
        return Err(syn::Error::new(
            span,
            "`no_clone = []` exempts nothing: name the parameters not to clone, or leave `no_clone` out",
        ));
    }
    Ok(names)
}

/// An item of a list of names: a path, or a string written where a name goes.
enum NameItem {
    Path(syn::Path),
    Quoted(syn::LitStr),
}

impl syn::parse::Parse for NameItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(syn::LitStr) {
            input.parse().map(NameItem::Quoted)
        } else {
            input.parse().map(NameItem::Path)
        }
    }
}

/// A name such as `fibonacci`, or the error for one written as a string (`"fibonacci"`).
pub(crate) fn name(input: ParseStream<'_>, key: &Ident) -> syn::Result<Ident> {
    if input.peek(syn::LitStr) {
        return Err(quoted_name(key, &input.parse()?, true));
    }
    input.parse()
}

/// A string where `key` takes a name: the unquoted form to write, when the text is a name.
pub(crate) fn quoted_name(key: &Ident, text: &syn::LitStr, single: bool) -> syn::Error {
    let key = syn::ext::IdentExt::unraw(key);
    let message = match syn::parse_str::<Ident>(&text.value()) {
        Ok(name) if single => format!("`{key}` takes a name, without quotes: `{key} = {name}`"),
        Ok(name) => format!("`{key}` lists names, without quotes: `{name}`"),
        Err(_) => format!("`{key}` takes a name, not a string"),
    };
    syn::Error::new(text.span(), message)
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

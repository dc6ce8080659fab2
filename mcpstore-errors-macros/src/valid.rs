//! Every check of the arguments and of the function they go on: those the parsers call on one
//! value as they read it, then [`stack`], run once the whole stack and the function are known.
//!
//! Reads the argument types only (never the parsing functions), and reports to [`Errors`].

use std::time::Duration;

use proc_macro2::Span;
use quote::ToTokens;
use syn::Expr;
use syn::spanned::Spanned;

use crate::args::{BreakerArgs, FallbackArgs, JitterValue, Layer, Strategy, TimeoutArgs};
use crate::duration::DurationValue;
use crate::errors::Errors;
use crate::func::{Function, Mode};

/// A closure given where a function of `arity` arguments is expected must have that many.
pub(crate) fn predicate(expr: &Expr, arity: usize, key: &str, expected: &str, errors: &mut Errors) {
    let closure = match expr {
        Expr::Closure(closure) => closure,
        Expr::Lit(_) | Expr::Array(_) | Expr::Tuple(_) | Expr::Block(_) => {
            errors.at(expr.span(), format_args!("`{key}` expects {expected}"));
            return;
        }
        _ => return,
    };
    if closure.inputs.len() != arity {
        let plural = if arity == 1 { "" } else { "s" };
        let span = match closure.inputs.first() {
            Some(_) => closure.inputs.span(),
            None => closure.inputs_begin.span,
        };
        errors.at(
            span,
            format_args!(
                "`{key}` expects {expected}: a closure of {arity} argument{plural}, not {}",
                closure.inputs.len()
            ),
        );
    }
}

/// What a value evaluated once names that only a call has.
enum PerCall {
    /// `Self`, `self` or a generic parameter of the function.
    Item,
    /// One of the function's arguments.
    Argument(String),
}

/// A value the expansion evaluates once into a `static` (`config`, `delay`, `ttl`..) cannot
/// name what only a call has: reports its first `Self`, `self`, generic parameter of the
/// function (`generics`: their names, lifetimes with their `'`) or argument (`arguments`).
/// A `#[retry]` key (`retry_key`) that read the call would have been evaluated per call
/// instead: only `Self` and generics are left to report, with how to read the call.
fn evaluated_once(
    key: &str,
    value: proc_macro2::TokenStream,
    generics: &[String],
    arguments: &[String],
    retry_key: bool,
    errors: &mut Errors,
) {
    let bound = bound_names(value.clone());
    let arguments: Vec<String> = arguments
        .iter()
        .filter(|name| !bound.contains(name))
        .cloned()
        .collect();
    match names_per_call(value, generics, &arguments) {
        Some((span, PerCall::Item)) if retry_key => errors.at(
            span,
            format_args!(
                "`{key}` reads neither `self` nor an argument, so it is evaluated once into a \
                 static shared by every call, and cannot use `Self` or the function's generic \
                 parameters; name the type instead (e.g. `Store::policy()`); a value that reads \
                 `self` or an argument is evaluated on every call instead"
            ),
        ),
        Some((span, PerCall::Item)) => errors.at(
            span,
            format_args!(
                "`{key}` is evaluated once into a static shared by every call, so it cannot use \
                 `Self`, `self` or the function's generic parameters; name the type instead \
                 (e.g. `Store::policy()`)"
            ),
        ),
        Some((span, PerCall::Argument(name))) => errors.at(
            span,
            format_args!(
                "`{key}` is evaluated once into a static shared by every call, so it cannot use \
                 the argument `{name}`: the first call's value would serve every later call; \
                 use a constant, or a `RetryManager` built per call"
            ),
        ),
        None => {}
    }
}

fn names_per_call(
    tokens: proc_macro2::TokenStream,
    generics: &[String],
    arguments: &[String],
) -> Option<(Span, PerCall)> {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_punct = |tree: Option<&TokenTree>, c: char| matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == c);
    // A closure's parameters may shadow an argument's name, and a macro's tokens need not be
    // values (`stringify!(name)`): the compiler, which sees the real captures (the value is
    // built in a nested `fn`), is left to judge those.
    let closure = trees
        .iter()
        .any(|tree| matches!(tree, TokenTree::Punct(p) if p.as_char() == '|'));
    let arguments = if closure { &[][..] } else { arguments };
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                let macro_tokens = i > 0 && is_punct(trees.get(i - 1), '!');
                let arguments = if macro_tokens { &[][..] } else { arguments };
                if let Some(found) = names_per_call(group.stream(), generics, arguments) {
                    return Some(found);
                }
            }
            TokenTree::Ident(ident) => {
                // `x.T` is a field or method, `a::T` a path's segment, `'a` a lifetime.
                let after_dot_or_path = i > 0
                    && (is_punct(trees.get(i - 1), '.')
                        || (is_punct(trees.get(i - 1), ':')
                            && i > 1
                            && is_punct(trees.get(i - 2), ':')));
                let name = ident.to_string();
                let lifetime = i > 0 && is_punct(trees.get(i - 1), '\'');
                let names_outer = if lifetime {
                    generics.contains(&format!("'{name}"))
                } else if after_dot_or_path {
                    false
                } else if name == "self" {
                    // `self::module::f()` is a module path, fine in a static.
                    !is_punct(trees.get(i + 1), ':')
                } else {
                    name == "Self" || generics.contains(&name)
                };
                if names_outer {
                    return Some((ident.span(), PerCall::Item));
                }
                // A value, not a path's segment (`service::policy()`), a field or method
                // (`x.name`, `Opts { name: 1 }`) nor a macro's name (`name!`).
                let argument = !lifetime
                    && !after_dot_or_path
                    && !is_punct(trees.get(i + 1), '!')
                    && !is_punct(trees.get(i + 1), ':')
                    && arguments.contains(&name);
                if argument {
                    return Some((ident.span(), PerCall::Argument(name)));
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether an attribute's value (its receiver renamed, as the expansion reads it) reads the
/// call, and so is evaluated on every call rather than once: it names `self` (`self::path`
/// is a module's) or a parameter bound to a plain name, as a value. Not a field or method
/// (`x.name`), a path's segment (`name::f()`), a field's name (`Opts { name: 1 }`), a
/// macro's name (`name!`), a name the value binds itself (a closure's parameter, `let`,
/// `for`, `if let`, a `match` arm), nor `stringify!`'s tokens; a formatting macro's inline
/// argument (`format!("{name}")`) is read. Read on tokens, so a function `macro_rules!`
/// made, whose values arrive in invisible groups, is read alike. A name missed here is not a
/// silent bug: the value built once cannot capture it, and the compiler says so.
pub(crate) fn reads_call(function: &Function, value: proc_macro2::TokenStream) -> bool {
    let mut bound = bound_names(value.clone());
    bound.extend(closure_parameters(value.clone()));
    let mut names: Vec<String> = function
        .params
        .iter()
        .filter(|param| !param.is_self && param.pattern.as_ref().is_none_or(is_plain_binding))
        .map(|param| param.binding.to_string())
        .filter(|name| !bound.contains(name))
        .collect();
    names.push("self".to_owned());
    names.extend(function.self_binding.as_ref().map(ToString::to_string));
    names_read(value, &names, false)
}

/// Whether `tokens` read one of `names` (see [`reads_call`]); `formats`: they are a
/// formatting macro's, whose string literals may name them inline.
fn names_read(tokens: proc_macro2::TokenStream, names: &[String], formats: bool) -> bool {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_punct = |i: Option<usize>, c: char| matches!(i.and_then(|i| trees.get(i)), Some(TokenTree::Punct(p)) if p.as_char() == c);
    trees.iter().enumerate().any(|(i, tree)| match tree {
        TokenTree::Group(group) => {
            let name = match i.checked_sub(2).map(|before| &trees[before]) {
                Some(TokenTree::Ident(name)) if is_punct(Some(i - 1), '!') => Some(name),
                _ => None,
            };
            name.is_none_or(|name| name != "stringify")
                && names_read(
                    group.stream(),
                    names,
                    name.is_some_and(crate::func::formats),
                )
        }
        TokenTree::Ident(ident) => {
            let before = i.checked_sub(1);
            let after_dot_or_path =
                is_punct(before, '.') || (is_punct(before, ':') && is_punct(i.checked_sub(2), ':'));
            !after_dot_or_path
                && !is_punct(before, '\'')
                && !is_punct(Some(i + 1), '!')
                && !is_punct(Some(i + 1), ':')
                && names.iter().any(|name| ident == name)
        }
        TokenTree::Literal(literal) if formats => match syn::Lit::new(literal.clone()) {
            syn::Lit::Str(text) => crate::func::inline_arguments(&text.value())
                .iter()
                .any(|inline| names.contains(inline)),
            _ => false,
        },
        _ => false,
    })
}

/// The names between a closure's bars anywhere in `tokens` (with its parameters' types, and
/// what a bitwise `a | b | c` holds between its bars: only a name counted too few).
fn closure_parameters(tokens: proc_macro2::TokenStream) -> Vec<String> {
    use proc_macro2::TokenTree;
    let mut names = Vec::new();
    let mut open = None;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Punct(bar) if bar.as_char() == '|' => match open.take() {
                None => open = Some(i),
                Some(start) => {
                    let between: proc_macro2::TokenStream =
                        trees[start + 1..i].iter().cloned().collect();
                    names.extend(all_idents(between));
                }
            },
            TokenTree::Group(group) => names.extend(closure_parameters(group.stream())),
            _ => {}
        }
    }
    names
}

/// The names `let`, `for`, `if let`/`while let` and `match` arms bind anywhere in `tokens`
/// (with some that are not bindings, such as a pattern's enum variants). The value may shadow
/// an argument with one of them, so an argument of that name is left to the compiler, which
/// refuses a real capture in the nested `fn` the value is built in.
fn bound_names(tokens: proc_macro2::TokenStream) -> Vec<String> {
    use proc_macro2::{Spacing, TokenTree};
    let mut bound = Vec::new();
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_punct = |tree: Option<&TokenTree>, c: char| matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == c);
    let names_in = |trees: &[TokenTree], bound: &mut Vec<String>| {
        for tree in trees {
            match tree {
                TokenTree::Ident(ident) => bound.push(ident.to_string()),
                TokenTree::Group(group) => bound.extend(all_idents(group.stream())),
                _ => {}
            }
        }
    };
    // The start of the current comma-separated segment: a match arm's pattern runs from it to
    // its `=>`.
    let mut segment = 0;
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => bound.extend(bound_names(group.stream())),
            TokenTree::Ident(ident) if ident == "let" || ident == "for" => {
                let end = if ident == "let" {
                    // `=` alone, not `==`, `=>`, `<=`..
                    trees[i + 1..].iter().enumerate().position(|(j, tree)| {
                        matches!(tree, TokenTree::Punct(p) if p.as_char() == '='
                            && p.spacing() == Spacing::Alone
                            && !matches!(trees.get(i + j), Some(TokenTree::Punct(q)) if q.spacing() == Spacing::Joint))
                    })
                } else {
                    trees[i + 1..]
                        .iter()
                        .position(|tree| matches!(tree, TokenTree::Ident(word) if word == "in"))
                };
                let end = end.map_or(trees.len(), |offset| i + 1 + offset);
                names_in(&trees[i + 1..end], &mut bound);
            }
            TokenTree::Punct(p) if p.as_char() == ',' || p.as_char() == ';' => segment = i + 1,
            TokenTree::Punct(p)
                if p.as_char() == '='
                    && p.spacing() == Spacing::Joint
                    && is_punct(trees.get(i + 1), '>') =>
            {
                names_in(&trees[segment..i], &mut bound);
            }
            _ => {}
        }
    }
    bound
}

fn all_idents(tokens: proc_macro2::TokenStream) -> Vec<String> {
    let mut names = Vec::new();
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => names.push(ident.to_string()),
            proc_macro2::TokenTree::Group(group) => names.extend(all_idents(group.stream())),
            _ => {}
        }
    }
    names
}

/// `x` or `mut x`: the pattern binds the parameter's own name.
fn is_plain_binding(pattern: &syn::Pat) -> bool {
    matches!(pattern, syn::Pat::Ident(ident) if ident.subpat.is_none())
}

/// `#[fallback]` with nothing to fall back to; said only when nothing else was wrong, since a
/// misspelt strategy is the likelier cause.
pub(crate) fn fallback_has_strategy(args: &FallbackArgs, span: Span, errors: &mut Errors) {
    if args.strategies.is_empty() && errors.is_empty() {
        errors.at(
            span,
            "#[fallback] needs at least one strategy: cache, default, with = .., recover = ..",
        );
    }
}

/// A strategy written after `default` would never run: `default` always answers.
pub(crate) fn runs_after_default(before: &[Strategy], key: &syn::Ident, errors: &mut Errors) {
    if before
        .iter()
        .any(|strategy| matches!(strategy, Strategy::Default { .. }))
    {
        errors.at(
            key.span(),
            format_args!(
                "`{key}` would never run: the `default` before it always answers; put `default` last"
            ),
        );
    }
}

/// A literal `max_attempts` or cache `capacity` fits the type the runtime takes it as.
pub(crate) fn literal_fits(layers: &[Layer], errors: &mut Errors) {
    let int = |expr: &Expr| match crate::args::bare(expr) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => Some(int.clone()),
        _ => None,
    };
    for layer in layers {
        match layer {
            Layer::Retry(args) => {
                if let Some(max) = args.max_attempts.get().and_then(int)
                    && max.base10_parse::<u32>().is_err()
                {
                    errors.at(
                        max.span(),
                        format_args!("`max_attempts` is a `u32`: at most {}", u32::MAX),
                    );
                }
            }
            Layer::Fallback(args) => {
                for strategy in &args.strategies {
                    if let Strategy::Cache {
                        capacity: Some(capacity),
                        ..
                    } = strategy
                        && let Some(capacity) = int(capacity)
                        && capacity.base10_parse::<usize>().is_err()
                    {
                        errors.at(
                            capacity.span(),
                            format_args!("a cache `capacity` is a `usize`: at most {}", usize::MAX),
                        );
                    }
                }
            }
            Layer::Collect(_) | Layer::Breaker(_) | Layer::Timeout(_) => {}
        }
    }
}

/// A breaker is per service, so the service is required.
pub(crate) fn breaker_has_service(args: &BreakerArgs, span: Span, errors: &mut Errors) {
    match args.service.get() {
        None => errors.at(
            span,
            "#[circuit_breaker] needs the service it guards: `#[circuit_breaker(service = \"filesystem\")]`",
        ),
        // A blank name is a placeholder left in, and would share one breaker with every
        // other blank one.
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(name),
            ..
        })) if name.value().trim().is_empty() => errors.at(
            name.span(),
            "the service's name is blank: name the service the breaker guards, e.g. `service = \"filesystem\"`",
        ),
        Some(_) => {}
    }
}

/// `#[timeout]` has no default duration.
pub(crate) fn timeout_has_duration(args: &TimeoutArgs, span: Span, errors: &mut Errors) {
    if args.after.get().is_none() {
        errors.at(span, "#[timeout] needs a duration: `#[timeout(\"2s\")]`");
    }
}

/// The checks that need the whole stack and the function, in the order they report.
pub(crate) fn stack(function: &Function, layers: &[Layer], spans: &[Span], errors: &mut Errors) {
    no_double_count(layers, spans, errors);
    breaker_sees_timeouts(layers, spans, errors);
    no_cfg_parameters(function, layers, errors);
    no_clone_names(function, layers, errors);
    cache_type(function, layers, errors);
    collected_type(function, layers, errors);
    async_only(function, layers, errors);
    values_evaluated_once(function, layers, errors);
    literal_fits(layers, errors);
    no_mut_borrow_returned(function, layers, errors);
}

/// Two `#[collect_errors]` into one collector, or two `#[circuit_breaker]` of one service in
/// one registry, would count every error (every call) twice.
fn no_double_count(layers: &[Layer], spans: &[Span], errors: &mut Errors) {
    let tokens = |expr: Option<&Expr>| expr.map(|expr| expr.to_token_stream().to_string());
    // What a layer counts into, as tokens: equal tokens are one collector or one breaker.
    let target = |layer: &Layer| match layer {
        Layer::Collect(args) => Some((
            "a second #[collect_errors] into the same collector would collect every error twice",
            tokens(args.collector.get()),
            None,
        )),
        Layer::Breaker(args) if args.service.get().is_some() => Some((
            "a second #[circuit_breaker] of the same service in the same registry would count every call twice",
            tokens(args.service.get()),
            tokens(args.registry.get()),
        )),
        _ => None,
    };
    for (index, layer) in layers.iter().enumerate() {
        let Some(this) = target(layer) else {
            continue;
        };
        if layers[..index]
            .iter()
            .any(|earlier| target(earlier).as_ref() == Some(&this))
        {
            errors.at(spans[index], this.0);
        }
    }
}

/// How the layers under a `#[circuit_breaker]` bound its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnderBreaker {
    /// No `#[timeout]` there: a timeout above would cancel the breaker's call.
    Uncut,
    /// Cut at this, the shortest there, every one of them a literal.
    Cut(Duration),
    /// Cut at a time known only at run time.
    CutUnknown,
}

/// How `layers` (outermost first) bound a breaker's call, if one of them is a breaker.
pub(crate) fn under_breaker(layers: &[Layer]) -> Option<UnderBreaker> {
    let breaker = layers
        .iter()
        .rposition(|layer| matches!(layer, Layer::Breaker(_)))?;
    let mut under = UnderBreaker::Uncut;
    for layer in &layers[breaker..] {
        let Layer::Timeout(args) = layer else {
            continue;
        };
        under = match (under, args.after.get()) {
            (UnderBreaker::Uncut, Some(DurationValue::Known(after))) => UnderBreaker::Cut(*after),
            (UnderBreaker::Cut(cut), Some(DurationValue::Known(after))) => {
                UnderBreaker::Cut(cut.min(*after))
            }
            _ => UnderBreaker::CutUnknown,
        };
    }
    Some(under)
}

/// A timeout above a `#[circuit_breaker]` cancels the breaker's call, and a cancelled call
/// counts nothing: a service that hangs would never open the breaker. Refused unless a
/// `#[timeout]` under the breaker bounds each call first: one shorter than the timeout above
/// when both are literals (the one above is then only a bound over all attempts, or a
/// spare). A `#[timeout]` above a `#[retry]` bounds the whole retried call, whatever its
/// length.
fn breaker_sees_timeouts(layers: &[Layer], spans: &[Span], errors: &mut Errors) {
    let Some(breaker) = layers
        .iter()
        .rposition(|layer| matches!(layer, Layer::Breaker(_)))
    else {
        return;
    };
    let under = under_breaker(&layers[breaker..]);
    for (index, layer) in layers[..breaker].iter().enumerate() {
        let (span, what, after) = match layer {
            Layer::Timeout(args) => {
                let over_a_retry = layers[index + 1..breaker]
                    .iter()
                    .any(|layer| matches!(layer, Layer::Retry(_)));
                if over_a_retry && under != Some(UnderBreaker::Uncut) {
                    continue;
                }
                (
                    args.after.key_span().unwrap_or(spans[index]),
                    "this #[timeout]",
                    args.after.get(),
                )
            }
            Layer::Retry(args) => match args.attempt_timeout.key_span() {
                Some(span) => (span, "`attempt_timeout`", args.attempt_timeout.get()),
                None => continue,
            },
            _ => continue,
        };
        if under == Some(UnderBreaker::Uncut) {
            errors.at(
                span,
                format_args!(
                    "{what} cancels calls above #[circuit_breaker], which counts a cancelled call as nothing: \
                     a hung service would never open it; write #[timeout(..)] under #[circuit_breaker] instead"
                ),
            );
            continue;
        }
        if let (Some(DurationValue::Known(above)), Some(UnderBreaker::Cut(cut))) = (after, under) {
            if cut >= *above {
                errors.at(
                    span,
                    format_args!(
                        "{what} ({above:?}) fires no later than the #[timeout] under #[circuit_breaker] ({cut:?}): \
                         it cancels a hung call first, and the breaker counts nothing; make the one under the breaker shorter"
                    ),
                );
            }
        }
    }
}

/// A retried function cannot return a borrow of a `&mut` argument: each attempt reborrows it,
/// and a borrow one attempt returned would have to outlive the next attempt's. The borrow
/// checker says so about the expansion's bindings; this says it about the signature.
fn no_mut_borrow_returned(function: &Function, layers: &[Layer], errors: &mut Errors) {
    if !layers.iter().any(|layer| matches!(layer, Layer::Retry(_))) {
        return;
    }
    let syn::ReturnType::Type(_, output) = &function.sig.output else {
        return;
    };
    let output_lifetimes = Lifetimes::of(output);
    if output_lifetimes.0.is_empty() {
        return;
    }
    let inputs: Vec<Input> = function.sig.inputs.iter().map(Input::of).collect();
    // Where an elided output lifetime comes from: a reference receiver, else the one input
    // lifetime there is.
    let positions: usize = inputs.iter().map(|input| input.lifetimes.0.len()).sum();
    let elided_source = inputs
        .iter()
        .find(|input| input.is_receiver && !input.lifetimes.0.is_empty())
        .or_else(|| {
            (positions == 1)
                .then(|| inputs.iter().find(|input| !input.lifetimes.0.is_empty()))
                .flatten()
        });
    let borrows_mut = output_lifetimes.0.iter().any(|lifetime| match lifetime {
        None => elided_source.is_some_and(|input| input.mut_borrow.is_some()),
        // Named: only when no other input carries it, which the value may borrow instead.
        Some(name) => {
            let mut carriers = inputs
                .iter()
                .filter(|input| input.lifetimes.0.iter().any(|l| l.as_deref() == Some(name)))
                .peekable();
            carriers.peek().is_some()
                && carriers.all(|input| {
                    input
                        .mut_borrow
                        .as_ref()
                        .is_some_and(|l| l.as_deref() == Some(name))
                })
        }
    });
    if borrows_mut {
        errors.at(
            syn::spanned::Spanned::span(&**output),
            "a retried function cannot return a borrow of a `&mut` argument: each attempt \
             reborrows it, and a borrow one attempt returned would outlive it; return an owned \
             value, or retry a helper and borrow after it",
        );
    }
}

/// What the check reads of one input.
struct Input {
    /// Its lifetime positions.
    lifetimes: Lifetimes,
    /// For a `&mut` (or `Pin<&mut _>`): `Some` of the borrow's lifetime, `None` when elided.
    mut_borrow: Option<Option<String>>,
    is_receiver: bool,
}

impl Input {
    fn of(input: &syn::FnArg) -> Input {
        let (ty, is_receiver) = match input {
            syn::FnArg::Receiver(receiver) => (receiver_type(receiver), true),
            syn::FnArg::Typed(typed) => ((*typed.ty).clone(), false),
        };
        Input {
            lifetimes: Lifetimes::of(&ty),
            mut_borrow: mut_borrow_lifetime(&ty),
            is_receiver,
        }
    }
}

/// The type a receiver stands for: `&'a mut Self` for `&'a mut self`.
fn receiver_type(receiver: &syn::Receiver) -> syn::Type {
    match &receiver.kind {
        syn::ReceiverKind::Reference(_, lifetime, mutability) => {
            syn::parse_quote!(& #lifetime #mutability Self)
        }
        syn::ReceiverKind::Typed(_, ty) => (**ty).clone(),
        _ => syn::parse_quote!(Self),
    }
}

/// The lifetimes a type names: `None` for an elided one (`&T`, `'_`).
#[derive(Default)]
struct Lifetimes(Vec<Option<String>>);

impl Lifetimes {
    fn of(ty: &syn::Type) -> Lifetimes {
        let mut lifetimes = Lifetimes::default();
        // The crate's `syn` visits mutably only; a copy is visited.
        syn::visit_mut::VisitMut::visit_type_mut(&mut lifetimes, &mut ty.clone());
        lifetimes
    }
}

impl syn::visit_mut::VisitMut for Lifetimes {
    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            self.0.push(None);
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }

    // A function pointer's or `Fn(..)`'s references are its own (higher-ranked): they borrow
    // nothing of the function's inputs.
    fn visit_type_fn_ptr_mut(&mut self, _: &mut syn::TypeFnPtr) {}

    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        match lifetime.ident.to_string().as_str() {
            "_" => self.0.push(None),
            "static" => {}
            name => self.0.push(Some(name.to_owned())),
        }
    }
}

/// For `&mut T`, `&'a mut T` and `Pin<&mut T>`: `Some` of the borrow's lifetime (`None` when
/// elided).
fn mut_borrow_lifetime(ty: &syn::Type) -> Option<Option<String>> {
    match ty {
        syn::Type::Reference(reference) if reference.mutability.is_some() => Some(
            reference
                .lifetime
                .as_ref()
                .map(|lifetime| lifetime.ident.to_string())
                .filter(|name| name != "_"),
        ),
        syn::Type::Path(path) => {
            let last = path.path.segments.last()?;
            if last.ident != "Pin" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return None;
            };
            arguments.args.iter().find_map(|argument| match argument {
                syn::GenericArgument::Type(inner) => mut_borrow_lifetime(inner),
                _ => None,
            })
        }
        syn::Type::Group(group) => mut_borrow_lifetime(&group.elem),
        syn::Type::Paren(paren) => mut_borrow_lifetime(&paren.elem),
        _ => None,
    }
}

/// The layers that copy, reborrow or key on each parameter write code per parameter, which a
/// `#[cfg]` on one would leave naming a parameter that is gone.
fn no_cfg_parameters(function: &Function, layers: &[Layer], errors: &mut Errors) {
    let Some(layer) = layers.iter().find_map(|layer| match layer {
        Layer::Retry(_) => Some("retry"),
        Layer::Fallback(_) => Some("fallback"),
        _ => None,
    }) else {
        return;
    };
    for span in function.params.iter().filter_map(|param| param.cfg) {
        errors.at(
            span,
            format_args!(
                "#[{layer}] hands each parameter to every run and cannot follow a `#[cfg]` on one; \
                 put the `#[cfg]` on two versions of the function instead"
            ),
        );
    }
}

/// Each `no_clone = [..]` name is a by-value parameter (references are never cloned).
fn no_clone_names(function: &Function, layers: &[Layer], errors: &mut Errors) {
    let retried = layers.iter().any(|layer| matches!(layer, Layer::Retry(_)));
    for name in layers.iter().flat_map(Layer::no_clone) {
        match function.param(name) {
            // Each run borrows it, and a `FnOnce` cannot be called through a borrow.
            Some(param) if param.mode == Mode::ByValue && retried && is_fn_once(function, name) => {
                errors.at(
                    name.span(),
                    format_args!(
                        "`{name}` is a `FnOnce`, which every run of the retried body would call: \
                         take `impl FnMut` or `impl Fn` instead, or call it outside the retried function"
                    ),
                );
            }
            Some(param) if param.mode == Mode::ByValue => {}
            Some(_) => errors.at(
                name.span(),
                format_args!("`{name}` is a reference: it is never cloned, no need to list it"),
            ),
            None => errors.at(name.span(), format_args!("no parameter named `{name}`")),
        }
    }
}

/// Whether the parameter `name` is only a `FnOnce`: its type is `impl FnOnce(..)` or a
/// boxed `dyn FnOnce(..)`, or a type parameter bounded by `FnOnce` and not by `Fn` or `FnMut`
/// (inline or in the where clause).
fn is_fn_once(function: &Function, name: &syn::Ident) -> bool {
    type Bounds = syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>;
    // Among the bounds themselves, not in their arguments or outputs.
    fn only_once<'a>(bounds: impl IntoIterator<Item = &'a Bounds>) -> bool {
        let traits: Vec<String> = bounds
            .into_iter()
            .flatten()
            .filter_map(|bound| match bound {
                syn::TypeParamBound::Trait(bound) => bound
                    .path
                    .segments
                    .last()
                    .map(|last| last.ident.to_string()),
                _ => None,
            })
            .collect();
        traits.iter().any(|name| name == "FnOnce")
            && !traits.iter().any(|name| name == "FnMut" || name == "Fn")
    }
    let Some(ty) = function.sig.inputs.iter().find_map(|input| match input {
        syn::FnArg::Typed(typed) => match &*typed.pat {
            syn::Pat::Ident(ident) if ident.ident == *name => Some(&*typed.ty),
            _ => None,
        },
        syn::FnArg::Receiver(_) => None,
    }) else {
        return false;
    };
    match ty {
        syn::Type::ImplTrait(opaque) => only_once([&opaque.bounds]),
        syn::Type::Path(path) if path.qself.is_none() => {
            if let Some(parameter) = path.path.get_ident() {
                let generics = &function.sig.generics;
                let inline = generics
                    .type_params()
                    .filter(|param| param.ident == *parameter)
                    .map(|param| &param.bounds);
                let in_where = generics
                    .where_clause
                    .iter()
                    .flat_map(|clause| &clause.predicates)
                    .filter_map(|predicate| match predicate {
                        syn::WherePredicate::Type(bound)
                            if matches!(&bound.bounded_ty, syn::Type::Path(bounded) if bounded.path.is_ident(parameter)) =>
                        {
                            Some(&bound.bounds)
                        }
                        _ => None,
                    });
                return only_once(inline.chain(in_where));
            }
            // `Box<dyn FnOnce(..)>`.
            let Some(last) = path.path.segments.last() else {
                return false;
            };
            let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return false;
            };
            last.ident == "Box"
                && arguments.args.iter().any(|argument| {
                    matches!(argument, syn::GenericArgument::Type(syn::Type::TraitObject(object))
                        if only_once([&object.bounds]))
                })
        }
        _ => false,
    }
}

/// A cache is keyed by the `Ok` type too, so it must be written out; and it keeps the values,
/// so they must own what they hold.
fn cache_type(function: &Function, layers: &[Layer], errors: &mut Errors) {
    let cached = layers.iter().any(|layer| {
        matches!(layer, Layer::Fallback(args)
            if args.strategies.iter().any(|s| matches!(s, Strategy::Cache { .. })))
    });
    if !cached {
        return;
    }
    match function.ok_type() {
        None => errors.at(
            syn::spanned::Spanned::span(&function.ret),
            "`cache` needs the return type written as `Result<T, E>` (or `io::Result<T>`), naming `T`",
        ),
        // The cache outlives every call, so what it keeps cannot borrow from one; said here,
        // rather than as a lifetime error inside the body.
        Some(ok) if !Lifetimes::of(ok).0.is_empty() => errors.push(syn::Error::new_spanned(
            ok,
            "`cache` keeps each value after the call returns, so the value cannot borrow: \
             return an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, `Arc<T>` to share \
             one), or a `&'static` borrow",
        )),
        Some(_) => {}
    }
}

/// A collector files each error under its type's id, which only a `'static` type has; said at
/// the type, rather than as a lifetime error inside the body.
fn collected_type(function: &Function, layers: &[Layer], errors: &mut Errors) {
    if !layers
        .iter()
        .any(|layer| matches!(layer, Layer::Collect(_)))
    {
        return;
    }
    if let Some(error) = function.err_type() {
        if !Lifetimes::of(error).0.is_empty() {
            errors.push(syn::Error::new_spanned(
                error,
                "#[collect_errors] files each error under its type, which must be `'static`; this \
                 error type borrows: return one that owns its data (convert it in the body with \
                 `.map_err(..)`, to its owned form or a `String`)",
            ));
        }
    }
}

/// A timeout drops an attempt that is still running: only a future can be dropped midway.
fn async_only(function: &Function, layers: &[Layer], errors: &mut Errors) {
    if function.shape.is_async() {
        return;
    }
    for layer in layers {
        let span = match layer {
            Layer::Timeout(args) => args.after.key_span(),
            Layer::Retry(args) => args.attempt_timeout.key_span(),
            _ => None,
        };
        if let Some(span) = span {
            errors.at(
                span,
                "a timeout cancels the attempt still running, which only an `async fn` can do; use `deadline` to bound a blocking function's retries",
            );
        }
    }
}

/// The values that go into a `static` must not need a call's `Self` or generics; a
/// `#[retry]` key that reads the call is evaluated per call instead, and may.
fn values_evaluated_once(function: &Function, layers: &[Layer], errors: &mut Errors) {
    let generics: Vec<String> = function
        .sig
        .generics
        .params
        .iter()
        .map(|param| match param {
            syn::GenericParam::Type(ty) => ty.ident.to_string(),
            syn::GenericParam::Const(constant) => constant.ident.to_string(),
            syn::GenericParam::Lifetime(lifetime) => lifetime.lifetime.to_string(),
        })
        .collect();
    // A receiver the expansion renamed is still `self` (and reported as such).
    let mut generics = generics;
    generics.extend(function.self_binding.as_ref().map(ToString::to_string));
    // Plain names only: a pattern's names are left to the compiler (the value is built in a
    // nested `fn`, which cannot capture them).
    let arguments: Vec<String> = function
        .params
        .iter()
        .filter(|param| !param.is_self && param.pattern.as_ref().is_none_or(is_plain_binding))
        .map(|param| param.binding.to_string())
        .collect();
    let mut check_key = |key: &str, value: &dyn ToTokens, retry_key: bool| {
        let value = value.to_token_stream();
        if !(retry_key && reads_call(function, value.clone())) {
            evaluated_once(key, value, &generics, &arguments, retry_key, errors);
        }
    };
    let duration = |value: &DurationValue| match value {
        DurationValue::Expr(expr) => Some(expr.clone()),
        DurationValue::Known(_) | DurationValue::Reported => None,
    };
    for layer in layers {
        match layer {
            Layer::Retry(args) => {
                if let Some(config) = args.config.get() {
                    check_key("config", config, true);
                }
                if let Some(max) = args.max_attempts.get() {
                    check_key("max_attempts", max, true);
                }
                if let Some(delay) = args.delay.get().and_then(duration) {
                    check_key("delay", &delay, true);
                }
                if let Some(max_delay) = args.max_delay.get().and_then(duration) {
                    check_key("max_delay", &max_delay, true);
                }
                if let Some(deadline) = args.deadline.get().and_then(duration) {
                    check_key("deadline", &deadline, true);
                }
                if let Some(timeout) = args.attempt_timeout.get().and_then(duration) {
                    check_key("attempt_timeout", &timeout, true);
                }
                if let Some(backoff) = args.backoff.get() {
                    check_key("backoff", backoff, true);
                }
                if let Some(JitterValue::Expr(jitter)) = args.jitter.get() {
                    check_key("jitter", jitter, true);
                }
            }
            Layer::Fallback(args) => {
                for strategy in &args.strategies {
                    if let Strategy::Cache { ttl, capacity, .. } = strategy {
                        if let Some(ttl) = ttl.as_ref().and_then(duration) {
                            check_key("ttl", &ttl, false);
                        }
                        if let Some(capacity) = capacity {
                            check_key("capacity", capacity, false);
                        }
                    }
                }
            }
            // Evaluated per call: `after = self.limit` is fine.
            Layer::Collect(_) | Layer::Breaker(_) | Layer::Timeout(_) => {}
        }
    }
}

/// The stack's `crate = path`: given on any of its attributes (the outermost's also decides
/// which paths name this crate's attributes), the same wherever it is repeated.
pub(crate) fn crate_option(layers: &[Layer], errors: &mut Errors) -> Option<syn::Path> {
    let mut found: Option<&syn::Path> = None;
    for krate in layers.iter().filter_map(Layer::krate) {
        match found {
            None => found = Some(krate),
            Some(first) if path_text(first) == path_text(krate) => {}
            Some(first) => errors.at(
                syn::spanned::Spanned::span(krate),
                format_args!(
                    "`crate = {}` here but `crate = {}` on another attribute of this function: give one path",
                    path_text(krate),
                    path_text(first)
                ),
            ),
        }
    }
    found.cloned()
}

/// `path` as written in code, for messages.
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let leading = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{leading}{}", segments.join("::"))
}

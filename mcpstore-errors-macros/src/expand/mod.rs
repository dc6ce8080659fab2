//! From the parsed attributes and function to the generated function.
//!
//! The first of this crate's attributes on a function (the outermost) expands the whole stack:
//! it takes the others off the function and nests them outside-in, so that
//! `#[collect_errors] #[fallback(..)] #[retry(..)]` retries, then falls back, then collects.

mod breaker;
mod collect;
mod fallback_chain;
mod literals;
mod names;
mod retry;
mod timeout;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Block, Ident, Meta};

use crate::args::{Kind, Layer};
use crate::errors::Errors;
use crate::func::{Function, Mode, Param, RawFunction, Shape};
use crate::valid;

/// What an attribute taken into the stack is left as: still resolved by the compiler (so its
/// import counts as used), then expanded to the function unchanged.
const STACKED: &str = "__mcpstore_stacked";

/// An item the expansion puts first in the body it generates, by which an attribute of this
/// crate that the stack did not take (written by a path the outermost did not know) sees that
/// it comes too late.
const EXPANDED: &str = "__MCPSTORE_EXPANDED";

/// Whether `body` is one this crate generated.
fn already_expanded(body: &TokenStream) -> bool {
    let Some(proc_macro2::TokenTree::Group(block)) = body.clone().into_iter().next() else {
        return false;
    };
    block
        .stream()
        .into_iter()
        .take(3)
        .any(|tree| matches!(tree, proc_macro2::TokenTree::Ident(ident) if ident == EXPANDED))
}

/// The entry point of the three attributes.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    if is_stacked_marker(&args) {
        return item;
    }
    let mut raw: RawFunction = match syn::parse2(item.clone()) {
        Ok(raw) => raw,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#item #error);
        }
    };
    if already_expanded(&raw.body) {
        let error = syn::Error::new(
            Span::call_site(),
            format_args!(
                "this #[{}] comes after an attribute of this crate that did not know it by \
                 this path, and would wrap it from outside, reversing the order: write this \
                 crate's attributes by one path, or give the outermost `crate = <this path>`",
                kind.name()
            ),
        )
        .to_compile_error();
        return quote!(#item #error);
    }
    let mut errors = Errors::default();
    // A receiver the body knows under another name is known by it in the attributes'
    // expressions too (`service = self.name` on a `&mut self` method).
    let renamed_self = crate::func::renamed_receiver(&raw);
    let mut named = NamedByAttributes::default();
    let mut read = |args: TokenStream| {
        named.read(&args);
        match &renamed_self {
            Some(binding) => crate::func::rename_in_tokens(args, binding, false),
            None => args,
        }
    };
    let mut layers = vec![Layer::parse(
        kind,
        read(args),
        Span::call_site(),
        &mut errors,
    )];
    // Where each layer's attribute was written.
    let mut spans = vec![Span::call_site()];
    let mut stacked: Vec<TokenStream> = Vec::new();
    let outer_krate = layers[0].krate().cloned();
    raw.attrs.retain(|attr| {
        let Some(kind) = Kind::of(attr, outer_krate.as_ref()) else {
            return true;
        };
        let args = match &attr.meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(list) => list.tokens.clone(),
            Meta::NameValue(pair) => {
                errors.at(
                    pair.eq_token.span,
                    format_args!("write #[{}(key = value, ..)]", kind.name()),
                );
                TokenStream::new()
            }
        };
        let path = attr.path();
        spans.push(syn::spanned::Spanned::span(path));
        layers.push(Layer::parse(
            kind,
            read(args),
            path.segments[0].ident.span(),
            &mut errors,
        ));
        let marker = Ident::new(STACKED, Span::mixed_site());
        stacked.push(quote!(#[#path(#marker)]));
        false
    });

    let function = Function::new(&raw, kind.name(), &mut errors).map(|mut function| {
        named.mark(&mut function);
        if layers.iter().any(Layer::forwards_arguments) {
            for param in &mut function.params {
                param.forwarded = true;
            }
        }
        valid::stack(&function, &layers, &spans, &mut errors);
        exempt_from_cloning(&mut function, &layers);
        function
    });
    let krate = valid::crate_option(&layers, &mut errors);
    match function {
        Some(function) if errors.is_empty() => {
            let mut function = generate(&function, &layers);
            if let Some(krate) = krate {
                function = relocate(function, &krate);
            }
            quote!(#(#stacked)* #function)
        }
        // The function as written (without this crate's attributes), so the rest of the crate
        // still type-checks against it, and every error found.
        _ => {
            let mut checks = names::checks(&layers);
            checks.extend(literals::checks(&layers));
            let checks = match &krate {
                Some(krate) => relocate(checks, krate),
                None => checks,
            };
            raw.body = with_items_first(raw.body, checks);
            let errors = errors.into_compile_errors();
            quote!(#(#stacked)* #raw #errors)
        }
    }
}

/// `body` with `items` put first inside its braces, after its inner attributes (a body that is
/// not one braced block is left as it is: the compiler reports it).
fn with_items_first(body: TokenStream, items: TokenStream) -> TokenStream {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let mut trees = body.clone().into_iter();
    match (trees.next(), trees.next()) {
        (Some(TokenTree::Group(group)), None)
            if group.delimiter() == Delimiter::Brace && !items.is_empty() =>
        {
            let inner: Vec<TokenTree> = group.stream().into_iter().collect();
            // `#![..]` is `#`, `!` and a bracketed group.
            let mut split = 0;
            while let [
                TokenTree::Punct(hash),
                TokenTree::Punct(bang),
                TokenTree::Group(attr),
                ..,
            ] = &inner[split..]
            {
                if hash.as_char() != '#'
                    || bang.as_char() != '!'
                    || attr.delimiter() != Delimiter::Bracket
                {
                    break;
                }
                split += 3;
            }
            let mut stream: TokenStream = inner[..split].iter().cloned().collect();
            stream.extend(items);
            stream.extend(inner[split..].iter().cloned());
            let mut block = Group::new(Delimiter::Brace, stream);
            block.set_span(group.span());
            TokenTree::Group(block).into()
        }
        _ => body,
    }
}

/// `crate = path`: every generated path starts with `::mcpstore_errors`; this rewrites each
/// such leading `::mcpstore_errors` of the expansion to `krate`, in one pass over the tokens.
/// Paths the user wrote the same way (in the body or the arguments) name the same crate, so
/// rewriting them too changes nothing they mean.
fn relocate(tokens: TokenStream, krate: &syn::Path) -> TokenStream {
    use proc_macro2::{Group, Spacing, TokenTree};
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        let leading = match (&trees[i], trees.get(i + 1), trees.get(i + 2)) {
            (
                TokenTree::Punct(first),
                Some(TokenTree::Punct(second)),
                Some(TokenTree::Ident(name)),
            ) => {
                first.as_char() == ':'
                    && first.spacing() == Spacing::Joint
                    && second.as_char() == ':'
                    && name == "mcpstore_errors"
                    // `a::mcpstore_errors` is some other path; `use ::mcpstore_errors` is not.
                    && !matches!(out.last(), Some(TokenTree::Ident(ident)) if !is_keyword(ident))
            }
            _ => false,
        };
        if leading {
            out.extend(krate.to_token_stream());
            i += 3;
            continue;
        }
        out.push(match &trees[i] {
            TokenTree::Group(group) => {
                let mut relocated = Group::new(group.delimiter(), relocate(group.stream(), krate));
                relocated.set_span(group.span());
                TokenTree::Group(relocated)
            }
            other => other.clone(),
        });
        i += 1;
    }
    out.into_iter().collect()
}

/// The keywords a leading `::path` may follow; any other identifier before `::` is a path's
/// segment.
fn is_keyword(ident: &Ident) -> bool {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "dyn", "else", "for", "if", "impl", "in", "let",
        "loop", "match", "move", "mut", "pub", "ref", "return", "static", "type", "unsafe", "use",
        "where", "while", "yield",
    ];
    KEYWORDS.iter().any(|keyword| ident == keyword)
}

fn is_stacked_marker(args: &TokenStream) -> bool {
    let mut tokens = args.clone().into_iter();
    matches!(
        (tokens.next(), tokens.next()),
        (Some(proc_macro2::TokenTree::Ident(ident)), None) if ident == STACKED
    )
}

/// The identifiers the attributes' arguments use, as written: a parameter among them is read
/// by an expression of the stack, so no layer may move it.
#[derive(Default)]
struct NamedByAttributes(std::collections::HashSet<String>);

impl NamedByAttributes {
    fn read(&mut self, tokens: &TokenStream) {
        for tree in tokens.clone() {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    self.0.insert(ident.to_string());
                }
                proc_macro2::TokenTree::Group(group) => self.read(&group.stream()),
                // A format string's inline arguments: `format!("{key}")` reads `key`.
                proc_macro2::TokenTree::Literal(literal) => {
                    self.0
                        .extend(crate::func::inline_arguments(&literal.to_string()));
                }
                _ => {}
            }
        }
    }

    fn mark(&self, function: &mut Function) {
        for param in &mut function.params {
            let name = if param.is_self {
                "self".to_owned()
            } else {
                param.binding.to_string()
            };
            param.named_by_attributes = self.0.contains(&name);
        }
    }
}

/// Applies every `no_clone = [..]` of the stack (each name checked by [`valid::stack`]).
fn exempt_from_cloning(function: &mut Function, layers: &[Layer]) {
    for name in layers.iter().flat_map(Layer::no_clone) {
        if let Some(param) = function.param_named(name) {
            if param.mode == Mode::ByValue {
                param.no_clone = true;
            }
        }
    }
}

/// The function's name for events, metrics and the collector's context: the binding every
/// layer reads, made once at the top of the body (see `generate`).
fn operation(function: &Function) -> TokenStream {
    let _ = function;
    let binding = operation_binding();
    quote!(#binding)
}

/// Mixed-site, so that the user's code neither sees nor shadows it.
fn operation_binding() -> Ident {
    Ident::new("__mcpstore_operation", Span::mixed_site())
}

/// The function's path as far as the attribute sees it (its module's, no impl's type): for a
/// `const` item, where the function's generic parameters cannot be named.
fn operation_path(function: &Function) -> TokenStream {
    let name = function.sig.ident.to_string();
    quote!(::core::concat!(::core::module_path!(), "::", #name))
}

fn generate(function: &Function, layers: &[Layer]) -> TokenStream {
    let Function {
        attrs, vis, sig, ..
    } = function;
    let calls = compose(function, layers, false);
    let keep_self = function.self_binding.as_ref().map(|binding| {
        let self_token = Ident::new("self", binding.span());
        quote!(let #binding = #self_token;)
    });
    // Bindings every run borrows (see `Param::hoisted_mut`); the receiver's after `keep_self`.
    let hoisted = function
        .params
        .iter()
        .filter(|param| param.hoisted_mut())
        .map(|param| {
            let binding = &param.binding;
            match &param.pattern {
                // The user's own `mut`: a body that never needs it is told so there, as it
                // would be without the attributes.
                Some(pattern) if !param.pinned && !param.optional_mut => {
                    let lints = &param.lints;
                    quote!(#(#lints)* #ALLOW_ON_COPY let #pattern = #binding;)
                }
                // Reborrowed by the runs, whose layers may not need it.
                _ => quote!(#[allow(unused_mut)] #ALLOW_ON_COPY let mut #binding = #binding;),
            }
        });
    let keep_self = quote!(#keep_self #(#hoisted)*);
    // An alias is taken on trust by the macro; this says at the return type when it is not a
    // `Result`, before the expansion's own mismatches.
    // Not with an `impl Trait` in it, whose `_` the check could not infer.
    let ret = function.ret_for_inference();
    let names_impl =
        ret.to_token_stream().to_string() != function.ret.to_token_stream().to_string();
    let alias_check = (!function.ret_is_spelled_result() && !names_impl).then(|| {
        quote_spanned!(syn::spanned::Spanned::span(&function.ret)=>
            ::mcpstore_errors::__private::returns_result::<#ret>();)
    });
    let marker = Ident::new(EXPANDED, Span::call_site());
    let operation = operation_binding();
    let marker = quote! {
        const #marker: () = ();
        // For each run's copy of an argument (see `resupply`).
        use ::mcpstore_errors::__private::{ResupplyClone as _, ResupplyOther as _};
        // rustc names a closure's type by the function's full path, its impl's type included:
        // the runtime reads it only when something is reported.
        let #operation = ::mcpstore_errors::__private::Operation::of(&|| ());
    };
    let statements = match function.shape {
        Shape::Sync | Shape::Async => quote!(#marker #alias_check #keep_self #calls),
        Shape::AsyncTrait => quote! {
            #marker
            #alias_check
            ::std::boxed::Box::pin(async move { #keep_self #calls })
        },
    };
    // The user's braces' span: the compiler and clippy then take the function for the user's
    // own (`dead_code`, `missing_docs`, `missing_errors_doc` are reported at it), not one the
    // macro made.
    let mut body = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, statements);
    body.set_span(body_span(&function.body));
    quote!(#(#attrs)* #vis #sig #body)
}

/// `statements` in braces placed as the body's. A run's closure, its bars placed there too,
/// then reads to clippy as the user's own code: lints that judge a closure's tail
/// (`needless_return`) see the body's as in the plain function.
fn at_body(function: &Function, statements: TokenStream) -> proc_macro2::Group {
    let mut braces = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, statements);
    braces.set_span(body_span(&function.body));
    braces
}

/// The span of the body's braces.
fn body_span(body: &TokenStream) -> Span {
    body.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |braces| braces.span())
}

/// The expression that runs `layers` around the body, outermost first; `in_retry` when a
/// `#[retry]` encloses them.
fn compose(function: &Function, layers: &[Layer], in_retry: bool) -> TokenStream {
    let Some((layer, inner_layers)) = layers.split_first() else {
        return body(function, true);
    };
    let inner = match layer {
        // A sync retry runs the body in a closure of its own, typed from the signature: the
        // body needs no second one.
        Layer::Retry(_) if inner_layers.is_empty() && !function.shape.is_async() => {
            body(function, false)
        }
        Layer::Retry(_) => compose(function, inner_layers, true),
        _ => compose(function, inner_layers, in_retry),
    };
    match layer {
        Layer::Retry(args) => {
            let innermost = inner_layers.is_empty();
            retry::expand(
                function,
                args,
                inner,
                valid::under_breaker(inner_layers),
                innermost,
            )
        }
        Layer::Fallback(args) => fallback_chain::expand(function, args, inner),
        Layer::Collect(args) => collect::expand(function, args, inner),
        Layer::Breaker(args) => breaker::expand(function, args, inner),
        Layer::Timeout(args) => timeout::expand(function, args, in_retry, inner),
    }
}

/// One run of the body: in its own closure (sync) or `async` block awaited in place, so that
/// `?` and `return` end this run only; in place when `enclose` is false (sync only), for a
/// caller that already put it in such a closure.
fn body(function: &Function, enclose: bool) -> TokenStream {
    let body = &function.body;
    let ret = function.ret_for_inference();
    let patterns = function.params.iter().filter_map(|param| {
        if param.no_clone && param.plain_mut_pattern() {
            // Hoisted by `generate`: runs borrow the one binding.
            return None;
        }
        let pattern = param.pattern.as_ref()?;
        let binding = &param.binding;
        let lints = &param.lints;
        // A `ref mut` in the pattern borrows what it matches mutably: moved into a temporary
        // (which the pattern's borrow keeps alive), the binding itself need not be `mut`.
        let value = if borrows_mutably(pattern) {
            quote!({ #binding })
        } else {
            quote!(#binding)
        };
        Some(quote!(#(#lints)* #ALLOW_ON_COPY let #pattern = #value;))
    });
    let run = if function.shape.is_async() {
        // The run's future owns what it uses, as the plain function's does: a borrow of a
        // `Send` but not `Sync` argument (a `Receiver`, a `Cell`, a field of `&mut self`) held
        // across an `.await` would make it not `Send`. A `&mut` argument is reborrowed for the
        // run, and moved in; so is a by-value one no later step reads.
        let owned: Vec<_> = function
            .params
            .iter()
            .filter(|param| owned_by_the_run(param))
            .collect();
        let reborrows = owned
            .iter()
            .filter(|param| param.mode == Mode::MutRef)
            .map(|param| {
                let (binding, lints) = (&param.binding, &param.lints);
                quote!(#(#lints)* #ALLOW_ON_COPY let #binding = &mut *#binding;)
            });
        let moves = owned.iter().map(|param| {
            let (binding, lints) = (&param.binding, &param.lints);
            // A fallback's `with` reads it even where the body does not.
            let used = param
                .forwarded_unmarked()
                .then(|| quote!(let _ = &#binding;));
            quote!(#(#lints)* #ALLOW_ON_COPY let #binding = #binding; #used)
        });
        let prologue = quote!(#(#moves)* #(#patterns)*);
        // The body's braces are the async block's own: a one-expression body draws no
        // `unused_braces`, and no `allow` is needed (a crate may forbid the lint).
        let asynchronous = quote::quote_spanned!(body_span(body)=> async);
        let body = typed_async_body(body, &ret, prologue);
        return quote! {{
            #(#reborrows)*
            ::mcpstore_errors::__private::attempt_async::<#ret, _>(#asynchronous #body).await
        }};
    } else if enclose {
        let bar = quote::quote_spanned!(body_span(body)=> |);
        quote!(::mcpstore_errors::__private::attempt::<#ret, _>(#bar #bar #body))
    } else {
        // Statements for the caller's closure block. The body keeps its own braces, so that its
        // edition's drop order and its items' scope stay as written; as a `match` arm rather
        // than the block's tail, where a one-expression body would draw `unused_braces`. A body
        // that opens with an inner attribute, which an arm's block may not have, is the tail:
        // it has statements, so it draws no `unused_braces` there.
        if opens_with_inner_attribute(body) {
            return quote!(#(#patterns)* #body);
        }
        return quote!(#(#patterns)* match () { () => #body });
    };
    quote!({ #(#patterns)* #run })
}

/// The body's block, opened by a `return` of the declared type that never runs: an `async`
/// block's output is inferred from its first `return`, so the later ones and the tail are then
/// checked against the declared type and coerce to it as in the plain function (`Ok(&string)`
/// for `Result<&str, _>`, `Err(Box::new(e))` for `Box<dyn Error>`). After any inner attributes.
fn typed_async_body(body: &TokenStream, ret: &syn::Type, prologue: TokenStream) -> TokenStream {
    let Some(proc_macro2::TokenTree::Group(braces)) = body.clone().into_iter().next() else {
        return body.clone();
    };
    let tokens: Vec<_> = braces.stream().into_iter().collect();
    let mut split = 0;
    while let [
        proc_macro2::TokenTree::Punct(hash),
        proc_macro2::TokenTree::Punct(bang),
        proc_macro2::TokenTree::Group(_),
        ..,
    ] = &tokens[split..]
    {
        if hash.as_char() != '#' || bang.as_char() != '!' {
            break;
        }
        split += 3;
    }
    let (inner_attributes, rest) = tokens.split_at(split);
    // After the items the body opens with: statements before them would draw clippy's
    // `items_after_statements`. Not after a `macro_rules!`, which clippy lets follow
    // statements: its rules name the arguments bound where it is defined, so it must see the
    // prologue's bindings (the run's own), not the ones the prologue moves from.
    let rest: TokenStream = rest.iter().cloned().collect();
    let (items, statements) = match syn::parse::Parser::parse2(Block::parse_within, rest.clone()) {
        Ok(stmts) => {
            let leading = stmts.iter().take_while(|stmt| match stmt {
                syn::Stmt::Item(syn::Item::Macro(item)) => !item.mac.path.is_ident("macro_rules"),
                syn::Stmt::Item(_) => true,
                _ => false,
            });
            let leading = leading.count();
            let items = stmts[..leading].iter().map(ToTokens::to_token_stream);
            let statements = stmts[leading..].iter().map(ToTokens::to_token_stream);
            (items.collect(), statements.collect())
        }
        Err(_) => (Vec::new(), vec![rest]),
    };
    let declared = Ident::new("__mcpstore_declared", Span::call_site());
    let stream = quote! {
        #(#inner_attributes)*
        #(#items)*
        if let ::core::option::Option::Some(#declared) = ::core::option::Option::None::<#ret> {
            return #declared;
        }
        #prologue
        #(#statements)*
    };
    let mut typed = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, stream);
    typed.set_span(braces.span());
    typed.into_token_stream()
}

/// Whether an `async` run may take `param` into its future: a parameter without a pattern
/// (a pattern's bindings are made in the future anyway) that no attribute's expression reads
/// (`after = self.limit` is read while the run is pending); reborrowed when `&mut`, and by
/// value when no run borrows it (`no_clone`, a pinned or `Option<&mut _>` one, which each run
/// reborrows).
fn owned_by_the_run(param: &Param) -> bool {
    if param.pattern.is_some() || param.named_by_attributes {
        return false;
    }
    match param.mode {
        Mode::MutRef => true,
        Mode::ByValue => !(param.no_clone || param.pinned || param.optional_mut),
        Mode::SharedRef => false,
    }
}

/// Whether the body's block opens with an inner attribute (`#![..]`).
pub(super) fn opens_with_inner_attribute(body: &TokenStream) -> bool {
    let Some(proc_macro2::TokenTree::Group(braces)) = body.clone().into_iter().next() else {
        return false;
    };
    let mut tokens = braces.stream().into_iter();
    matches!(
        (tokens.next(), tokens.next()),
        (Some(proc_macro2::TokenTree::Punct(hash)), Some(proc_macro2::TokenTree::Punct(bang)))
            if hash.as_char() == '#' && bang.as_char() == '!'
    )
}

/// Whether `pattern` binds anything by `ref mut`.
fn borrows_mutably(pattern: &syn::Pat) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        let mut after_ref = false;
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "mut" && after_ref => true,
            proc_macro2::TokenTree::Ident(ident) => {
                after_ref = ident == "ref";
                false
            }
            proc_macro2::TokenTree::Group(group) => {
                after_ref = false;
                scan(group.stream())
            }
            proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {
                after_ref = false;
                false
            }
        })
    }
    scan(pattern.to_token_stream())
}

/// `&error` as a `&dyn Display` for the runtime's events: its message, or its type's name when
/// it has no `Display`.
fn describe(error: &Ident) -> TokenStream {
    describe_ref(quote!(&#error))
}

/// Like [`describe`], for an expression that is already a reference to the error.
fn describe_ref(error: TokenStream) -> TokenStream {
    quote! {
        &{
            use ::mcpstore_errors::__private::{DescribeDisplay as _, DescribeOther as _};
            (&&::mcpstore_errors::__private::Described(#error)).__mcpstore_describe()
        }
    }
}

/// `call` (of type `ty`, spanned on the user's token at `span`) evaluated in a `const` item of
/// its own, so that a panic in it is a compile error at `span`. Its own even inside another
/// constant: rustc then reports every failing item, where one constant stops at its first
/// panic.
fn evaluated(ty: TokenStream, call: TokenStream, span: Span) -> TokenStream {
    let constant = Ident::new("__MCPSTORE_CHECKED", span);
    quote_spanned!(span=> { const #constant: #ty = #call; #constant })
}

/// `call` in a `const _` item: checked, its value unused.
fn check_item(ty: TokenStream, call: TokenStream, span: Span) -> TokenStream {
    quote_spanned!(span=> const _: #ty = #call;)
}

/// The function that sees an error of the type `observer` (an `Observer`) stands for: what
/// the engines need of it, as much as the type allows (autoref picks the richest impl).
fn see(observer: TokenStream) -> TokenStream {
    quote! {
        {
            use ::mcpstore_errors::__private::{SeeAll as _, SeeClassified as _, SeeDisplayed as _, SeeNothing as _};
            (&&&&#observer).__mcpstore_see()
        }
    }
}

/// How a layer hands a parameter to one run of what it wraps.
fn rebind_for_run(param: &Param, clone: TokenStream) -> Option<TokenStream> {
    let binding = &param.binding;
    let lints = &param.lints;
    let value = match param.mode {
        // Made `mut` by `generate`.
        // `mut`: a layer under this one reborrows it again.
        Mode::ByValue if param.pinned => {
            let value = quote!(::core::pin::Pin::as_mut(&mut #binding));
            return Some(
                quote!(#(#lints)* #[allow(unused_mut)] #ALLOW_ON_COPY let mut #binding = #value;),
            );
        }
        // A `no_clone` one is the hoisted binding itself, which the runs borrow.
        Mode::ByValue if param.optional_mut && !param.no_clone => {
            let value = quote!(::core::option::Option::as_deref_mut(&mut #binding));
            return Some(
                quote!(#(#lints)* #[allow(unused_mut)] #ALLOW_ON_COPY let mut #binding = #value;),
            );
        }
        Mode::ByValue if !param.no_clone => clone,
        Mode::MutRef => quote!(&mut *#binding),
        _ => return None,
    };
    Some(quote!(#(#lints)* #ALLOW_ON_COPY let #binding = #value;))
}

/// On each binding that copies or reborrows a parameter for a run: its shadowing, and its copy
/// of a `_x` the body never reads, are the expansion's, which clippy's `shadow_*` and
/// `no_effect_underscore_binding` would otherwise report as the user's. Not
/// `used_underscore_binding`, judged at the binding: it would hide the body's reads of it.
/// (Spans of the expansion would hide the copy's `unused_variables`, and resolve a parameter a
/// `macro_rules!` named elsewhere.)
pub(super) struct AllowOnCopy;

pub(super) const ALLOW_ON_COPY: AllowOnCopy = AllowOnCopy;

impl quote::ToTokens for AllowOnCopy {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote! {
            #[allow(
                clippy::shadow_same,
                clippy::shadow_reuse,
                clippy::shadow_unrelated,
                clippy::no_effect_underscore_binding
            )]
        });
    }
}

/// `binding`, cloned through the check that names the parameter when it is not `Clone`.
fn resupply(param: &Param) -> TokenStream {
    let binding = &param.binding;
    // The traits are imported by `generate`, once for the function.
    quote::quote_spanned! {param.span=>
        (&&::mcpstore_errors::__private::Owned(&#binding)).__mcpstore_resupply()
    }
}

/// The arguments to pass on to a `with`/`recover` function; `last` moves by-value ones that
/// no attribute's expression reads afterwards.
fn forward_arguments(function: &Function, last: bool) -> Vec<TokenStream> {
    function
        .params
        .iter()
        .map(|param| {
            let binding = &param.binding;
            let moved = last && !param.named_by_attributes;
            match param.mode {
                Mode::ByValue if moved || param.no_clone => binding.to_token_stream(),
                Mode::ByValue if param.pinned => quote!(::core::pin::Pin::as_mut(&mut #binding)),
                Mode::ByValue if param.optional_mut => {
                    quote!(::core::option::Option::as_deref_mut(&mut #binding))
                }
                Mode::ByValue => resupply(param),
                Mode::MutRef => quote!(&mut *#binding),
                Mode::SharedRef => binding.to_token_stream(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;
    use crate::args::Kind;

    #[test]
    fn crate_option_rewrites_every_path_to_the_runtime() {
        let item = quote! {
            fn start(name: &str) -> Result<u32, Error> { other::mcpstore_errors::f(name) }
        };
        let expanded = expand(
            Kind::Retry,
            quote!(crate = deps::errors, max_attempts = 2, delay = "1s"),
            item.clone(),
        )
        .to_string();
        let plain = expand(Kind::Retry, quote!(max_attempts = 2, delay = "1s"), item).to_string();
        assert!(
            plain.contains(":: mcpstore_errors ::"),
            "the default expansion names the runtime: {plain}"
        );
        assert_eq!(
            expanded.matches("mcpstore_errors").count(),
            1,
            "a path left unrewritten (the body's own is the one expected): {expanded}"
        );
        assert!(
            expanded.contains("deps :: errors :: __private"),
            "{expanded}"
        );
        // Not a leading `::mcpstore_errors`: the body's own path is kept.
        assert!(
            expanded.contains("other :: mcpstore_errors :: f"),
            "{expanded}"
        );
        assert!(!expanded.contains("compile_error"), "{expanded}");
    }
}

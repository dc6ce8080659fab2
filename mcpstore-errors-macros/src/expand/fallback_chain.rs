//! `#[fallback]`: the original call, then each strategy in the order written; the original
//! error when every strategy fails.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::literals::{self, Bound};
use super::{describe, forward_arguments, operation, rebind_for_run, resupply};
use crate::args::{FallbackArgs, Strategy};
use crate::func::{Function, Mode};

pub(super) fn expand(function: &Function, args: &FallbackArgs, inner: TokenStream) -> TokenStream {
    let op = operation(function);
    let chain = syn::Lifetime::new("'__mcpstore_chain", Span::mixed_site());
    let run = Ident::new("__mcpstore_run", Span::mixed_site());
    // Strategies after `default` never run: it always succeeds.
    let reachable = match args
        .strategies
        .iter()
        .position(|s| matches!(s, Strategy::Default { .. }))
    {
        Some(default) => &args.strategies[..=default],
        None => &args.strategies[..],
    };
    let last_forwarding = reachable
        .iter()
        .rposition(|s| matches!(s, Strategy::With { .. } | Strategy::Recover { .. }));
    // Typed from the signature, for the same reason as in the other layers.
    let ret = function.ret_for_inference();

    // The original call gets its own copies when a strategy needs the arguments afterwards;
    // each is marked used, since the strategy reads the argument even where the body does not.
    let rebind: Vec<_> = if last_forwarding.is_some() {
        function
            .params
            .iter()
            .filter_map(|param| {
                let copy = rebind_for_run(param, resupply(param))?;
                let binding = &param.binding;
                let used = param
                    .forwarded_unmarked()
                    .then(|| quote!(let _ = &#binding;));
                Some(quote!(#copy #used))
            })
            .collect()
    } else {
        Vec::new()
    };

    let described = describe(&Ident::new("__mcpstore_error", Span::call_site()));
    let failure = describe(&Ident::new("__mcpstore_failure", Span::call_site()));
    let mut cache_setup = TokenStream::new();
    let mut on_success = TokenStream::new();
    let mut steps = Vec::new();
    let mut error_ref = TokenStream::new();
    for (index, strategy) in reachable.iter().enumerate() {
        let forward = |extra: Option<TokenStream>| {
            let mut arguments = forward_arguments(function, Some(index) == last_forwarding);
            arguments.extend(extra);
            arguments
        };
        match strategy {
            Strategy::Cache {
                key,
                ttl,
                capacity,
                by,
            } => {
                let ttl = ttl.as_ref().map_or_else(
                    || quote!(::mcpstore_errors::__private::DEFAULT_CACHE_TTL),
                    |ttl| {
                        literals::checked_duration(
                            literals::DurationBound::CacheTtl,
                            ttl,
                            key.span(),
                        )
                    },
                );
                let capacity = capacity.as_ref().map_or_else(
                    || quote!(::mcpstore_errors::__private::DEFAULT_CACHE_CAPACITY),
                    |capacity| literals::checked(Bound::CacheCapacity, capacity),
                );
                let cache_key = cache_key(function, by.as_deref());
                // The names are the call site's, so later steps find them however `cache` came
                // in (a `macro_rules!` argument has its own hygiene).
                let cache = quote_spanned!(key.span()=> ::mcpstore_errors::__private::FnCache);
                cache_setup = quote! {
                    static __MCPSTORE_CACHE: #cache = ::mcpstore_errors::__private::FnCache::new(#ttl, #capacity);
                    let __mcpstore_key = #cache_key;
                };
                on_success = quote!(__MCPSTORE_CACHE.store(__mcpstore_key, &__mcpstore_value););
                steps.push(quote! {
                    if let ::core::option::Option::Some(__mcpstore_value) = #run.cache(__MCPSTORE_CACHE.lookup(&__mcpstore_key), #described) {
                        break #chain ::core::result::Result::Ok(__mcpstore_value);
                    }
                });
            }
            Strategy::Default { key, value } => {
                let value = match value {
                    // In a closure called at once: a value that diverges (`todo!()`) then
                    // leaves no code of the expansion's unreachable, and needs no `allow`.
                    // The closure is the expansion's own (call-site spans): lints such as
                    // clippy's `redundant_closure` are not the user's to fix.
                    // Its type named from the function's: a value of another is reported at
                    // the value.
                    Some(value) if !controls_flow(value.to_token_stream()) => {
                        quote!(::mcpstore_errors::__private::value_of::<#ret, _>(|| #value))
                    }
                    Some(value) => quote_spanned!(value.span()=> #value),
                    // At `default` (a type that has none is reported there), resolved as the
                    // expansion's: clippy's `absolute_paths` is not the user's to fix.
                    None => {
                        let span = key.span().resolved_at(Span::call_site());
                        quote_spanned!(span=> ::core::default::Default::default())
                    }
                };
                // The error is handed over, to be dropped out of line. Mixed-site: `value` may
                // name a variable of the user's called the same.
                let describe = Ident::new("__mcpstore_describe", Span::mixed_site());
                steps.push(quote! {
                    let #describe = {
                        use ::mcpstore_errors::__private::{DescribeDisplay as _, DescribeOther as _};
                        (&&::mcpstore_errors::__private::Described(&__mcpstore_error)).__mcpstore_describer()
                    };
                    break #chain ::core::result::Result::Ok(
                        #run.default_for(#value, __mcpstore_error, #describe)
                    );
                });
            }
            Strategy::With {
                key,
                function: path,
            }
            | Strategy::Recover {
                key,
                function: path,
            } => {
                if let Strategy::Recover { .. } = strategy {
                    // Named with the path's span, where the call uses it: the same hygiene
                    // whether or not a `macro_rules!` forwarded the attribute.
                    let named = Ident::new("__mcpstore_error_ref", path.span());
                    error_ref = quote!(let #named = &__mcpstore_error;);
                }
                let (name, extra) = match strategy {
                    Strategy::With { .. } => ("with", None),
                    _ => (
                        "recover",
                        Some({
                            let named = Ident::new("__mcpstore_error_ref", path.span());
                            quote_spanned!(path.span()=> &*#named)
                        }),
                    ),
                };
                let arguments = forward(extra);
                // A path is called as written; any other expression (a closure) in parentheses
                // of the expansion's own, so that calling it where it is written is not the
                // user's `redundant_closure_call` to fix.
                let callee = match path {
                    syn::Expr::Path(_) => path.to_token_stream(),
                    _ => quote!((#path)),
                };
                let call = quote_spanned!(path.span()=> #callee(#(#arguments),*));
                // Spanned on the path: a value of another type is reported there.
                let value = Ident::new("__mcpstore_value", path.span());
                let outcome = if function.shape.is_async() {
                    awaited_step(&call, path, key, &ret)
                } else {
                    call
                };
                steps.push(quote! {
                    match #outcome {
                        ::core::result::Result::Ok(#value) => {
                            #run.served(#name, #described);
                            break #chain ::core::result::Result::Ok(#value);
                        }
                        ::core::result::Result::Err(__mcpstore_failure) => #run.failed(#name, #failure),
                    }
                });
            }
        }
    }
    let ends_in_default = matches!(reachable.last(), Some(Strategy::Default { .. }));
    let exhausted = (!ends_in_default).then(|| {
        quote! {
            #run.exhausted(#described);
            ::core::result::Result::Err(__mcpstore_error)
        }
    });

    // Only a `default = expr` may diverge (`default = todo!()`), and one evaluated in place
    // (it uses `?`, `.await`, `return`..., which a closure would change) leaves the
    // expansion's code after it unreachable: allowed there alone, so that a crate that forbids
    // the lint can use every other form.
    let diverging = reachable
        .iter()
        .any(|strategy| {
            matches!(strategy, Strategy::Default { value: Some(value), .. }
                if controls_flow(value.to_token_stream()))
        })
        .then(|| quote!(#[allow(unreachable_code, clippy::diverging_sub_expression)]));
    quote! {
        {
            #cache_setup
            let __mcpstore_primary: #ret = { #(#rebind)* #inner };
            match __mcpstore_primary {
                ::core::result::Result::Ok(__mcpstore_value) => {
                    #on_success
                    ::core::result::Result::Ok(__mcpstore_value)
                }
                #diverging
                ::core::result::Result::Err(__mcpstore_error) => #chain: {
                    #error_ref
                    let #run = ::mcpstore_errors::__private::FallbackRun::new(#op.name());
                    #(#steps)*
                    #exhausted
                }
            }
        }
    }
}

/// The outcome of a `with` or `recover` step of an `async fn`: `call` returns either the
/// function's `Result` (a sync alternative, served as is) or a future of it (awaited), told
/// apart by type in the runtime. Anything else is a compile error spanning `path`, from its
/// first token to its last, by the check named after `key` (so that it names the key).
fn awaited_step(call: &TokenStream, path: &syn::Expr, key: &Ident, ret: &syn::Type) -> TokenStream {
    let mut tokens = path.to_token_stream().into_iter().map(|tree| tree.span());
    let first = tokens.next().unwrap_or_else(Span::call_site);
    let last = tokens.last().unwrap_or(first);
    // The checked argument is a field of a one-field tuple: a name on the path's first token,
    // the field on its last, so that the error spans the path (the expansion's own spans would
    // widen it to the whole attribute).
    let returned = Ident::new("__mcpstore_returned", first);
    let kind = Ident::new("__mcpstore_step", first);
    let output = Ident::new("__mcpstore_output", first);
    let field = syn::Index {
        index: 0,
        span: last,
    };
    quote! {
        match (#call,) {
            #returned => {
                let #kind = {
                    use ::mcpstore_errors::__private::{StepFuture as _, StepNeither as _, StepReady as _};
                    (&&&::mcpstore_errors::__private::StepOf::<#ret, _>::of(&#returned.0)).__mcpstore_step_kind()
                };
                match (#kind.step(#returned.0).await,) {
                    #output => #kind.#key(#output.#field),
                }
            }
        }
    }
}

/// The expression of a call's cache key, compared by `Eq` when looked up:
/// - the instantiation: the type of a closure written in the body, which carries every generic
///   parameter in scope, so `Self`, the impl's and the function's parameters are all in the key
///   even for an associated function, where the attribute cannot tell whether `Self` exists;
/// - the instance of a method with a borrowed or smart-pointer receiver: its `CacheIdentity`,
///   else an owned copy (never its address, which a later instance may reuse); only its
///   `CacheIdentity` when the method takes it mutably, and may change it;
/// - every other argument (a by-value `self` included): its `CacheIdentity`, else an owned copy
///   (`String` for `&str`, `(String, u32)` for `(&str, u32)`);
/// - with `key = ..`, that expression's value, keyed as an argument is, in place of the
///   arguments, which it then need not be able to key; a by-value `self` stays, as the instance.
fn cache_key(function: &Function, by: Option<&syn::Expr>) -> TokenStream {
    let mut instance = quote!(());
    let mut arguments = Vec::new();
    for param in &function.params {
        if by.is_some() && !param.is_self {
            continue;
        }
        let binding = &param.binding;
        // `Pin<&mut Self>` is passed by value, but changes the instance all the same.
        if param.is_self && (param.mode == Mode::MutRef || param.pinned) {
            instance = quote_spanned! {param.span=>
                ::mcpstore_errors::__private::key_changing_instance::<Self>(&#binding)
            };
        } else if param.is_self && !param.self_by_value {
            instance = quote_spanned! {param.span=>
                ::mcpstore_errors::__private::key_instance({
                    use ::mcpstore_errors::__private::key_sources::*;
                    (&&&&&::mcpstore_errors::__private::Argument::<Self>::of(&#binding)).__mcpstore_key_source()
                })
            };
        } else {
            let argument = match param.mode {
                Mode::ByValue => quote_spanned!(param.span=> &#binding),
                Mode::SharedRef | Mode::MutRef => quote_spanned!(param.span=> &*#binding),
            };
            let part = quote_spanned! {param.span=>
                ::mcpstore_errors::__private::key_argument({
                    use ::mcpstore_errors::__private::key_sources::*;
                    (&&&&&::mcpstore_errors::__private::Argument::of(#argument)).__mcpstore_key_source()
                })
            };
            match by {
                Some(_) => instance = part,
                None => arguments.push(quote!(#part,)),
            }
        }
    }
    if let Some(by) = by {
        arguments.push(key_expression(by));
    }
    quote!(::mcpstore_errors::__private::FnCache::key(&|| {}, #instance, (#(#arguments)*)))
}

/// The key part of `key = by`: borrowed where it is written (`key = request.id` moves nothing),
/// then turned owned as an argument is. A key that cannot be kept is one compile error spanning
/// `by`, from its first token to its last (a name on the first, the field on the last).
fn key_expression(by: &syn::Expr) -> TokenStream {
    let mut tokens = by.to_token_stream().into_iter().map(|tree| tree.span());
    let first = tokens.next().unwrap_or_else(Span::call_site);
    let last = tokens.last().unwrap_or(first);
    let source = Ident::new("__mcpstore_key_source", first);
    let field = syn::Index {
        index: 0,
        span: last,
    };
    // Each call spans the expression too: the unknown key type the last returns then reports
    // the same error there, which the compiler shows once, and a key that borrows from the
    // call (which only the borrow checker sees) is reported there rather than at the attribute.
    let in_parens = |tokens: TokenStream| {
        let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, tokens);
        group.set_span(last);
        group
    };
    let wrapped = quote_spanned!(first=> (&&&&&::mcpstore_errors::__private::Argument::of(&(#by))));
    let method = Ident::new("__mcpstore_key_source", last);
    let no_arguments = in_parens(TokenStream::new());
    let source_call = quote!(#wrapped.#method #no_arguments);
    let callee = quote_spanned!(first=> ::mcpstore_errors::__private::key_expression);
    let key_call = in_parens(quote!(#source.#field));
    quote! {{
        use ::mcpstore_errors::__private::key_sources::*;
        match (#source_call,) {
            #source => #callee #key_call,
        }
    },}
}

/// Whether `tokens` use `?`, `.await`, `return`, `break`, `continue` or `yield`, whose meaning a
/// closure around them would change.
fn controls_flow(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Punct(punct) => punct.as_char() == '?',
        proc_macro2::TokenTree::Ident(ident) => ["await", "return", "break", "continue", "yield"]
            .iter()
            .any(|word| ident == word),
        proc_macro2::TokenTree::Group(group) => controls_flow(group.stream()),
        proc_macro2::TokenTree::Literal(_) => false,
    })
}

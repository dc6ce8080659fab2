//! `#[circuit_breaker]`: a permit from the service's breaker before the call, the outcome
//! recorded after it; a rejected call fails at once with a `CircuitOpen` error. Each call site
//! keeps its last breaker per thread, so the registry is searched only when it changed.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::BreakerArgs;
use crate::func::Function;

pub(super) fn expand(function: &Function, args: &BreakerArgs, inner: TokenStream) -> TokenStream {
    let ret = function.ret_for_inference();
    let see = super::see(quote!(::mcpstore_errors::__private::observer(
        &__mcpstore_outcome
    )));
    // Bound by `let` at the call's level, so that a temporary (`self.name()`, `format!(..)`)
    // lives as long as the call.
    let service_value = args
        .service
        .get()
        .map(|service| quote_spanned!(service.span()=> let __mcpstore_service_value = &#service;));
    let service = args.service.get().map(|service| {
        quote_spanned!(service.span()=> {
            let __mcpstore_service: &str = ::core::convert::AsRef::as_ref(__mcpstore_service_value);
            __mcpstore_service
        })
    });
    let registry = match args.registry.get() {
        Some(registry) => quote_spanned! {registry.span()=>
            { let __mcpstore_registry: &::mcpstore_errors::BreakerRegistry = #registry; __mcpstore_registry }
        },
        None => quote!(::mcpstore_errors::breakers()),
    };
    // The site's cache hands a sync call a borrowed breaker; a future keeps a handle of its own
    // (it may move between threads).
    let lookup = if function.shape.is_async() {
        quote!(site_breaker_owned)
    } else {
        quote!(site_breaker)
    };
    // Located at the error type, where one that cannot hold the refusal is reported, but
    // resolved as the expansion's own code. A `Result` written out gives its error type (its
    // success type may be an `impl Trait`), an alias the whole return type.
    let (result, at_error_type) = match function.err_type() {
        Some(error) => (quote!(::core::result::Result<(), #error>), error.span()),
        None => (ret.to_token_stream(), function.ret.span()),
    };
    let refuse = quote_spanned! {Span::call_site().located_at(at_error_type)=>
        (&&::mcpstore_errors::__private::refusal_of::<#result>()).__mcpstore_refuse()
    };
    quote! {
        {
            #service_value
            let __mcpstore_breaker = {
                ::std::thread_local! {
                    static __MCPSTORE_BREAKER_SITE: ::mcpstore_errors::__private::BreakerSite =
                        const { ::mcpstore_errors::__private::BreakerSite::new() };
                }
                ::mcpstore_errors::__private::#lookup(&__MCPSTORE_BREAKER_SITE, #registry, #service)
            };
            match __mcpstore_breaker.try_acquire() {
                ::core::result::Result::Err(__mcpstore_open) => {
                    let __mcpstore_refuse = {
                        use ::mcpstore_errors::__private::{RefuseNever as _, RefuseWith as _};
                        #refuse
                    };
                    ::core::result::Result::Err(__mcpstore_refuse(__mcpstore_open))
                }
                ::core::result::Result::Ok(__mcpstore_permit) => {
                    let __mcpstore_outcome: #ret = #inner;
                    match &__mcpstore_outcome {
                        ::core::result::Result::Ok(_) => __mcpstore_permit.success(),
                        ::core::result::Result::Err(__mcpstore_error) => {
                            let __mcpstore_seen = #see(__mcpstore_error);
                            __mcpstore_permit.failure(__mcpstore_seen.kind, __mcpstore_seen.suggested);
                        }
                    }
                    __mcpstore_outcome
                }
            }
        }
    }
}

//! `#[timeout]`: the call raced against a timer; dropped and failed as `ServiceTimeout` when
//! the timer wins.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::operation;
use crate::args::TimeoutArgs;
use crate::func::Function;

pub(super) fn expand(function: &Function, args: &TimeoutArgs, inner: TokenStream) -> TokenStream {
    let after = match (args.after.get(), args.after.key_span()) {
        (Some(after), Some(key)) => {
            super::literals::checked_duration(super::literals::DurationBound::Timeout, after, key)
        }
        _ => quote!(::core::time::Duration::ZERO),
    };
    let timer = match args.sleeper.get() {
        Some(sleeper) => quote_spanned! {sleeper.span()=>
            |__mcpstore_timeout| ::mcpstore_errors::Sleeper::sleep_async(&*#sleeper, __mcpstore_timeout)
        },
        None => quote! {
            |__mcpstore_timeout| ::mcpstore_errors::Sleeper::sleep_async(&::mcpstore_errors::RealSleeper, __mcpstore_timeout)
        },
    };
    race(function, after, timer, inner)
}

/// `inner` raced against `timer(after)`, failing with the function's error type.
pub(super) fn race(
    function: &Function,
    after: TokenStream,
    timer: TokenStream,
    inner: TokenStream,
) -> TokenStream {
    let op = operation(function);
    let ret = function.ret_for_inference();
    quote! {
        match ::mcpstore_errors::race_timeout(async { #inner }, #after, #timer).await {
            ::core::result::Result::Ok(__mcpstore_outcome) => __mcpstore_outcome,
            ::core::result::Result::Err(__mcpstore_elapsed) => {
                let __mcpstore_outcome: #ret = ::core::result::Result::Err(
                    ::mcpstore_errors::__private::timed_out(__mcpstore_elapsed, #op),
                );
                __mcpstore_outcome
            }
        }
    }
}

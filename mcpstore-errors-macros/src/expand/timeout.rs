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
    let sleeper = match args.sleeper.get() {
        Some(sleeper) => quote_spanned! {sleeper.span()=>
            ::mcpstore_errors::__private::sleeper_of(&*#sleeper)
        },
        None => quote!(&::mcpstore_errors::RealSleeper),
    };
    race(function, after, sleeper, inner)
}

/// `inner` raced against a timer of `sleeper` (a reference to one) for `after`, failing with
/// the function's error type.
pub(super) fn race(
    function: &Function,
    after: TokenStream,
    sleeper: TokenStream,
    inner: TokenStream,
) -> TokenStream {
    let op = operation(function);
    let ret = function.ret_for_inference();
    quote! {
        match ::mcpstore_errors::race_timeout_with(async { #inner }, #after, #sleeper).await {
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

//! `#[timeout]`: the call raced against a timer; dropped and failed as `ServiceTimeout` when
//! the timer wins.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::operation;
use crate::args::TimeoutArgs;
use crate::func::Function;

/// `in_retry` when a `#[retry]` encloses it: its loop is told of a lapse, for an error type
/// that does not say it timed out.
pub(super) fn expand(
    function: &Function,
    args: &TimeoutArgs,
    in_retry: bool,
    inner: TokenStream,
) -> TokenStream {
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
    let on_lapse = match in_retry {
        true => super::retry::mark_lapsed(),
        false => TokenStream::new(),
    };
    race(function, after, sleeper, on_lapse, inner)
}

/// `inner` raced against a timer of `sleeper` (a reference to one) for `after`, failing with
/// the function's error type: one made from a `ServiceTimeout` `McpStoreError`, or an
/// `io::Error`; another type is refused. `on_lapse` runs when the timer wins.
pub(super) fn race(
    function: &Function,
    after: TokenStream,
    sleeper: TokenStream,
    on_lapse: TokenStream,
    inner: TokenStream,
) -> TokenStream {
    let op = operation(function);
    let ret = function.ret_for_inference();
    // Located at the return type, where an error type that cannot time out is reported, but
    // resolved as the expansion's own code: it names the expansion's local.
    let at_return_type = Span::call_site().located_at(function.ret.span());
    let timeout_error = quote_spanned! {at_return_type=>
        (&&&::mcpstore_errors::__private::timeout_of(&__mcpstore_attempt)).__mcpstore_timeout_error()
    };
    quote! {{
        let __mcpstore_attempt = ::mcpstore_errors::__private::attempt_async::<#ret, _>(async { #inner });
        let __mcpstore_timeout_error = {
            use ::mcpstore_errors::__private::{TimeoutErrorFromStore as _, TimeoutErrorIo as _, TimeoutErrorRefused as _};
            #timeout_error
        };
        match ::mcpstore_errors::race_timeout_with(__mcpstore_attempt, #after, #sleeper).await {
            ::core::result::Result::Ok(__mcpstore_outcome) => __mcpstore_outcome,
            ::core::result::Result::Err(__mcpstore_elapsed) => {
                #on_lapse
                ::core::result::Result::Err(__mcpstore_timeout_error(__mcpstore_elapsed, #op.name()))
            }
        }
    }}
}

//! `#[collect_errors]`: one run, and the error that escapes it recorded before it is returned.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{local, operation};
use crate::args::CollectArgs;
use crate::func::Function;

pub(super) fn expand(function: &Function, args: &CollectArgs, inner: TokenStream) -> TokenStream {
    let op = operation(function);
    let collector = match args.collector.get() {
        Some(collector) => {
            let binding = local("__mcpstore_collector", collector.span());
            quote_spanned! {collector.span()=>
                let #binding: &::mcpstore_errors::ErrorCollector = #collector;
            }
        }
        None => quote! {
            let __mcpstore_collector: &::mcpstore_errors::ErrorCollector = ::mcpstore_errors::global_collector();
        },
    };
    let context = match args.context.get() {
        Some(object) => quote! {
            {
                // `json!` calls `.into()`; this keeps it working where the prelude is not.
                use ::core::convert::Into as _;
                ::mcpstore_errors::__private::serde_json::json!(#object)
            }
        },
        None => quote!(::mcpstore_errors::__private::serde_json::Value::Null),
    };
    // Typed from the signature: an inner layer that never fails (a `default`) leaves the error
    // type to inference, too late for the dispatch between `Error` and `Display`.
    let ret = function.ret_for_inference();
    quote! {
        {
            let __mcpstore_outcome: #ret = #inner;
            if let ::core::result::Result::Err(__mcpstore_error) = &__mcpstore_outcome {
                #collector
                {
                    use ::mcpstore_errors::__private::{CollectDisplay as _, CollectError as _};
                    (&&::mcpstore_errors::__private::Collected(__mcpstore_error))
                        .collect_into(__mcpstore_collector, #op, #context);
                }
            }
            __mcpstore_outcome
        }
    }
}

//! `#[collect_errors]`: one run, and the error that escapes it recorded before it is returned.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::operation;
use crate::args::CollectArgs;
use crate::func::Function;

pub(super) fn expand(function: &Function, args: &CollectArgs, inner: TokenStream) -> TokenStream {
    let op = operation(function);
    let collector = match args.collector.get() {
        Some(collector) => {
            let collector = quote_spanned!(collector.span()=> #collector);
            quote! {
                let __mcpstore_collector: &::mcpstore_errors::ErrorCollector = #collector;
            }
        }
        None => quote! {
            let __mcpstore_collector: &::mcpstore_errors::ErrorCollector = ::mcpstore_errors::global_collector();
        },
    };
    let context = match args.context.get() {
        // Built once, from its JSON text, by the runtime.
        Some(object) if crate::json::literal_json(object).is_some() => {
            let text = crate::json::literal_json(object).unwrap_or_default();
            quote! {
                {
                    static __MCPSTORE_CONTEXT: ::std::sync::OnceLock<::mcpstore_errors::__private::serde_json::Value> =
                        ::std::sync::OnceLock::new();
                    ::mcpstore_errors::__private::literal_context(&__MCPSTORE_CONTEXT, #text)
                }
            }
        }
        Some(object) => {
            // Spanned on the object: a malformed one is reported there, not on the attribute.
            let json = quote_spanned!(object.span()=> ::mcpstore_errors::__private::serde_json::json!(#object));
            quote! {
                {
                    // `json!` calls `.into()`; this keeps it working where the prelude is not.
                    use ::core::convert::Into as _;
                    #json
                }
            }
        }
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
                    use ::mcpstore_errors::__private::{CollectClassified as _, CollectDisplay as _, CollectErased as _, CollectError as _};
                    (&&&&::mcpstore_errors::__private::Collected(__mcpstore_error))
                        .__mcpstore_collect_into(__mcpstore_collector, #op.name(), ::core::convert::Into::into(#context));
                }
            }
            __mcpstore_outcome
        }
    }
}

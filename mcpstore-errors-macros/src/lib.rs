//! Attribute macros for `mcpstore-errors`. Use them through that crate, which re-exports them
//! with their documentation.

mod args;
mod duration;
mod errors;
mod expand;
mod func;
mod json;
mod valid;

use proc_macro::TokenStream;

use args::Kind;

// Documented where it is re-exported: `mcpstore_errors::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Retry, args.into(), item.into()).into()
}

// Documented where it is re-exported: `mcpstore_errors::fallback`.
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Fallback, args.into(), item.into()).into()
}

// Documented where it is re-exported: `mcpstore_errors::collect_errors`.
#[proc_macro_attribute]
pub fn collect_errors(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::CollectErrors, args.into(), item.into()).into()
}

// Documented where it is re-exported: `mcpstore_errors::circuit_breaker`.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::CircuitBreaker, args.into(), item.into()).into()
}

// Documented where it is re-exported: `mcpstore_errors::timeout`.
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Timeout, args.into(), item.into()).into()
}

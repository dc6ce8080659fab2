//! Names the runtime resolves (error kinds, strategies, jitters): this crate knows none of
//! them. Each becomes a call of `__private::names`, spanned on the user's token, evaluated as
//! a constant (inside one already, or in a `const` item of its own), so an unknown name fails
//! the build there, with the runtime's list of valid ones.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::Ident;
use syn::ext::IdentExt;

use crate::args::{JitterValue, Layer, RetryArgs};

#[derive(Clone, Copy)]
pub(super) enum Table {
    ErrorKind,
    Strategy,
    Jitter,
}

impl Table {
    fn function(self, name: &Ident) -> Ident {
        let function = match self {
            Table::ErrorKind => "error_kind",
            Table::Strategy => "strategy",
            Table::Jitter => "jitter",
        };
        Ident::new(function, name.span())
    }

    fn ty(self, name: &Ident) -> TokenStream {
        match self {
            Table::ErrorKind => quote_spanned!(name.span()=> ::mcpstore_errors::ErrorKind),
            Table::Strategy => quote_spanned!(name.span()=> ::mcpstore_errors::RetryStrategy),
            Table::Jitter => quote_spanned!(name.span()=> ::mcpstore_errors::Jitter),
        }
    }

    /// `names::error_kind("Connection")`, spanned on `name`.
    fn call(self, name: &Ident) -> TokenStream {
        let function = self.function(name);
        let text = syn::LitStr::new(&name.unraw().to_string(), name.span());
        quote_spanned!(name.span()=> ::mcpstore_errors::__private::names::#function(#text))
    }
}

/// The value `name` stands for, as a constant expression.
pub(super) fn resolve(table: Table, name: &Ident) -> TokenStream {
    super::evaluated(table.ty(name), table.call(name), name.span())
}

/// `strategy = name` as a constant. Beside `backoff = ..` it also passes through the
/// runtime's check that the strategy has a factor, spanned on `backoff`.
pub(super) fn strategy(args: &RetryArgs) -> Option<TokenStream> {
    let (ty, call, span) = strategy_call(args)?;
    Some(super::evaluated(ty, call, span))
}

fn strategy_call(args: &RetryArgs) -> Option<(TokenStream, TokenStream, proc_macro2::Span)> {
    let name = args.strategy.get()?;
    let (ty, call) = (Table::Strategy.ty(name), Table::Strategy.call(name));
    Some(match args.backoff.key_span() {
        Some(backoff) => (
            ty,
            quote_spanned!(backoff=> ::mcpstore_errors::__private::literals::grown_by_backoff(#call)),
            backoff,
        ),
        None => (ty, call, name.span()),
    })
}

/// For a stack that is not expanded because of other errors: `const _` items that still check
/// every name, so that one build reports all the problems.
pub(super) fn checks(layers: &[Layer]) -> TokenStream {
    let mut checks = TokenStream::new();
    for layer in layers {
        let Layer::Retry(args) = layer else { continue };
        let kinds = args.on.get().into_iter().flatten();
        if let Some((ty, call, span)) = strategy_call(args) {
            checks.extend(super::check_item(ty, call, span));
        }
        let named = kinds
            .map(|kind| (Table::ErrorKind, kind))
            .chain(match args.jitter.get() {
                Some(JitterValue::Named(name)) => Some((Table::Jitter, name)),
                _ => None,
            });
        for (table, name) in named {
            checks.extend(super::check_item(
                table.ty(name),
                table.call(name),
                name.span(),
            ));
        }
    }
    checks
}

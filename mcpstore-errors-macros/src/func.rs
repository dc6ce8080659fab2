//! The annotated function, seen the way the expansion needs it: its shape (sync, `async fn`,
//! or an `#[async_trait]` method), its `Result` type, and how each parameter reaches an attempt.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, FnArg, GenericArgument, Ident, Pat, PathArguments, ReceiverKind,
    ReturnType, Signature, Type, TypeParamBound, Visibility,
};

use crate::errors::Errors;

/// The item as written, before any check: enough to emit it again unchanged.
pub(crate) struct RawFunction {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: TokenStream,
}

impl Parse for RawFunction {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig: Signature = input.parse()?;
        if input.peek(syn::Token![;]) {
            return Err(input.error("these attributes need a function with a body"));
        }
        // The body stays raw tokens when it does not parse, so that the compiler reports its
        // own error and the rest of the crate still sees the function.
        let mut body: TokenTree = input.parse()?;
        // A `$body:block` of `macro_rules!` arrives wrapped in an invisible group.
        while let TokenTree::Group(group) = &body {
            if group.delimiter() != proc_macro2::Delimiter::None {
                break;
            }
            let mut inner = group.stream().into_iter();
            match (inner.next(), inner.next()) {
                (Some(only), None) => body = only,
                _ => break,
            }
        }
        match &body {
            TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Brace => {}
            _ => return Err(syn::Error::new(body.span(), "expected the function body")),
        }
        Ok(RawFunction {
            attrs,
            vis,
            sig,
            body: body.into(),
        })
    }
}

impl ToTokens for RawFunction {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

/// How the body runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Sync,
    Async,
    /// `fn f(..) -> Pin<Box<dyn Future<Output = R> + ..>> { Box::pin(async move { .. }) }`,
    /// what `#[async_trait]` makes of an `async fn`.
    AsyncTrait,
}

impl Shape {
    pub(crate) fn is_async(self) -> bool {
        self != Shape::Sync
    }
}

/// How a parameter reaches each attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Moved in: cloned for each attempt unless exempted.
    ByValue,
    /// `&mut T`: reborrowed for each attempt.
    MutRef,
    /// `&T`: copied.
    SharedRef,
}

/// How a parameter of type `ty` reaches each attempt, and whether it is a `Pin<&mut T>`,
/// which is moved in but reborrowed (`Pin::as_mut`) rather than cloned.
fn mode_of(ty: &Type) -> (Mode, bool) {
    match ungrouped(ty) {
        Type::Reference(reference) if reference.mutability.is_some() => (Mode::MutRef, false),
        Type::Reference(_) => (Mode::SharedRef, false),
        other => (Mode::ByValue, is_pin_mut(other)),
    }
}

/// `ty` without the groups and parentheses around it (`$t:ty` of `macro_rules!` arrives as a
/// group).
fn ungrouped(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => ungrouped(&group.elem),
        Type::Paren(paren) => ungrouped(&paren.elem),
        ty => ty,
    }
}

/// Whether `ty` can be written again elsewhere in the function (as a type argument) and mean
/// the same: no references, lifetimes, `impl Trait`, `_` or macros, whose meaning depends on
/// where they are written.
fn writable_anywhere(ty: &Type) -> bool {
    struct Check(bool);
    impl VisitMut for Check {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            match ty {
                Type::Reference(_)
                | Type::ImplTrait(_)
                | Type::Infer(_)
                | Type::Macro(_)
                | Type::FnPtr(_)
                | Type::TraitObject(_)
                | Type::Verbatim(_) => self.0 = false,
                _ => visit_mut::visit_type_mut(self, ty),
            }
        }
        fn visit_lifetime_mut(&mut self, _: &mut syn::Lifetime) {
            self.0 = false;
        }
    }
    let mut check = Check(true);
    check.visit_type_mut(&mut ty.clone());
    check.0
}

/// How a receiver reaches each attempt, whether it is pinned, and whether it is `self` by value
/// (`Self`); `None` for a form of receiver this crate does not know yet.
fn receiver_mode(kind: &ReceiverKind) -> Option<(Mode, bool, bool)> {
    Some(match kind {
        ReceiverKind::Value => (Mode::ByValue, false, true),
        ReceiverKind::Reference(_, _, Some(_)) => (Mode::MutRef, false, false),
        ReceiverKind::Reference(_, _, None) => (Mode::SharedRef, false, false),
        ReceiverKind::Typed(_, ty) => {
            let self_by_value = matches!(&**ty,
                Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"));
            let (mode, pinned) = mode_of(ty);
            (mode, pinned, self_by_value)
        }
        _ => return None,
    })
}

/// `Pin<&mut T>`, however the path to `Pin` is spelled.
fn is_pin_mut(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    last.ident == "Pin"
        && single_type_argument(&last.arguments)
            .is_some_and(|pointer| matches!(mode_of(pointer), (Mode::MutRef, _)))
}

/// Whether `ty` is `Option<&mut T>`.
fn is_option_mut(ty: &Type) -> bool {
    let Type::Path(path) = ungrouped(ty) else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    last.ident == "Option"
        && single_type_argument(&last.arguments)
            .is_some_and(|inner| matches!(mode_of(inner), (Mode::MutRef, _)))
}

pub(crate) struct Param {
    /// The name the function binds it to (`self` for a reference receiver).
    pub(crate) binding: Ident,
    /// The pattern the body expects when it differs from `binding` (`mut x`, `(a, b)`).
    pub(crate) pattern: Option<Pat>,
    pub(crate) mode: Mode,
    pub(crate) is_self: bool,
    /// A receiver that is `Self` itself (`self`, `mut self`, `self: Self`), not a reference or
    /// a smart pointer to it.
    pub(crate) self_by_value: bool,
    /// Not cloned: the body only borrows it.
    pub(crate) no_clone: bool,
    /// A `Pin<&mut T>` (`self: Pin<&mut Self>` included): reborrowed with `Pin::as_mut` for
    /// each run, from a binding made `mut` once before the layers.
    pub(crate) pinned: bool,
    /// An `Option<&mut T>`: reborrowed with `Option::as_deref_mut` for each run, from a
    /// binding made `mut` once before the layers, as a `&mut T` is reborrowed.
    pub(crate) optional_mut: bool,
    /// Where diagnostics about it point.
    pub(crate) span: Span,
    /// Its type, when a run can take it as an argument instead of capturing it: by value or
    /// a shared reference, and otherwise written without references, lifetimes, `impl Trait`
    /// or `_`.
    pub(crate) argument_type: Option<Type>,
    /// An attribute's expression names it, so no layer may move it: an outer layer, or a
    /// later step of the same one, reads it after the runs.
    pub(crate) named_by_attributes: bool,
    /// Passed on to a `#[fallback(with = ..)]` or `recover` function: read outside the body,
    /// so a run's copy the body never reads is marked used.
    pub(crate) forwarded: bool,
    /// A `#[cfg]` or `#[cfg_attr]` on it, which the layers that copy parameters refuse.
    pub(crate) cfg: Option<Span>,
    /// Lint levels written on it (`#[allow(unused_variables)]`..), given to each run's copy.
    pub(crate) lints: Vec<Attribute>,
}

/// The function ready to be expanded.
pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    /// The signature, with parameter patterns reduced to plain names.
    pub(crate) sig: Signature,
    pub(crate) body: TokenStream,
    pub(crate) shape: Shape,
    /// The `Result<T, E>` type a call produces, possibly through an alias.
    pub(crate) ret: Type,
    pub(crate) params: Vec<Param>,
    /// A by-value `self`, renamed in the body to this binding.
    pub(crate) self_binding: Option<Ident>,
}

impl Param {
    /// Whether `name` names this parameter (`self` the receiver).
    fn is_named(&self, name: &Ident) -> bool {
        // A by-value `self` is renamed in attribute arguments too (`no_clone = [self]`).
        if name == "self" || name == RENAMED_SELF {
            self.is_self
        } else {
            !self.is_self && &self.binding == name
        }
    }

    /// Whether the binding is made `mut` once, before the layers, so that every run borrows
    /// it: a pinned reference (reborrowed per run), or a `mut` parameter exempt from cloning
    /// (`no_clone = [f]` with `mut f: impl FnMut()`), which a run must not move.
    pub(crate) fn hoisted_mut(&self) -> bool {
        self.pinned || self.optional_mut || (self.no_clone && self.plain_mut_pattern())
    }

    /// Passed on to a fallback's function, under a name the compiler would call unused if the
    /// body never read it (a `_name` it never calls unused, and reading it would draw clippy's
    /// `used_underscore_binding`).
    pub(crate) fn forwarded_unmarked(&self) -> bool {
        self.forwarded && !self.binding.to_string().starts_with('_')
    }

    /// The pattern is `mut binding`, which hoisting replaces.
    pub(crate) fn plain_mut_pattern(&self) -> bool {
        matches!(&self.pattern, Some(Pat::Ident(ident))
            if ident.mutability.is_some() && ident.by_ref.is_none() && ident.subpat.is_none())
    }
}

impl Function {
    pub(crate) fn new(raw: &RawFunction, attribute: &str, errors: &mut Errors) -> Option<Function> {
        if let Some(constness) = &raw.sig.constness {
            // Every attribute needs run-time state (a clock, a cache, a collector).
            let what = match attribute {
                "retry" => "be retried",
                "fallback" => "fall back",
                "collect_errors" => "have its errors collected",
                "timeout" => "time out",
                _ => "be guarded by a circuit breaker",
            };
            errors.at(
                constness.span,
                format_args!(
                    "a `const fn` cannot {what}: #[{attribute}] works at run time; remove `const` or the attribute"
                ),
            );
            return None;
        }
        if let Some(track_caller) = raw.attrs.iter().find_map(|attr| track_caller(&attr.meta)) {
            // The body runs in a closure or an async block, which stable Rust cannot make
            // `#[track_caller]`: `Location::caller()` would silently name the body's line.
            // Refused under any `cfg_attr` predicate: the build it holds in would misreport.
            errors.push(syn::Error::new(
                track_caller,
                format_args!(
                    "#[track_caller] would have no effect under #[{attribute}]: the body runs in a closure, \
                     whose `Location::caller()` is its own line; take the location in a function that calls this one"
                ),
            ));
            return None;
        }
        let mut sig = raw.sig.clone();
        let mut body = raw.body.clone();
        let mut shape = if sig.asyncness.is_some() {
            Shape::Async
        } else {
            Shape::Sync
        };
        let mut ret = match &sig.output {
            ReturnType::Type(_, ty) => Some((**ty).clone()),
            ReturnType::Default => None,
        };
        if shape == Shape::Sync {
            if let Some((inner_body, output)) = async_trait_shape(&raw.body, ret.as_ref()) {
                shape = Shape::AsyncTrait;
                body = inner_body;
                ret = Some(output);
            }
        }
        let ret = match ret {
            Some(ty) if may_be_result(&ty) => ty,
            Some(ty) => {
                let hint = if returns_impl_future(&ty) {
                    ": write it as an `async fn` that returns the future's `Result`"
                } else {
                    ""
                };
                errors.push(syn::Error::new_spanned(
                    &ty,
                    format_args!(
                        "#[{attribute}] needs a function that returns `Result<T, E>`; this one returns `{}`{hint}",
                        written(&ty)
                    ),
                ));
                return None;
            }
            None => {
                errors.at(
                    sig.ident.span(),
                    format_args!("#[{attribute}] needs a function that returns `Result<T, E>`"),
                );
                return None;
            }
        };

        let mut params = Vec::new();
        let mut self_binding = None;
        for (index, input) in sig.inputs.iter_mut().enumerate() {
            match input {
                FnArg::Receiver(receiver) => {
                    let span = receiver.self_token.span;
                    let Some((mode, pinned, self_by_value)) = receiver_mode(&receiver.kind) else {
                        errors.at(
                            receiver.span(),
                            format_args!("#[{attribute}] does not know this form of `self`; write `self`, `&self`, `&mut self` or `self: Type`"),
                        );
                        return None;
                    };
                    // A body may move a `&mut self` (into a `move` closure, an `async move`
                    // block, `#[async_trait]`'s `let __self = self;`): renamed, it gets a fresh
                    // reborrow for each run, like any `&mut T` parameter.
                    let renamed = mode != Mode::SharedRef;
                    if renamed {
                        let binding = Ident::new(RENAMED_SELF, span);
                        // The binding's `mut` (`mut self`); a `&mut self`'s is in its kind.
                        let binding_mut = receiver.mutability.take();
                        let pattern = binding_mut.map(|mutability| {
                            let binding = &binding;
                            syn::parse_quote!(#mutability #binding)
                        });
                        params.push(Param {
                            binding: binding.clone(),
                            pattern,
                            mode,
                            is_self: true,
                            self_by_value,
                            no_clone: false,
                            pinned,
                            optional_mut: false,
                            span,
                            argument_type: self_by_value.then(|| syn::parse_quote!(Self)),
                            named_by_attributes: false,
                            forwarded: false,
                            cfg: None,
                            lints: Vec::new(),
                        });
                        self_binding = Some(binding);
                    } else {
                        let binding = Ident::new("self", span);
                        params.push(Param {
                            binding,
                            pattern: None,
                            mode,
                            is_self: true,
                            self_by_value,
                            no_clone: false,
                            pinned,
                            optional_mut: false,
                            span,
                            argument_type: None,
                            named_by_attributes: false,
                            forwarded: false,
                            cfg: None,
                            lints: Vec::new(),
                        });
                    }
                }
                FnArg::Typed(typed) => {
                    let span = typed.span();
                    let (mode, pinned) = mode_of(&typed.ty);
                    let lints = lint_levels(&mut typed.attrs);
                    let (binding, pattern) = match &mut *typed.pat {
                        Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                            let pattern = ident
                                .mutability
                                .is_some()
                                .then(|| Pat::Ident(ident.clone()));
                            ident.mutability = None;
                            (ident.ident.clone(), pattern)
                        }
                        pat => {
                            let binding =
                                format_ident!("__mcpstore_arg{}", index, span = Span::mixed_site());
                            let pattern = pat.clone();
                            *pat = syn::parse_quote!(#binding);
                            (binding, Some(pattern))
                        }
                    };
                    // A parameter with lint levels is rebound per run, where they can go
                    // (not passed in a tuple pattern, where they cannot).
                    let argument_type = match (mode, &*typed.ty) {
                        _ if !lints.is_empty() => None,
                        (Mode::ByValue, ty) if !pinned && writable_anywhere(ty) => Some(ty.clone()),
                        // A shared reference whose lifetime is left out: the run's copy gets one
                        // inferred, as in the signature. (A `&mut` cannot be passed: every run's
                        // reborrow would need the one lifetime of the run's argument.)
                        (Mode::SharedRef, ty) => match ungrouped(ty) {
                            Type::Reference(reference)
                                if reference.lifetime.is_none()
                                    && writable_anywhere(&reference.elem) =>
                            {
                                Some(ty.clone())
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    params.push(Param {
                        binding,
                        pattern,
                        mode,
                        is_self: false,
                        self_by_value: false,
                        no_clone: false,
                        pinned,
                        optional_mut: mode == Mode::ByValue && is_option_mut(&typed.ty),
                        span,
                        argument_type,
                        named_by_attributes: false,
                        forwarded: false,
                        cfg: typed
                            .attrs
                            .iter()
                            .find(|attr| removes_parameter(attr))
                            .map(|attr| attr.path().span()),
                        lints,
                    });
                }
            }
        }

        if let Some(binding) = &self_binding {
            body = rename_self(body, binding);
        }

        Some(Function {
            attrs: raw.attrs.clone(),
            vis: raw.vis.clone(),
            sig,
            body,
            shape,
            ret,
            params,
            self_binding,
        })
    }

    /// `T` of a return type written `Result<T, E>`.
    pub(crate) fn ok_type(&self) -> Option<&Type> {
        self.result_argument(0)
    }

    /// `E` of a return type written `Result<T, E>`.
    pub(crate) fn err_type(&self) -> Option<&Type> {
        self.result_argument(1)
    }

    /// The type argument at `index` of `Result<T, E>`, when it is written out (an alias's
    /// parameters may mean anything).
    fn result_argument(&self, index: usize) -> Option<&Type> {
        if !is_spelled_result(&self.ret) {
            return None;
        }
        let Type::Path(path) = ungrouped(&self.ret) else {
            return None;
        };
        let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
            return None;
        };
        match args.args.iter().nth(index)? {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }
    }

    /// Whether the return type names `Result` itself, rather than an alias.
    pub(crate) fn ret_is_spelled_result(&self) -> bool {
        is_spelled_result(&self.ret)
    }

    /// The return type with every `impl Trait` replaced by `_`, usable in an expression.
    pub(crate) fn ret_for_inference(&self) -> Type {
        struct ImplToInfer;
        impl VisitMut for ImplToInfer {
            fn visit_type_mut(&mut self, ty: &mut Type) {
                if let Type::ImplTrait(impl_trait) = ty {
                    *ty = Type::Infer(syn::TypeInfer {
                        attrs: Vec::new(),
                        underscore_token: syn::Token![_](impl_trait.span()),
                    });
                    return;
                }
                visit_mut::visit_type_mut(self, ty);
            }
        }
        let mut ret = self.ret.clone();
        ImplToInfer.visit_type_mut(&mut ret);
        ret
    }

    pub(crate) fn param_named(&mut self, name: &Ident) -> Option<&mut Param> {
        self.params.iter_mut().find(|param| param.is_named(name))
    }

    /// The parameter `name` (`self` for the receiver), when there is one.
    pub(crate) fn param(&self, name: &Ident) -> Option<&Param> {
        self.params.iter().find(|param| param.is_named(name))
    }
}

/// Whether `ty` may name a `Result`: any path (`Result<T, E>`, `io::Result<T>`, an alias)
/// except the types that obviously are not one. The compiler checks the rest.
fn may_be_result(ty: &Type) -> bool {
    const NOT_RESULTS: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64", "String", "Option", "Vec", "Box",
    ];
    match ungrouped(ty) {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| !NOT_RESULTS.iter().any(|name| last.ident == name)),
        _ => false,
    }
}

/// `impl Future<..>` (or `impl Send + Future<..>`): what an `async fn` desugars to.
fn returns_impl_future(ty: &Type) -> bool {
    match ungrouped(ty) {
        Type::ImplTrait(bounds) => bounds.bounds.iter().any(|bound| {
            matches!(bound, syn::TypeParamBound::Trait(t)
                if t.path.segments.last().is_some_and(|last| last.ident == "Future"))
        }),
        _ => false,
    }
}

/// `ty` as a person writes it (`Option<u32>`), not with a space between every token.
fn written(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// Whether `ty` is spelled as a `Result` (`Result<T, E>`, `io::Result<T>`).
fn is_spelled_result(ty: &Type) -> bool {
    match ungrouped(ty) {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "Result"),
        _ => false,
    }
}

/// Recognises `#[async_trait]`'s output: `Box::pin(async move { .. })` returning
/// `Pin<Box<dyn Future<Output = R> + ..>>`. Returns the async block's body and `R`.
fn async_trait_shape(body: &TokenStream, ret: Option<&Type>) -> Option<(TokenStream, Type)> {
    let output = future_output(ret?)?;
    let block: Block = syn::parse2(body.clone()).ok()?;
    let [syn::Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let is_pin = func
        .path
        .segments
        .last()
        .is_some_and(|last| last.ident == "pin");
    if !is_pin || call.args.len() != 1 {
        return None;
    }
    let Expr::Async(inner) = &call.args[0] else {
        return None;
    };
    inner.capture?;
    Some((inner.block.to_token_stream(), output))
}

fn future_output(ty: &Type) -> Option<Type> {
    let Type::Path(pin) = ty else { return None };
    let pin = pin.path.segments.last()?;
    if pin.ident != "Pin" {
        return None;
    }
    let boxed = single_type_argument(&pin.arguments)?;
    let Type::Path(boxed) = boxed else {
        return None;
    };
    let boxed = boxed.path.segments.last()?;
    if boxed.ident != "Box" {
        return None;
    }
    let Type::TraitObject(object) = single_type_argument(&boxed.arguments)? else {
        return None;
    };
    object.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let future = bound.path.segments.last()?;
        if future.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &future.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

fn single_type_argument(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}

/// Renames `self` in the body to `binding`, except inside nested items, which have their own;
/// a `macro_rules!` defined in the body is no such item: its rules see the body's `self`.
fn rename_self(body: TokenStream, binding: &Ident) -> TokenStream {
    struct RenameSelf<'a>(&'a Ident);
    impl VisitMut for RenameSelf<'_> {
        fn visit_item_mut(&mut self, item: &mut syn::Item) {
            if let syn::Item::Macro(item) = item {
                if item.mac.path.is_ident("macro_rules") {
                    item.mac.tokens = rename_in_tokens(item.mac.tokens.clone(), self.0, false);
                }
            }
        }

        fn visit_expr_path_mut(&mut self, path: &mut syn::ExprPath) {
            if path.qself.is_none() && path.path.is_ident("self") {
                let ident = &mut path.path.segments[0].ident;
                *ident = Ident::new(&self.0.to_string(), ident.span());
            }
        }

        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            let Some(name) = mac.path.segments.last().map(|last| &last.ident) else {
                return;
            };
            // `stringify!(self)` shows the tokens as written, here as nested in another macro.
            if name == "stringify" {
                return;
            }
            mac.tokens = rename_in_tokens(mac.tokens.clone(), self.0, formats(name));
        }
    }
    match syn::parse2::<Block>(body.clone()) {
        Ok(mut block) => {
            RenameSelf(binding).visit_block_mut(&mut block);
            block.into_token_stream()
        }
        Err(_) => rename_in_tokens(body, binding, false),
    }
}

/// `track_caller`, written as the attribute or applied by a `cfg_attr` (nested ones too).
fn track_caller(meta: &syn::Meta) -> Option<Span> {
    if meta.path().is_ident("track_caller") {
        return Some(meta.span());
    }
    let syn::Meta::List(list) = meta else {
        return None;
    };
    if !list.path.is_ident("cfg_attr") {
        return None;
    }
    let applied = list
        .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
        .ok()?;
    applied.iter().skip(1).find_map(track_caller)
}

/// `#[cfg(..)]`, or a `#[cfg_attr(..)]` that may apply one: what can take a parameter away.
/// (A `cfg_attr` that only adds a lint stays on the parameter harmlessly.)
fn removes_parameter(attr: &Attribute) -> bool {
    fn names_cfg(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "cfg",
            TokenTree::Group(group) => names_cfg(group.stream()),
            _ => false,
        })
    }
    if attr.path().is_ident("cfg") {
        return true;
    }
    match &attr.meta {
        syn::Meta::List(list) if attr.path().is_ident("cfg_attr") => names_cfg(list.tokens.clone()),
        _ => false,
    }
}

/// What a receiver other than `&self` is called in the body and in the attributes'
/// expressions: it is moved into this binding once, and each run reborrows or clones it.
const RENAMED_SELF: &str = "__mcpstore_self";

/// The binding the receiver is renamed to, for any receiver but `&self`.
pub(crate) fn renamed_receiver(raw: &RawFunction) -> Option<Ident> {
    raw.sig.inputs.iter().find_map(|input| match input {
        FnArg::Receiver(receiver) => match receiver_mode(&receiver.kind)? {
            (Mode::SharedRef, ..) => None,
            _ => Some(Ident::new(RENAMED_SELF, receiver.self_token.span)),
        },
        FnArg::Typed(_) => None,
    })
}

/// Macros whose string literals are never format strings: their text stays as written.
const NON_FORMATTING_MACROS: &[&str] = &[
    "vec",
    "concat",
    "stringify",
    "dbg",
    "include",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
    "matches",
    "json",
    "line",
    "column",
    "file",
    "module_path",
    "cfg",
    "compile_error",
    "concat_idents",
];

pub(crate) fn formats(name: &Ident) -> bool {
    !NON_FORMATTING_MACROS.iter().any(|m| name == m)
}

/// The names a string literal's `{name}` or `{name:..}` placeholders would read (any literal:
/// counting a name too many only costs a clone).
pub(crate) fn inline_arguments(literal: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = literal;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(escaped) = rest.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            rest = &rest[name.len()..];
            names.push(name);
        }
    }
    names
}

/// `self` renamed to `binding` in tokens (a macro's, or an attribute's expression), where
/// `self` is a value unless a path follows (`self::x`); `stringify!`'s tokens are left as
/// written. In a macro's tokens (`in_macro`, not one of [`NON_FORMATTING_MACROS`]), the format
/// string is renamed too where it names `self` inline (`"{self}"`): taken to be its first
/// top-level string literal with a placeholder (`{..}`) that is not a field's value
/// (`target: ".."`, `x = ".."`) nor a method's receiver (`"..".to_string()`), as in
/// `format!`, `write!(f, ..)`, `assert_eq!(a, "b", ..)`, `tracing::info!(x = 1, ..)` or a
/// user's own formatting macro. Any other literal keeps its text.
pub(crate) fn rename_in_tokens(
    tokens: TokenStream,
    binding: &Ident,
    in_macro: bool,
) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let punct_at = |i: Option<usize>, c: char| matches!(i.and_then(|i| trees.get(i)), Some(TokenTree::Punct(p)) if p.as_char() == c);
    // A nested `name!(..)`: its group is a macro's tokens.
    let formatting_macro_before = |i: usize| {
        i >= 2
            && punct_at(Some(i - 1), '!')
            && matches!(&trees[i - 2], TokenTree::Ident(name) if formats(name))
    };
    let macro_before = |i: usize, name: &str| {
        i >= 2
            && punct_at(Some(i - 1), '!')
            && matches!(&trees[i - 2], TokenTree::Ident(ident) if ident == name)
    };
    let mut format_string_seen = !in_macro;
    let owned_by_item = groups_of_items(&trees);
    trees
        .iter()
        .enumerate()
        .map(|(i, tree)| match tree.clone() {
            // An item's own `self` (`impl X { fn f(&self) .. }` a macro's tokens define).
            TokenTree::Group(group) if owned_by_item[i] => TokenTree::Group(group),
            TokenTree::Ident(ident) if ident == "self" && !punct_at(Some(i + 1), ':') => {
                TokenTree::Ident(Ident::new(&binding.to_string(), ident.span()))
            }
            TokenTree::Group(group) if macro_before(i, "stringify") => TokenTree::Group(group),
            TokenTree::Group(group) => {
                let mut renamed = proc_macro2::Group::new(
                    group.delimiter(),
                    rename_in_tokens(group.stream(), binding, formatting_macro_before(i)),
                );
                renamed.set_span(group.span());
                TokenTree::Group(renamed)
            }
            TokenTree::Literal(literal)
                if !format_string_seen
                    && matches!(syn::Lit::new(literal.clone()), syn::Lit::Str(text) if has_placeholder(&text.value()))
                    && !punct_at(i.checked_sub(1), '=')
                    && !punct_at(i.checked_sub(1), ':')
                    && !punct_at(Some(i + 1), '.') =>
            {
                format_string_seen = true;
                TokenTree::Literal(rename_in_format_string(literal, binding))
            }
            other => other,
        })
        .collect()
}

/// Which of `trees` are the groups of an item they define (a named `fn`'s parameters and
/// body, an `impl`'s or a `trait`'s body, and the groups between): up to the first brace
/// group, or a `;`, after `fn name`, `impl` or `trait`.
fn groups_of_items(trees: &[TokenTree]) -> Vec<bool> {
    let mut owned = vec![false; trees.len()];
    let mut in_item = false;
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "impl" || ident == "trait" => in_item = true,
            TokenTree::Ident(ident)
                if ident == "fn" && matches!(trees.get(i + 1), Some(TokenTree::Ident(_))) =>
            {
                in_item = true;
            }
            TokenTree::Group(group) if in_item => {
                owned[i] = true;
                in_item = group.delimiter() != proc_macro2::Delimiter::Brace;
            }
            TokenTree::Punct(punct) if in_item && punct.as_char() == ';' => in_item = false,
            _ => {}
        }
    }
    owned
}

/// A string literal naming `self` as an inline format argument (`"{self}"`, `"{self:?}"`),
/// naming `binding` instead; any other literal unchanged.
fn rename_in_format_string(literal: proc_macro2::Literal, binding: &Ident) -> proc_macro2::Literal {
    let syn::Lit::Str(text) = syn::Lit::new(literal.clone()) else {
        return literal;
    };
    let Some(value) = rename_inline_self(&text.value(), &binding.to_string()) else {
        return literal;
    };
    let is_raw = literal.to_string().starts_with('r');
    let mut renamed = if is_raw {
        // Enough `#` that no `"#..` inside ends the literal early.
        let mut hashes = String::from("#");
        while value.contains(&format!("\"{hashes}")) {
            hashes.push('#');
        }
        match format!("r{hashes}\"{value}\"{hashes}").parse::<proc_macro2::Literal>() {
            Ok(raw) => raw,
            Err(_) => return literal,
        }
    } else {
        proc_macro2::Literal::string(&value)
    };
    renamed.set_span(literal.span());
    renamed
}

/// Whether `text` has a format placeholder: a `{` that is not the escape `{{`.
fn has_placeholder(text: &str) -> bool {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if rest[open + 1..].starts_with('{') {
            rest = &rest[open + 2..];
        } else {
            return true;
        }
    }
    false
}

/// `format` with each inline `{self}` / `{self:..}` argument naming `binding`; `None` when there
/// is none. Escaped braces (`{{self}}`) are text and stay.
fn rename_inline_self(format: &str, binding: &str) -> Option<String> {
    let mut renamed = String::with_capacity(format.len());
    let mut changed = false;
    let mut rest = format;
    while let Some(open) = rest.find(['{', '}']) {
        let (before, from_brace) = rest.split_at(open);
        renamed.push_str(before);
        if from_brace.starts_with("{{") || from_brace.starts_with("}}") {
            renamed.push_str(&from_brace[..2]);
            rest = &from_brace[2..];
            continue;
        }
        renamed.push_str(&from_brace[..1]);
        rest = &from_brace[1..];
        if from_brace.starts_with('{') {
            if let Some(after) = rest.strip_prefix("self") {
                if after.starts_with(['}', ':']) {
                    renamed.push_str(binding);
                    rest = after;
                    changed = true;
                }
            }
        }
    }
    renamed.push_str(rest);
    changed.then_some(renamed)
}

/// The lint levels on a parameter, for each run's copy of it. An `#[expect]` becomes an
/// `#[allow]`, there and in the signature: the expansion itself uses the parameter, so an
/// expectation on either binding could go unfulfilled.
fn lint_levels(attrs: &mut [Attribute]) -> Vec<Attribute> {
    const LEVELS: [&str; 5] = ["allow", "expect", "warn", "deny", "forbid"];
    fn is_level(path: &syn::Path) -> bool {
        LEVELS.iter().any(|level| path.is_ident(level))
    }
    fn expect_to_allow(meta: &mut syn::Meta) {
        if let syn::Meta::List(list) = meta {
            if list.path.is_ident("expect") {
                let span = list.path.span();
                list.path = Ident::new("allow", span).into();
            }
        }
    }
    // `cfg_attr(predicate, level(..), ..)` with only lint levels after the predicate.
    fn cfg_attr_levels(attr: &Attribute) -> Option<Vec<syn::Meta>> {
        let syn::Meta::List(list) = &attr.meta else {
            return None;
        };
        if !list.path.is_ident("cfg_attr") {
            return None;
        }
        let metas = list
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .ok()?;
        let metas: Vec<_> = metas.into_iter().collect();
        (metas.len() > 1 && metas[1..].iter().all(|meta| is_level(meta.path()))).then_some(metas)
    }
    let mut lints = Vec::new();
    for attr in attrs.iter_mut() {
        if let Some(mut metas) = cfg_attr_levels(attr) {
            metas[1..].iter_mut().for_each(expect_to_allow);
            let (predicate, levels) = (&metas[0], &metas[1..]);
            *attr = syn::parse_quote!(#[cfg_attr(#predicate, #(#levels),*)]);
            lints.push(attr.clone());
        } else if is_level(attr.path()) {
            expect_to_allow(&mut attr.meta);
            lints.push(attr.clone());
        }
    }
    lints
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::{Function, Mode, RawFunction, rename_inline_self};
    use crate::errors::Errors;

    /// The receiver of `fn f(<receiver>) -> Result<(), ()> {}`, as the expansion sees it:
    /// its mode, whether it is pinned, whether it is `self` by value, its binding's pattern.
    fn receiver(receiver: proc_macro2::TokenStream) -> (Mode, bool, bool, Option<String>) {
        let raw: RawFunction =
            syn::parse2(quote!(fn f(#receiver) -> Result<(), ()> {})).expect("parses");
        let mut errors = Errors::default();
        let function = Function::new(&raw, "retry", &mut errors).expect("accepted");
        assert!(errors.is_empty());
        let param = &function.params[0];
        assert!(param.is_self);
        let pattern = param
            .pattern
            .as_ref()
            .map(|pattern| pattern.to_token_stream().to_string());
        (param.mode, param.pinned, param.self_by_value, pattern)
    }

    #[test]
    fn every_form_of_receiver_reaches_the_attempts_as_it_is_written() {
        use Mode::{ByValue, MutRef, SharedRef};
        let pattern = Some("mut __mcpstore_self".to_owned());
        assert_eq!(receiver(quote!(self)), (ByValue, false, true, None));
        assert_eq!(
            receiver(quote!(mut self)),
            (ByValue, false, true, pattern.clone())
        );
        assert_eq!(receiver(quote!(&self)), (SharedRef, false, false, None));
        assert_eq!(receiver(quote!(&'a self)), (SharedRef, false, false, None));
        // The `mut` of `&mut self` is the reference's, not the binding's.
        assert_eq!(receiver(quote!(&mut self)), (MutRef, false, false, None));
        assert_eq!(receiver(quote!(self: Self)), (ByValue, false, true, None));
        assert_eq!(
            receiver(quote!(self: &Self)),
            (SharedRef, false, false, None)
        );
        assert_eq!(
            receiver(quote!(self: &mut Self)),
            (MutRef, false, false, None)
        );
        assert_eq!(
            receiver(quote!(self: Box<Self>)),
            (ByValue, false, false, None)
        );
        assert_eq!(
            receiver(quote!(mut self: Box<Self>)),
            (ByValue, false, false, pattern)
        );
        assert_eq!(
            receiver(quote!(self: Pin<&mut Self>)),
            (ByValue, true, false, None)
        );
    }

    #[test]
    fn inline_self_arguments_are_renamed_and_escaped_braces_are_not() {
        let rename = |format| rename_inline_self(format, "me");
        assert_eq!(rename("{self}").as_deref(), Some("{me}"));
        assert_eq!(
            rename("{self:?} {self:>4}").as_deref(),
            Some("{me:?} {me:>4}")
        );
        assert_eq!(rename("{{{self}}}").as_deref(), Some("{{{me}}}"));
        assert_eq!(rename("{{self}} }} {selfish} {0} {}"), None);
        assert_eq!(rename("self"), None);
    }
}

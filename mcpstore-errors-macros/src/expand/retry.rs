//! `#[retry]`: a loop that owns its attempts; the runtime supplies the policy and the state.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::literals::{self, Bound};
use super::names::{self, Table};
use super::{ALLOW_ON_COPY, operation, operation_path, rebind_for_run, resupply, see};
use crate::args::{JitterValue, RetryArgs, RetryFilter};
use crate::duration::DurationValue;
use crate::func::{Function, Mode, Param};
use crate::valid::UnderBreaker;

/// `below`: how the layers under this one bound a breaker's call, if a breaker is among them;
/// `innermost`: no layer is under this one (`inner` is then the body's statements).
pub(super) fn expand(
    function: &Function,
    args: &RetryArgs,
    inner: TokenStream,
    below: Option<UnderBreaker>,
    innermost: bool,
) -> TokenStream {
    let op = operation(function);
    let op_path = operation_path(function);
    // An attempt timeout above a breaker is checked at compile time when it is a literal key;
    // another (a `config =`'s, an expression's), at run time (see `policy`).
    let cut_under = match below {
        Some(UnderBreaker::Uncut) => Some(quote!(::core::option::Option::None)),
        Some(UnderBreaker::Cut(cut)) => {
            let nanos = u64::try_from(cut.as_nanos()).unwrap_or(u64::MAX);
            Some(quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#nanos))))
        }
        _ => None,
    }
    .filter(|_| {
        let literal_key = matches!(args.attempt_timeout.get(), Some(timeout) if timeout.is_known());
        function.shape.is_async() && !literal_key
    })
    .map(|cut| OverBreaker { cut, op_path });
    let policy = policy(function, args, cut_under);
    let ret = function.ret_for_inference();
    let retry = retry_loop();

    // Each run gets its own copy of a by-value argument.
    let rebind = function
        .params
        .iter()
        .filter_map(|param| rebind_for_run(param, resupply(param)))
        .collect::<Vec<_>>();

    // How to decide after an error: data for the engine, typed by `__mcpstore_observer` (the
    // error type's `Observer`, bound where the outcome is known).
    // Mixed-site: a user's variable of the same name in `when` or `on_retry` stays theirs.
    let observer = Ident::new("__mcpstore_observer", Span::mixed_site());
    let mut filters = Vec::new();
    if let Some(kinds) = args.on.get() {
        let kinds = kinds
            .iter()
            .map(|kind| names::resolve(Table::ErrorKind, kind));
        // A `const` item, not an inline `const` block: `cargo check` evaluates items, so an
        // unknown kind is reported there too.
        // Spanned on `on`: an error type the kinds cannot be read from is reported there.
        let span = args.on.key_span().unwrap_or_else(Span::call_site);
        let filter = quote_spanned! {span=> {
            const __MCPSTORE_ON: ::mcpstore_errors::KindSet = ::mcpstore_errors::KindSet::of(&[#(#kinds),*]);
            __MCPSTORE_ON
        }};
        filters.push((filter, span));
    }
    match args.when.get() {
        Some(RetryFilter::Retryable(ident)) => {
            let filter = quote_spanned!(ident.span()=> ::mcpstore_errors::Retryable);
            filters.push((filter, ident.span()));
        }
        Some(RetryFilter::Predicate(predicate)) => {
            let filter = quote_spanned! {predicate.span()=>
                ::mcpstore_errors::__private::when(&#observer, #predicate)
            };
            filters.push((filter, predicate.span()));
        }
        None => {}
    }
    // Borrowed with the filter's span, where an error type it cannot judge is reported.
    let filter = match filters.as_slice() {
        [] => quote!(&::mcpstore_errors::RetryAnyError),
        [(one, span)] => quote_spanned!(*span=> &#one),
        [(first, span), (second, _)] => quote_spanned!(*span=> &(#first, #second)),
        _ => unreachable!("at most `on` and `when`"),
    };
    let hook = match args.on_retry.get() {
        Some(hook) => quote_spanned! {hook.span()=>
            ::core::option::Option::Some(&::mcpstore_errors::__private::on_retry(&#observer, #hook))
        },
        None => quote!(::core::option::Option::None),
    };
    let see = see(quote!(#observer));
    let on_error = quote! {
        ::mcpstore_errors::__private::OnError {
            see: #see,
            filter: #filter,
            hook: #hook,
        }
    };
    // Whether the predicate rejects the value `value` (a `&T`) points to.
    let rejects_of = |value: TokenStream| {
        args.retry_if_result.get().map(|predicate| {
            quote_spanned! {predicate.span()=>
                ::mcpstore_errors::__private::rejects(#value, #predicate)
            }
        })
    };
    let rejects = rejects_of(quote!(&__mcpstore_value));
    // A budget is evaluated per call (it may name `self`); successes pay into it.
    let (budget, budget_ref, deposit) = match args.budget.get() {
        Some(budget) => (
            match string_literal(budget) {
                // `budget = "fs"`: that service's budget in `retry_budgets()`, kept per thread
                // by the call site while the table forgets none.
                Some(service) => {
                    let (lookup, borrow) = if function.shape.is_async() {
                        (quote!(site_budget_owned), quote!(&__mcpstore_budget))
                    } else {
                        (quote!(site_budget), quote!(&*__mcpstore_budget))
                    };
                    // Only the name carries the user's span: the bindings must share the
                    // expansion's hygiene with their later uses.
                    let service = quote_spanned!(service.span()=> #service);
                    quote! {
                        let __mcpstore_budget = {
                            ::std::thread_local! {
                                static __MCPSTORE_BUDGET_SITE: ::mcpstore_errors::__private::BudgetSite =
                                    const { ::mcpstore_errors::__private::BudgetSite::new() };
                            }
                            ::mcpstore_errors::__private::#lookup(
                                &__MCPSTORE_BUDGET_SITE,
                                ::mcpstore_errors::retry_budgets(),
                                #service,
                            )
                        };
                        let __mcpstore_budget: &::mcpstore_errors::RetryBudget = #borrow;
                    }
                }
                None => {
                    let value = quote_spanned!(budget.span()=> #budget);
                    quote! {
                        let __mcpstore_budget = #value;
                        let __mcpstore_budget: &::mcpstore_errors::RetryBudget = ::core::borrow::Borrow::borrow(&__mcpstore_budget);
                    }
                }
            },
            quote!(::core::option::Option::Some(__mcpstore_budget)),
            quote!(__mcpstore_budget.deposit();),
        ),
        None => (
            TokenStream::new(),
            quote!(::core::option::Option::None),
            TokenStream::new(),
        ),
    };
    // A sync call's waits block the thread: its deadline passes on the clock they pass on.
    let deadline_start = match function.shape.is_async() {
        true => quote!(deadline_start),
        false => quote!(deadline_start_blocking),
    };
    let start = quote! {
        #budget
        let __mcpstore_started = ::mcpstore_errors::__private::#deadline_start(__mcpstore_policy);
    };
    let new_loop = quote! {
        ::mcpstore_errors::__private::RetryLoop::started(__mcpstore_policy, #op, __mcpstore_started)
            .with_budget(#budget_ref)
    };

    if !function.shape.is_async() {
        // The first attempt runs here; the retries, out of line, re-run the same closure.
        let accept = match &rejects {
            None => quote! {
                ::core::result::Result::Ok(__mcpstore_value) => {
                    #deposit
                    ::mcpstore_errors::__private::retry_succeeded_first(#op);
                    ::core::result::Result::Ok(__mcpstore_value)
                }
            },
            Some(rejects) => quote! {
                ::core::result::Result::Ok(__mcpstore_value) if !#rejects => {
                    #deposit
                    ::mcpstore_errors::__private::retry_succeeded_first(#op);
                    ::core::result::Result::Ok(__mcpstore_value)
                }
            },
        };
        let rejects_fn = match rejects_of(quote!(__mcpstore_value)) {
            None => quote!(::core::option::Option::None),
            Some(rejects) => quote!(::core::option::Option::Some(&|__mcpstore_value| #rejects)),
        };
        // When every argument is by value or a shared reference, of a type that can be written
        // again, the arguments are passed to each run rather than captured: the closure
        // then captures nothing, and the first attempt stores nothing for the retries (they
        // take the arguments from bindings made on their own path, moved there: nothing after
        // them uses them). Otherwise all are captured: the closure's captures are stored
        // anyway, and passing some would add a second closure to compile for little.
        let pass_all = !function.params.is_empty()
            && function
                .params
                .iter()
                .all(|param| param.argument_type.is_some() && !param.no_clone);
        let passed: &[Param] = if pass_all { &function.params } else { &[] };
        let rebind: Vec<_> = function
            .params
            .iter()
            .filter(|_| !pass_all)
            .filter_map(|param| rebind_for_run(param, resupply(param)))
            .collect();
        let names: Vec<_> = passed.iter().map(|param| &param.binding).collect();
        // Moved into the retries' path, so the first attempt stores nothing for them; not
        // those an attribute's expression reads after the retries.
        let moved: Vec<_> = passed
            .iter()
            .filter(|param| !param.named_by_attributes)
            .map(|param| &param.binding)
            .collect();
        // The attribute's own expressions may read an argument the body never does: its copy
        // in the run is then marked used, lest the compiler call the argument unused.
        let read_outside = args.when.get().is_some()
            || args.retry_if_result.get().is_some()
            || args.on_retry.get().is_some()
            || args.budget.get().is_some();
        let marked_used = function
            .params
            .iter()
            .filter(|param| {
                let rebound = param.mode == Mode::ByValue && !param.no_clone;
                // A forwarded argument passed to the run is allowed unused there instead (see
                // `forwarded_allow`): a statement would take the body out of the closure's block.
                (read_outside || param.named_by_attributes) && (rebound || pass_all)
                    || param.forwarded_unmarked() && rebound && !pass_all
            })
            .map(|param| &param.binding)
            .collect::<Vec<_>>();
        let types = passed.iter().map(|param| &param.argument_type);
        let supplies: Vec<_> = passed.iter().map(resupply).collect();
        let allow_on_copy = ALLOW_ON_COPY;
        // With nothing to bind first, the body's own block is the closure's: lints that judge
        // a closure's tail expression (`needless_question_mark`) see it as in the plain
        // function. (A body opening with an inner attribute stays in `inner`, as its tail.)
        let body_alone = innermost
            && rebind.is_empty()
            && marked_used.is_empty()
            && function.params.iter().all(|param| param.pattern.is_none())
            && !super::opens_with_inner_attribute(&function.body);
        let run_body = match body_alone {
            true => function.body.clone(),
            false => super::at_body(
                function,
                quote!(#(#rebind)* #(let _ = &#marked_used;)* #inner),
            )
            .into_token_stream(),
        };
        // Every argument reaches a fallback's `with` or `recover` function, which reads it.
        let forwarded_allow = passed
            .iter()
            .all(|param| param.forwarded)
            .then(|| quote!(#[allow(unused_variables)]));
        let bar = quote_spanned!(super::body_span(&function.body)=> |);
        let (closure, first, rerun) = if !pass_all {
            (
                quote!(#bar #bar -> #ret #run_body),
                quote!(__mcpstore_run()),
                quote!(__mcpstore_run),
            )
        } else {
            (
                quote! {
                    ::mcpstore_errors::__private::run_with::<(#(#types,)*), #ret, _>(
                        #bar #ALLOW_ON_COPY #forwarded_allow (#(#names,)*) #bar -> #ret #run_body
                    )
                },
                quote!(__mcpstore_run((#(#supplies,)*))),
                quote!(&mut || __mcpstore_run((#(#supplies,)*))),
            )
        };
        return quote! {
            {
                #policy
                #start
                // The body keeps its own braces in this closure's block (see `body`).
                let __mcpstore_run = &mut #closure;
                match #first {
                    #accept
                    __mcpstore_first => {
                        let #observer = ::mcpstore_errors::__private::observer(&__mcpstore_first);
                        #(#allow_on_copy let #moved = #moved;)*
                        ::mcpstore_errors::__private::retry_sync(
                            __mcpstore_policy,
                            #op,
                            __mcpstore_started,
                            #budget_ref,
                            __mcpstore_first,
                            #rerun,
                            #on_error,
                            #rejects_fn,
                        )
                    }
                }
            }
        };
    }

    let on_ok = match &rejects {
        None => quote!({ #retry.succeeded(); break ::core::result::Result::Ok(__mcpstore_value) }),
        Some(rejects) => quote! {
            if !#rejects {
                #retry.succeeded();
                break ::core::result::Result::Ok(__mcpstore_value);
            }
            match #retry.rejected() {
                ::core::option::Option::Some(__mcpstore_delay) => __mcpstore_delay,
                ::core::option::Option::None => break ::core::result::Result::Ok(__mcpstore_value),
            }
        },
    };
    // Each attempt raced against the policy's timer, when it has an attempt timeout.
    let inner = match args.attempt_timeout.get() {
        Some(_) => super::timeout::race(
            function,
            quote!(__mcpstore_timeout),
            quote!(::mcpstore_errors::__private::attempt_sleeper(
                __mcpstore_policy
            )),
            mark_lapsed(),
            inner,
        ),
        // A policy from `config =` may carry an attempt timeout: honoured as far as the error
        // type can express one.
        None if function.shape.is_async() && args.config.get().is_some() => {
            quote! {{
                let __mcpstore_attempt = async { #inner };
                let __mcpstore_timed_out = {
                    use ::mcpstore_errors::__private::{TimesOutAsStoreError as _, TimesOutClassified as _, TimesOutNever as _};
                    (&&&::mcpstore_errors::__private::timeout_of(&__mcpstore_attempt)).__mcpstore_timed_out()
                };
                ::mcpstore_errors::__private::attempt_within(__mcpstore_attempt, &#retry, __mcpstore_timed_out).await
            }}
        }
        None => inner,
    };
    // A run's copy of an argument only an attribute's expression reads is still used.
    let named_copies = function
        .params
        .iter()
        .filter(|param| param.named_by_attributes && rebind_for_run(param, quote!()).is_some())
        .map(|param| &param.binding);
    let timeout = args.attempt_timeout.get().map(|_| {
        quote! {
            let __mcpstore_timeout = __mcpstore_policy.get_attempt_timeout().unwrap_or(::core::time::Duration::MAX);
        }
    });
    quote! {
        {
            #policy
            #start
            #timeout
            let mut #retry = #new_loop;
            loop {
                // Typed from the signature, so that describing the error does not wait on an
                // inner layer that never fails to infer its type. The run's copies live in
                // its block: `when` and `on_retry` read the originals, which the body cannot
                // have moved.
                let __mcpstore_outcome: #ret = {
                    #(#rebind)*
                    #(let _ = &#named_copies;)*
                    #inner
                };
                let #observer = ::mcpstore_errors::__private::observer(&__mcpstore_outcome);
                let __mcpstore_delay = match __mcpstore_outcome {
                    ::core::result::Result::Ok(__mcpstore_value) => { #on_ok }
                    ::core::result::Result::Err(__mcpstore_error) => {
                        match #retry.failed_with(&__mcpstore_error, &#on_error) {
                            ::core::option::Option::Some(__mcpstore_delay) => __mcpstore_delay,
                            ::core::option::Option::None => break ::core::result::Result::Err(__mcpstore_error),
                        }
                    }
                };
                #retry.sleep_async(__mcpstore_delay).await;
            }
        }
    }
}

/// The retry loop's binding; mixed-site, so a user's variable of the same name stays theirs.
fn retry_loop() -> Ident {
    Ident::new("__mcpstore_retry", Span::mixed_site())
}

/// Tells the enclosing retry loop that the attempt ran out of time.
pub(super) fn mark_lapsed() -> TokenStream {
    let retry = retry_loop();
    quote!(#retry.lapsed();)
}

/// What the policy of a `#[retry]` above a breaker is checked against at run time: the
/// cut of the breaker's call (`Option<Duration>` tokens) and the function's path.
struct OverBreaker {
    cut: TokenStream,
    op_path: TokenStream,
}

/// How often a key's value is evaluated.
#[derive(Clone, Copy, PartialEq)]
enum Evaluated {
    /// A literal or a name: a constant.
    Constant,
    /// An expression that reads nothing of the call: once, on first use.
    Once,
    /// An expression that reads `self` or an argument (`valid::reads_call`): on every call.
    PerCall,
}

/// `let __mcpstore_policy: &RetryConfig = ..;`. Read nothing of the call, it is a `static`:
/// a constant when every key is a literal, built once on first use otherwise. A `config`
/// that reads the call is evaluated on every call, the other keys applied to it there; a
/// key that reads it, beside none that does, is applied on every call to a copy of the
/// policy the others make once.
fn policy(function: &Function, args: &RetryArgs, over_breaker: Option<OverBreaker>) -> TokenStream {
    let config = quote!(::mcpstore_errors::RetryConfig);
    let setters = setters(function, args);
    let given = args.config.get();
    let given_per_call =
        given.is_some_and(|expr| crate::valid::reads_call(function, expr.to_token_stream()));
    let per_call: Vec<_> = setters
        .iter()
        .filter(|(_, evaluated)| given_per_call || *evaluated == Evaluated::PerCall)
        .map(|(setter, _)| setter)
        .collect();
    let once: Vec<_> = setters
        .iter()
        .filter(|(_, evaluated)| !given_per_call && *evaluated != Evaluated::PerCall)
        .map(|(setter, _)| setter)
        .collect();
    let known = given.is_none()
        && setters
            .iter()
            .all(|(_, evaluated)| *evaluated != Evaluated::Once);
    // Checked on every call when the policy may differ from one to the next.
    let check_per_call = over_breaker.as_ref().map(|OverBreaker { cut, op_path }| {
        quote! {
            static __MCPSTORE_WARNED: ::std::sync::atomic::AtomicBool = ::std::sync::atomic::AtomicBool::new(false);
            ::mcpstore_errors::__private::attempt_timeout_over_breaker_per_call(&__MCPSTORE_WARNED, __mcpstore_policy, #op_path, #cut);
        }
    });
    if given_per_call {
        let expr = given.expect("a `config` read per call");
        let span = expr.span();
        return match per_call.is_empty() {
            // Used as given: a reference is not cloned.
            true => {
                let call_policy = quote_spanned!(span=> ::mcpstore_errors::__private::call_policy);
                quote! {
                    let mut __mcpstore_given = ::core::option::Option::None;
                    let __mcpstore_policy: &#config = #call_policy(#expr, &mut __mcpstore_given);
                    #check_per_call
                }
            }
            false => {
                let call_config = quote_spanned!(span=> ::mcpstore_errors::__private::call_config);
                quote! {
                    let __mcpstore_config: #config = #call_config(#expr) #(#per_call)*;
                    let __mcpstore_policy: &#config = &__mcpstore_config;
                    #check_per_call
                }
            }
        };
    }
    let check_once = over_breaker
        .as_ref()
        .filter(|_| per_call.is_empty())
        .map(|OverBreaker { cut, op_path }| {
            quote! {
                ::mcpstore_errors::__private::attempt_timeout_over_breaker(&__mcpstore_config, #op_path, #cut);
            }
        });
    let (items, policy) = match (known, per_call.is_empty()) {
        (true, true) => (
            quote! {
                static __MCPSTORE_POLICY: #config = ::mcpstore_errors::__private::attribute_default() #(#once)*;
            },
            quote!(&__MCPSTORE_POLICY),
        ),
        // A `const`, copied into each call: nothing to clone.
        (true, false) => (
            quote! {
                const __MCPSTORE_POLICY: #config = ::mcpstore_errors::__private::attribute_default() #(#once)*;
            },
            quote!(__MCPSTORE_POLICY),
        ),
        (false, _) => {
            let base = match given {
                Some(expr) => {
                    quote_spanned!(expr.span()=> { let __mcpstore_config: #config = #expr; __mcpstore_config })
                }
                None => quote!(::mcpstore_errors::__private::attribute_default()),
            };
            // A `OnceLock`, not a `LazyLock`: an initialiser that panicked is run again by the
            // next call instead of poisoning the function for the rest of the process. Built by
            // a `const` fn pointer, which cannot capture the first call's arguments to serve
            // them to every later call. (A nested `fn` would do too, but on an impl's generic
            // rustc would suggest giving it one, at the attribute.)
            let items = quote! {
                const __MCPSTORE_MAKE_POLICY: fn() -> #config = || -> #config {
                    let __mcpstore_config = #base #(#once)*;
                    #check_once
                    __mcpstore_config
                };
                static __MCPSTORE_POLICY: ::std::sync::OnceLock<#config> = ::std::sync::OnceLock::new();
            };
            let policy = quote!(__MCPSTORE_POLICY.get_or_init(__MCPSTORE_MAKE_POLICY));
            match per_call.is_empty() {
                true => (items, policy),
                false => (items, quote!(::core::clone::Clone::clone(#policy))),
            }
        }
    };
    match per_call.is_empty() {
        true => quote! {
            #items
            let __mcpstore_policy: &#config = #policy;
        },
        false => quote! {
            #items
            let __mcpstore_config: #config = #policy #(#per_call)*;
            let __mcpstore_policy: &#config = &__mcpstore_config;
            #check_per_call
        },
    }
}

/// The builder calls the keys stand for, each with how often its value is evaluated. Each
/// name or literal the runtime checks is a `const` item of its own.
fn setters(function: &Function, args: &RetryArgs) -> Vec<(TokenStream, Evaluated)> {
    let evaluated =
        |value: &dyn ToTokens| match crate::valid::reads_call(function, value.to_token_stream()) {
            true => Evaluated::PerCall,
            false => Evaluated::Once,
        };
    let duration = |value: &DurationValue| match value {
        DurationValue::Expr(expr) => evaluated(expr),
        DurationValue::Known(_) | DurationValue::Reported => Evaluated::Constant,
    };
    let mut setters = Vec::new();
    if let Some(max) = args.max_attempts.get() {
        let how = match literals::is_number(max) {
            true => Evaluated::Constant,
            false => evaluated(max),
        };
        let max = literals::checked(Bound::MaxAttempts, max);
        setters.push((quote!(.max_attempts(#max)), how));
    }
    if let Some(strategy) = names::strategy(args) {
        setters.push((quote!(.strategy(#strategy)), Evaluated::Constant));
    }
    if let Some(delay) = args.delay.get() {
        let how = duration(delay);
        let delay = literals::checked_delay(args).unwrap_or_else(|| delay.to_tokens());
        setters.push((quote!(.base_delay(#delay)), how));
    }
    if let Some(max_delay) = args.max_delay.get() {
        let how = duration(max_delay);
        let max_delay = max_delay.to_tokens();
        setters.push((quote!(.max_delay(#max_delay)), how));
    }
    if let (Some(deadline), Some(key)) = (args.deadline.get(), args.deadline.key_span()) {
        let how = duration(deadline);
        let deadline = literals::checked_duration(literals::DurationBound::Deadline, deadline, key);
        setters.push((quote!(.deadline(#deadline)), how));
    }
    if let (Some(timeout), Some(key)) =
        (args.attempt_timeout.get(), args.attempt_timeout.key_span())
    {
        let how = duration(timeout);
        let timeout = literals::checked_duration(literals::DurationBound::Timeout, timeout, key);
        setters.push((quote!(.attempt_timeout(#timeout)), how));
    }
    if let Some(backoff) = args.backoff.get() {
        let (multiplier, how) = match literals::checked_multiplier(backoff) {
            Some(checked) => (checked, Evaluated::Constant),
            None => (
                quote_spanned!(backoff.span()=> { let __mcpstore_multiplier: f64 = #backoff; __mcpstore_multiplier }),
                evaluated(backoff),
            ),
        };
        setters.push((quote!(.multiplier(#multiplier)), how));
    }
    if let Some(jitter) = args.jitter.get() {
        let (jitter, how) = match jitter {
            JitterValue::None => (quote!(::mcpstore_errors::Jitter::None), Evaluated::Constant),
            JitterValue::Default(span) => (
                quote_spanned!(*span=> ::mcpstore_errors::Jitter::ATTRIBUTE_DEFAULT),
                Evaluated::Constant,
            ),
            JitterValue::Proportional(fraction, end) => {
                let fraction = literals::checked_literal_to(
                    Bound::JitterFraction,
                    &syn::Lit::Float(fraction.clone()),
                    *end,
                );
                (
                    quote!(::mcpstore_errors::Jitter::Proportional(#fraction)),
                    Evaluated::Constant,
                )
            }
            JitterValue::Named(name) => (names::resolve(Table::Jitter, name), Evaluated::Constant),
            JitterValue::Expr(expr) => (
                quote_spanned!(expr.span()=> { let __mcpstore_jitter: ::mcpstore_errors::Jitter = #expr; __mcpstore_jitter }),
                evaluated(expr),
            ),
        };
        setters.push((quote!(.jitter(#jitter)), how));
    }
    setters
}

/// The string literal `expr` is, looking through the invisible groups and parentheses a
/// `macro_rules!` fragment (`$name:literal`, `$name:expr`) arrives in.
fn string_literal(expr: &Expr) -> Option<&syn::LitStr> {
    match crate::args::bare(expr) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(string),
            ..
        }) => Some(string),
        _ => None,
    }
}

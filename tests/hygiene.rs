//! Names in the user's scope never interfere with the generated code, nor does the generated code
//! trigger the user's lints: modules named `core` and `std`, items and arguments named like the
//! loop's locals, shadowed prelude names and macros, look-alike trait methods, and a module
//! without the implicit prelude.
#![deny(unused_qualifications)]
#![deny(unused_variables, unused_mut, unused_imports, unreachable_code)]

// Relative paths `core::…` and `std::…` resolve to these; generated code must not use them.
mod core {}
mod std {}

use ::mcpstore_errors::{ErrorCollector, McpStoreError};
use ::std::sync::LazyLock;
use ::std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

/// Takes the services of `items_named_like_locals` and `shadowed_prelude` down; only the test
/// of those two modules' caches switches it.
static DOWN: AtomicBool = AtomicBool::new(false);

fn next_call(calls: &AtomicU32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst) + 1
}

fn start_failure(call: u32) -> McpStoreError {
    McpStoreError::service_start_failed("fs", format!("attempt {call}"))
}

fn collected_functions() -> Vec<String> {
    COLLECTOR
        .records()
        .iter()
        .map(|record| {
            let record = ::serde_json::to_value(record).unwrap();
            record["context"]["function"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Items named like the generated code's locals. A `let` or closure parameter of the same name
/// in the generated code would not compile: bindings cannot shadow statics or unit structs, and
/// a constant turns the binding into a pattern.
#[allow(non_upper_case_globals, non_camel_case_types, dead_code)]
mod items_named_like_locals {
    use super::{next_call, start_failure};
    use ::mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};
    use ::std::sync::atomic::AtomicU32;

    static attempt: u32 = 0;
    static attempts: u32 = 0;
    static delay: u32 = 0;
    static config: u32 = 0;
    static policy: u32 = 0;
    static sleeper: u32 = 0;
    static collector: u32 = 0;
    static cache: u32 = 0;
    const state: u32 = 0;
    const result: u32 = 0;
    const outcome: u32 = 0;
    const context: u32 = 0;
    const hook: u32 = 0;
    struct error;
    struct value;
    struct future;
    struct output;
    struct key;

    #[retry(max_attempts = 3, delay = 0, on = [ServiceStart], on_retry = |n: u32, _e: &McpStoreError, _d: ::std::time::Duration| { let _ = n; })]
    pub fn retried(calls: &AtomicU32) -> Result<u32, McpStoreError> {
        let call = next_call(calls);
        if call < 3 {
            Err(start_failure(call))
        } else {
            Ok(call)
        }
    }

    #[fallback(cache(ttl = "10m"), default)]
    pub fn fallen_back(name: &str) -> Result<String, McpStoreError> {
        if super::DOWN.load(::std::sync::atomic::Ordering::SeqCst) {
            Err(McpStoreError::service_not_found(name))
        } else {
            Ok(format!("{name} tools"))
        }
    }

    /// Keyed by an expression, beside items named like its locals; `counter` is not keyable.
    #[fallback(cache(key = name.len()), default)]
    pub fn fallen_back_by_key(name: &str, counter: &AtomicU32) -> Result<String, McpStoreError> {
        counter.fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
        if super::DOWN.load(::std::sync::atomic::Ordering::SeqCst) {
            Err(McpStoreError::service_not_found(name))
        } else {
            Ok(format!("{name} tools"))
        }
    }

    #[collect_errors(collector = &super::COLLECTOR, context = {"operation": "items"})]
    pub fn collected() -> Result<(), McpStoreError> {
        Err(McpStoreError::connection("refused"))
    }

    #[retry(max_attempts = 2, delay = 0, retry_if_result = |ok: &bool| !*ok)]
    pub async fn retried_async(calls: &AtomicU32) -> Result<bool, McpStoreError> {
        ::tokio::task::yield_now().await;
        Ok(next_call(calls) == 2)
    }
}

/// Arguments and body locals named like the generated code's locals.
mod arguments_named_like_locals {
    use super::start_failure;
    use ::mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};
    use ::std::sync::atomic::{AtomicU32, Ordering};

    #[retry(max_attempts = 3, delay = 0)]
    pub fn retried(
        attempt: &AtomicU32,
        delay: u64,
        state: &str,
        result: String,
        error: Option<&str>,
        config: (u8, u8),
    ) -> Result<String, McpStoreError> {
        let outcome = attempt.fetch_add(1, Ordering::SeqCst) + 1;
        let value = outcome * 10;
        if outcome < 3 {
            return Err(start_failure(outcome));
        }
        Ok(format!(
            "{delay} {state} {result} {error:?} {config:?} {outcome} {value}"
        ))
    }

    fn backup(state: &str, error: u32) -> Result<String, McpStoreError> {
        Ok(format!("backup {state} {error}"))
    }

    #[fallback(with = backup)]
    pub fn fallen_back(state: &str, error: u32) -> Result<String, McpStoreError> {
        let result: Result<String, McpStoreError> = Err(McpStoreError::connection(state));
        let _ = error;
        result
    }

    #[collect_errors(collector = &super::COLLECTOR, context = {"operation": "arguments"})]
    pub fn collected(context: &str, collector: u32) -> Result<u32, McpStoreError> {
        let error = McpStoreError::configuration(format!("{context} {collector}"));
        Err(error)
    }

    #[fallback(default)]
    #[retry(max_attempts = 2, delay = 0)]
    pub async fn retried_async(attempt: &AtomicU32, future: u32) -> Result<u32, McpStoreError> {
        let state = attempt.fetch_add(1, Ordering::SeqCst) + 1;
        ::tokio::task::yield_now().await;
        if state < 2 {
            Err(start_failure(state))
        } else {
            Ok(future + state)
        }
    }
}

/// Prelude names, standard macros and common traits shadowed by the user's own.
#[allow(dead_code, non_camel_case_types, unused_macros)]
mod shadowed_prelude {
    use super::{next_call, start_failure};
    use ::mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};
    use ::std::sync::atomic::AtomicU32;

    type Result<T, E = McpStoreError> = ::core::result::Result<T, E>;
    struct Option;
    struct Some;
    struct None;
    struct Ok;
    struct Err;
    struct Box;
    struct Vec;
    struct String;
    struct Arc;
    struct Duration;
    struct Instant;
    trait Clone {}
    trait Default {}
    trait Hash {}
    trait Send {}
    trait Sync {}
    trait Fn {}
    trait FnMut {}
    trait Future {}
    trait Into {}
    trait Iterator {}
    trait Drop {}

    macro_rules! module_path {
        () => {
            "not the module path"
        };
    }
    macro_rules! concat {
        ($($t:tt)*) => {
            "not a concatenation"
        };
    }
    macro_rules! stringify {
        ($($t:tt)*) => {
            "not a name"
        };
    }
    macro_rules! format {
        ($($t:tt)*) => {
            ()
        };
    }
    macro_rules! vec {
        ($($t:tt)*) => {
            ()
        };
    }
    macro_rules! panic {
        ($($t:tt)*) => {
            ()
        };
    }
    macro_rules! unreachable {
        ($($t:tt)*) => {
            ()
        };
    }

    #[retry(max_attempts = 3, delay = "1us", jitter = false, on = [ServiceStart])]
    pub fn retried(
        calls: &AtomicU32,
        name: ::std::string::String,
    ) -> Result<::std::string::String> {
        let call = next_call(calls);
        if call < 3 {
            ::core::result::Result::Err(start_failure(call))
        } else {
            ::core::result::Result::Ok(name)
        }
    }

    #[fallback(cache(ttl = "10m", capacity = 4), default = 7)]
    pub fn fallen_back(key: u32) -> Result<u32> {
        if super::DOWN.load(::std::sync::atomic::Ordering::SeqCst) {
            ::core::result::Result::Err(McpStoreError::connection("down"))
        } else {
            ::core::result::Result::Ok(key * 2)
        }
    }

    #[collect_errors(collector = &super::COLLECTOR, context = {"operation": "shadowed"})]
    pub fn collected() -> Result<()> {
        ::core::result::Result::Err(McpStoreError::connection("refused"))
    }

    #[collect_errors(collector = &super::COLLECTOR)]
    #[fallback(default)]
    #[retry(max_attempts = 2, delay = 0)]
    pub async fn stacked_async(calls: &AtomicU32) -> Result<u32> {
        ::tokio::task::yield_now().await;
        let call = next_call(calls);
        if call < 2 {
            ::core::result::Result::Err(start_failure(call))
        } else {
            ::core::result::Result::Ok(call)
        }
    }
}

/// A blanket trait whose methods share names with `Clone`, `Into`, `ToString`, `Hash`, … : a
/// method call by those names on an argument would be ambiguous, so generated code must call
/// through the trait's path.
#[allow(dead_code)]
mod look_alike_methods {
    use super::next_call;
    use ::mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};
    use ::std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    pub trait LookAlike {
        fn clone(&self) -> u8 {
            0
        }
        fn into(self) -> u8
        where
            Self: Sized,
        {
            0
        }
        fn to_string(&self) -> u8 {
            0
        }
        fn to_owned(&self) -> u8 {
            0
        }
        fn hash(&self) -> u8 {
            0
        }
        fn eq(&self) -> u8 {
            0
        }
        fn borrow(&self) -> u8 {
            0
        }
        fn as_ref(&self) -> u8 {
            0
        }
        fn default() -> u8
        where
            Self: Sized,
        {
            0
        }
    }

    impl<T: ?Sized> LookAlike for T {}

    pub static CALLS: AtomicU32 = AtomicU32::new(0);
    pub static DOWN: AtomicBool = AtomicBool::new(false);

    fn backup(name: String, page: u32) -> Result<String, McpStoreError> {
        Ok(format!("{name} page {page} from backup"))
    }

    #[collect_errors(collector = &super::COLLECTOR)]
    #[fallback(cache(ttl = "10m"), with = backup, default)]
    #[retry(max_attempts = 3, delay = 0)]
    pub fn everything(name: String, page: u32) -> Result<String, McpStoreError> {
        let call = next_call(&CALLS);
        if call < 3 || DOWN.load(Ordering::SeqCst) {
            Err(McpStoreError::service_start_failed(name, "busy"))
        } else {
            Ok(format!("{name}#{page}"))
        }
    }
}

/// A blanket trait named like the methods generated code dispatches on by autoref: a user's
/// extension trait in scope made each call ambiguous (E0034), or took it over.
#[allow(dead_code)]
mod look_alike_dispatch {
    use super::next_call;
    use ::mcpstore_errors::{
        McpStoreError, RetryConfig, VirtualSleeper, circuit_breaker, collect_errors, fallback,
        retry,
    };
    use ::std::sync::Arc;
    use ::std::sync::atomic::{AtomicU32, Ordering};

    pub trait Extension {
        fn describe(&self) -> u8 {
            0
        }
        fn describer(&self) -> u8 {
            0
        }
        fn see(&self) -> u8 {
            0
        }
        fn key_source(&self) -> u8 {
            0
        }
        fn timed_out(&self) -> u8 {
            0
        }
        fn collect_into(&self, _: u8) -> u8 {
            0
        }
    }

    impl<T: ?Sized> Extension for T {}

    pub static CALLS: AtomicU32 = AtomicU32::new(0);

    fn backup(page: u32) -> Result<String, McpStoreError> {
        Ok(format!("page {page} from backup"))
    }

    #[collect_errors(collector = &super::COLLECTOR)]
    #[fallback(cache, with = backup, default)]
    #[retry(max_attempts = 2, delay = 0)]
    #[circuit_breaker(service = "look-alike-dispatch")]
    pub fn everything(page: u32) -> Result<String, McpStoreError> {
        match next_call(&CALLS) {
            1 => Ok(format!("page {page}")),
            _ => Err(McpStoreError::connection("down")),
        }
    }

    fn policy() -> RetryConfig {
        RetryConfig::new()
            .max_attempts(2)
            .attempt_timeout(::std::time::Duration::from_secs(1))
            .sleeper(Arc::new(VirtualSleeper::new()))
    }

    #[retry(config = policy())]
    pub async fn timed(calls: &AtomicU32) -> Result<u32, McpStoreError> {
        Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

#[tokio::test]
async fn look_alike_dispatch_methods_do_not_make_calls_ambiguous() {
    use look_alike_dispatch::{everything, timed};
    assert_eq!(everything(1).unwrap(), "page 1");
    assert_eq!(everything(1).unwrap(), "page 1", "from the cache");
    assert_eq!(everything(2).unwrap(), "page 2 from backup");
    let calls = AtomicU32::new(0);
    assert_eq!(timed(&calls).await.unwrap(), 1);
}

/// No prelude at all: generated code names everything by absolute path.
#[no_implicit_prelude]
mod without_prelude {
    use ::core::result::Result;
    use ::mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};
    use ::std::sync::atomic::AtomicU32;

    #[collect_errors(collector = &super::COLLECTOR)]
    #[fallback(default)]
    #[retry(max_attempts = 3, delay = 0)]
    pub fn stacked(calls: &AtomicU32) -> Result<u32, McpStoreError> {
        let call = super::next_call(calls);
        if call < 3 {
            Result::Err(super::start_failure(call))
        } else {
            Result::Ok(call)
        }
    }

    #[retry(max_attempts = 2, delay = 0)]
    pub async fn retried_async(calls: &AtomicU32) -> Result<u32, McpStoreError> {
        let call = super::next_call(calls);
        if call < 2 {
            Result::Err(super::start_failure(call))
        } else {
            Result::Ok(call)
        }
    }

    #[collect_errors(collector = &super::COLLECTOR, context = {"operation": "no prelude", "n": 1})]
    pub fn collected() -> Result<(), McpStoreError> {
        Result::Err(McpStoreError::connection("refused"))
    }
}

fn path_of(module: &str, function: &str) -> String {
    format!("{}::{module}::{function}", module_path!())
}

#[test]
fn items_named_like_locals_do_not_interfere() {
    let calls = AtomicU32::new(0);
    assert_eq!(items_named_like_locals::retried(&calls).unwrap(), 3);
    assert!(items_named_like_locals::collected().is_err());
    assert!(collected_functions().contains(&path_of("items_named_like_locals", "collected")));
}

#[tokio::test]
async fn items_named_like_locals_do_not_interfere_in_async_fns() {
    let calls = AtomicU32::new(0);
    assert!(
        items_named_like_locals::retried_async(&calls)
            .await
            .unwrap()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn arguments_named_like_locals_keep_their_values() {
    let calls = AtomicU32::new(0);
    let text = arguments_named_like_locals::retried(
        &calls,
        5,
        "st",
        "res".to_owned(),
        Some("err"),
        (1, 2),
    )
    .unwrap();
    assert_eq!(text, "5 st res Some(\"err\") (1, 2) 3 30");
    assert_eq!(
        arguments_named_like_locals::fallen_back("fs", 9).unwrap(),
        "backup fs 9"
    );
    assert_eq!(
        arguments_named_like_locals::collected("ctx", 4)
            .unwrap_err()
            .message(),
        "ctx 4"
    );
    assert!(collected_functions().contains(&path_of("arguments_named_like_locals", "collected")));
}

#[tokio::test]
async fn arguments_named_like_locals_keep_their_values_in_async_fns() {
    let calls = AtomicU32::new(0);
    assert_eq!(
        arguments_named_like_locals::retried_async(&calls, 40)
            .await
            .unwrap(),
        42
    );
}

#[test]
fn shadowed_prelude_names_and_macros_do_not_interfere() {
    let calls = AtomicU32::new(0);
    assert_eq!(
        shadowed_prelude::retried(&calls, "fs".to_owned()).unwrap(),
        "fs"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(shadowed_prelude::collected().is_err());
    // The function path comes from the real `module_path!`, `concat!` and `stringify!`.
    assert!(collected_functions().contains(&path_of("shadowed_prelude", "collected")));
}

#[test]
fn caches_and_defaults_work_among_look_alike_names() {
    assert_eq!(
        items_named_like_locals::fallen_back("fs").unwrap(),
        "fs tools"
    );
    assert_eq!(shadowed_prelude::fallen_back(3).unwrap(), 6);
    let counter = AtomicU32::new(0);
    assert_eq!(
        items_named_like_locals::fallen_back_by_key("fs", &counter).unwrap(),
        "fs tools"
    );
    DOWN.store(true, Ordering::SeqCst);
    // Another name of the same length: the same key.
    assert_eq!(
        items_named_like_locals::fallen_back_by_key("db", &counter).unwrap(),
        "fs tools"
    );
    assert_eq!(
        items_named_like_locals::fallen_back_by_key("git", &counter).unwrap(),
        ""
    );
    assert_eq!(counter.load(Ordering::SeqCst), 3);
    assert_eq!(
        items_named_like_locals::fallen_back("fs").unwrap(),
        "fs tools"
    );
    assert_eq!(items_named_like_locals::fallen_back("git").unwrap(), "");
    assert_eq!(shadowed_prelude::fallen_back(3).unwrap(), 6);
    assert_eq!(shadowed_prelude::fallen_back(4).unwrap(), 7);
}

#[tokio::test]
async fn shadowed_prelude_names_do_not_interfere_in_async_fns() {
    let calls = AtomicU32::new(0);
    assert_eq!(shadowed_prelude::stacked_async(&calls).await.unwrap(), 2);
}

#[test]
fn look_alike_trait_methods_do_not_make_calls_ambiguous() {
    use look_alike_methods::{CALLS, DOWN, everything};
    assert_eq!(everything("fs".to_owned(), 2).unwrap(), "fs#2");
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
    DOWN.store(true, Ordering::SeqCst);
    // Served from the cache, then by the alternative.
    assert_eq!(everything("fs".to_owned(), 2).unwrap(), "fs#2");
    assert_eq!(
        everything("git".to_owned(), 1).unwrap(),
        "git page 1 from backup"
    );
    assert_eq!(CALLS.load(Ordering::SeqCst), 9);
}

#[test]
fn no_implicit_prelude_module() {
    let calls = AtomicU32::new(0);
    assert_eq!(without_prelude::stacked(&calls).unwrap(), 3);
    assert!(without_prelude::collected().is_err());
    assert!(collected_functions().contains(&path_of("without_prelude", "collected")));
}

#[tokio::test]
async fn no_implicit_prelude_module_async() {
    let calls = AtomicU32::new(0);
    assert_eq!(without_prelude::retried_async(&calls).await.unwrap(), 2);
}

// Attribute arguments passed through a `macro_rules!` as token trees keep that macro's
// hygiene: the names the expansion binds must still be found.
mod arguments_through_macro_rules {
    use std::sync::LazyLock;

    use mcpstore_errors::{ErrorCollector, McpStoreError, collect_errors, fallback, retry};

    static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(10));

    fn rescue(_n: u32, _error: &McpStoreError) -> Result<u32, McpStoreError> {
        Ok(99)
    }

    macro_rules! retried {
        ($name:ident, $($args:tt)*) => {
            #[retry($($args)*)]
            fn $name(n: u32) -> Result<u32, McpStoreError> {
                if n == 0 { Err(McpStoreError::connection("down")) } else { Ok(n) }
            }
        };
    }

    macro_rules! fallen_back {
        ($name:ident, $($args:tt)*) => {
            #[fallback($($args)*)]
            fn $name(n: u32) -> Result<u32, McpStoreError> {
                if n == 0 { Err(McpStoreError::connection("down")) } else { Ok(n) }
            }
        };
    }

    macro_rules! collected {
        ($name:ident, $($args:tt)*) => {
            #[collect_errors($($args)*)]
            fn $name(n: u32) -> Result<u32, McpStoreError> {
                if n == 0 { Err(McpStoreError::connection("down")) } else { Ok(n) }
            }
        };
    }

    retried!(
        with_when,
        max_attempts = 2,
        delay = 0,
        when = |e: &McpStoreError| e.is_retryable()
    );
    retried!(
        with_hook,
        max_attempts = 2,
        delay = 0,
        on_retry = |_: u32, _: &McpStoreError, _| ()
    );
    retried!(
        with_named_budget,
        max_attempts = 2,
        delay = 0,
        budget = "hygiene-tt"
    );

    // A service name passed as a `literal` or an `expr` fragment arrives in an invisible
    // group; it is still a named budget.
    macro_rules! budgeted {
        ($name:ident, literal $service:literal) => {
            #[retry(max_attempts = 2, delay = 0, budget = $service)]
            fn $name(n: u32) -> Result<u32, McpStoreError> {
                if n == 0 {
                    Err(McpStoreError::connection("down"))
                } else {
                    Ok(n)
                }
            }
        };
        ($name:ident, expr $service:expr) => {
            #[retry(max_attempts = 2, delay = 0, budget = $service)]
            fn $name(n: u32) -> Result<u32, McpStoreError> {
                if n == 0 {
                    Err(McpStoreError::connection("down"))
                } else {
                    Ok(n)
                }
            }
        };
    }
    budgeted!(with_literal_budget, literal "hygiene-literal");
    budgeted!(with_expr_budget, expr "hygiene-expr");

    fallen_back!(with_cache, cache(ttl = "1s"));
    fallen_back!(with_recover, recover = rescue);
    collected!(with_collector, collector = &COLLECTOR);

    #[test]
    fn every_argument_works_through_token_trees() {
        assert!(with_when(0).is_err());
        assert!(with_hook(0).is_err());
        assert_eq!(with_cache(5).unwrap(), 5);
        assert_eq!(with_recover(0).unwrap(), 99);
        assert!(with_collector(0).is_err());
        assert_eq!(COLLECTOR.len(), 1);
        for (call, service) in [
            (
                with_named_budget as fn(u32) -> Result<u32, McpStoreError>,
                "hygiene-tt",
            ),
            (with_literal_budget, "hygiene-literal"),
            (with_expr_budget, "hygiene-expr"),
        ] {
            assert_eq!(call(5).unwrap(), 5);
            let budget = mcpstore_errors::retry_budgets().budget(service);
            assert!(budget.balance() > 0.0, "{service}: the success paid in");
        }
    }
}

/// A parameter named like the generated observer, read by a `when` closure, and jitters that
/// arrive through `macro_rules!` fragments.
mod generated_names_and_fragments {
    use super::start_failure;
    use ::mcpstore_errors::{McpStoreError, retry};
    use ::std::sync::atomic::{AtomicU32, Ordering};

    #[retry(max_attempts = 3, delay = 0, when = |_: &McpStoreError| __mcpstore_observer == 1)]
    pub fn observed(calls: &AtomicU32, __mcpstore_observer: u32) -> Result<u32, McpStoreError> {
        Err(start_failure(calls.fetch_add(1, Ordering::SeqCst) + 1))
    }

    macro_rules! jittered {
        ($name:ident, literal $jitter:literal) => {
            #[retry(max_attempts = 2, delay = 0, jitter = $jitter)]
            pub fn $name(calls: &AtomicU32) -> Result<u32, McpStoreError> {
                Err(start_failure(calls.fetch_add(1, Ordering::SeqCst) + 1))
            }
        };
        ($name:ident, expr $jitter:expr) => {
            #[retry(max_attempts = 2, delay = 0, jitter = $jitter)]
            pub fn $name(calls: &AtomicU32) -> Result<u32, McpStoreError> {
                Err(start_failure(calls.fetch_add(1, Ordering::SeqCst) + 1))
            }
        };
    }
    jittered!(fraction_literal, literal 0.1);
    jittered!(on_literal, literal true);
    jittered!(off_literal, literal false);
    jittered!(fraction_expr, expr 0.5);
    jittered!(named_expr, expr full);

    pub type Jittered = fn(&AtomicU32) -> Result<u32, McpStoreError>;
    pub const JITTERED: [Jittered; 5] = [
        fraction_literal,
        on_literal,
        off_literal,
        fraction_expr,
        named_expr,
    ];
}

#[test]
fn a_when_closure_reads_the_users_variable_named_like_the_generated_observer() {
    use generated_names_and_fragments::observed;
    let calls = AtomicU32::new(0);
    assert!(observed(&calls, 1).is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "retried: the closure saw 1"
    );
    let calls = AtomicU32::new(0);
    assert!(observed(&calls, 0).is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "not retried: the closure saw 0"
    );
}

#[test]
fn a_jitter_through_a_macro_rules_fragment_is_the_value_written() {
    for jittered in generated_names_and_fragments::JITTERED {
        let calls = AtomicU32::new(0);
        assert!(jittered(&calls).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}

mod fallback_default_names {
    use ::mcpstore_errors::{McpStoreError, fallback};

    /// The default step's own binding does not hide an argument of the same name.
    #[allow(non_snake_case)]
    #[fallback(default = __mcpstore_describe * 2)]
    pub fn doubled(__mcpstore_describe: u32) -> Result<u32, McpStoreError> {
        Err(McpStoreError::connection(format!(
            "no {__mcpstore_describe}"
        )))
    }

    /// A default that diverges leaves no unreachable code of the expansion's behind
    /// (this file denies `unreachable_code`).
    #[fallback(default = panic!("no default for {}", id))]
    pub fn diverging(id: u32) -> Result<u32, McpStoreError> {
        if id == 0 {
            return Err(McpStoreError::connection("refused"));
        }
        Ok(id)
    }
}

#[test]
fn a_default_reads_the_users_argument_and_may_diverge() {
    assert_eq!(fallback_default_names::doubled(21).unwrap(), 42);
    assert_eq!(fallback_default_names::diverging(7).unwrap(), 7);
    let panicked = ::std::panic::catch_unwind(|| fallback_default_names::diverging(0));
    assert!(panicked.is_err(), "the default's panic is the call's");
}

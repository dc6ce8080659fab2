//! Function shapes the attributes must compile and run: pinned and `&mut` receivers moved
//! inside the body, `no_clone` on `mut` parameters, functions made by `macro_rules!`,
//! one-expression `async` bodies, `crate = path`, a `config` that panicked once, and by-value
//! arguments passed to each run.
// A one-expression `async fn` body must not draw this lint from the expansion.
#![deny(unused_braces)]
// An argument read only by the attribute's predicates is used, not "unused".
#![deny(unused_variables)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use mcpstore_errors::{
    ErrorCollector, McpStoreError, RetryConfig, VirtualSleeper, circuit_breaker, collect_errors,
    fallback, retry, timeout,
};

fn failure(attempt: u32) -> McpStoreError {
    McpStoreError::service_start_failed("fs", format!("attempt {attempt}"))
}

/// `Err` for attempts before `succeed_at`, then the attempt's number.
fn outcome(attempt: u32, succeed_at: u32) -> Result<u32, McpStoreError> {
    if attempt < succeed_at {
        Err(failure(attempt))
    } else {
        Ok(attempt)
    }
}

// ---------------------------------------------------------------------------------------------
// `self: Pin<&mut Self>`

#[derive(Default)]
struct Pinned {
    attempts: u32,
}

impl Pinned {
    /// Consumes its `Pin` (`get_mut`), so each attempt needs its own reborrow.
    #[retry(max_attempts = 4, delay = 0)]
    fn bump(self: Pin<&mut Self>, succeed_at: u32) -> Result<u32, McpStoreError> {
        let this = self.get_mut();
        this.attempts += 1;
        outcome(this.attempts, succeed_at)
    }

    #[retry(max_attempts = 4, delay = 0)]
    async fn bump_async(self: Pin<&mut Self>, succeed_at: u32) -> Result<u32, McpStoreError> {
        let this = self.get_mut();
        this.attempts += 1;
        outcome(this.attempts, succeed_at)
    }
}

/// A pinned argument rather than a receiver.
#[retry(max_attempts = 3, delay = 0)]
fn bump_pinned(counter: Pin<&mut u32>, succeed_at: u32) -> Result<u32, McpStoreError> {
    let counter = counter.get_mut();
    *counter += 1;
    outcome(*counter, succeed_at)
}

#[test]
fn pinned_receivers_are_reborrowed_for_each_attempt() {
    let mut pinned = Pinned::default();
    assert_eq!(Pin::new(&mut pinned).bump(3).unwrap(), 3);
    assert_eq!(pinned.attempts, 3);

    let mut counter = 0;
    assert_eq!(bump_pinned(Pin::new(&mut counter), 2).unwrap(), 2);
    assert_eq!(counter, 2);
    // Exhausted: every attempt counted, the last error returned.
    let mut counter = 0;
    let error = bump_pinned(Pin::new(&mut counter), 10).unwrap_err();
    assert_eq!(counter, 3);
    assert!(error.to_string().contains("attempt 3"), "{error}");
}

#[tokio::test]
async fn pinned_receivers_of_async_methods_are_reborrowed_for_each_attempt() {
    let mut pinned = Pinned::default();
    assert_eq!(Pin::new(&mut pinned).bump_async(2).await.unwrap(), 2);
    assert_eq!(pinned.attempts, 2);
}

// ---------------------------------------------------------------------------------------------
// `&mut self` and `&mut T` moved inside the body

#[derive(Debug, Default)]
struct Session {
    attempts: u32,
}

fn bump_session(session: &mut Session) -> u32 {
    session.attempts += 1;
    session.attempts
}

impl Session {
    /// `self` is moved into a `move` closure.
    #[retry(max_attempts = 3, delay = 0)]
    fn in_move_closure(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        let mut step = move || bump_session(self);
        outcome(step(), succeed_at)
    }

    /// `self` is passed on by value (`let`), not reborrowed.
    #[retry(max_attempts = 3, delay = 0)]
    fn passed_on(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        let moved: &mut Session = self;
        outcome(bump_session(moved), succeed_at)
    }

    /// `self` is moved into an `async move` block.
    #[retry(max_attempts = 3, delay = 0)]
    async fn in_async_move(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        let attempt = async move { bump_session(self) }.await;
        outcome(attempt, succeed_at)
    }

    /// With `#[tracing::instrument]` above, which moves the whole body into its own block.
    #[tracing::instrument(skip(self), err)]
    #[retry(max_attempts = 3, delay = 0)]
    fn instrumented(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        let moved = self;
        outcome(bump_session(moved), succeed_at)
    }

    #[tracing::instrument(skip(self), err)]
    #[retry(max_attempts = 3, delay = 0)]
    async fn instrumented_async(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        let attempt = async move { bump_session(self) }.await;
        outcome(attempt, succeed_at)
    }
}

/// A `&mut T` argument moved into a `move` closure, then into an `async move` block.
#[retry(max_attempts = 3, delay = 0)]
fn push_in_closure(items: &mut Vec<u32>, succeed_at: u32) -> Result<usize, McpStoreError> {
    let mut push = move |item| {
        items.push(item);
        items.len()
    };
    let len = push(7);
    outcome(len as u32, succeed_at).map(|_| len)
}

#[retry(max_attempts = 3, delay = 0)]
async fn push_in_async_move(items: &mut Vec<u32>, succeed_at: u32) -> Result<usize, McpStoreError> {
    let len = async move {
        items.push(7);
        items.len()
    }
    .await;
    outcome(len as u32, succeed_at).map(|_| len)
}

#[tracing::instrument(skip(items), err)]
#[retry(max_attempts = 3, delay = 0)]
fn push_instrumented(items: &mut Vec<u32>, succeed_at: u32) -> Result<usize, McpStoreError> {
    let moved = items;
    moved.push(7);
    outcome(moved.len() as u32, succeed_at).map(|_| moved.len())
}

#[test]
fn mut_self_moved_inside_the_body_is_reborrowed_for_each_attempt() {
    let mut session = Session::default();
    assert_eq!(session.in_move_closure(3).unwrap(), 3);
    assert_eq!(session.attempts, 3);

    let mut session = Session::default();
    assert_eq!(session.passed_on(2).unwrap(), 2);
    assert_eq!(session.attempts, 2);

    let mut session = Session::default();
    assert!(session.instrumented(10).is_err());
    assert_eq!(
        session.attempts, 3,
        "three attempts, each seeing the last one's change"
    );
}

#[test]
fn mut_arguments_moved_inside_the_body_are_reborrowed_for_each_attempt() {
    let mut items = Vec::new();
    assert_eq!(push_in_closure(&mut items, 3).unwrap(), 3);
    assert_eq!(items, [7, 7, 7]);

    let mut items = Vec::new();
    assert_eq!(push_instrumented(&mut items, 2).unwrap(), 2);
    assert_eq!(items, [7, 7]);
}

#[tokio::test]
async fn mut_self_and_arguments_moved_into_async_blocks() {
    let mut session = Session::default();
    assert_eq!(session.in_async_move(2).await.unwrap(), 2);
    assert_eq!(session.attempts, 2);

    let mut session = Session::default();
    assert_eq!(session.instrumented_async(3).await.unwrap(), 3);
    assert_eq!(session.attempts, 3);

    let mut items = vec![1];
    assert_eq!(push_in_async_move(&mut items, 4).await.unwrap(), 4);
    assert_eq!(items, [1, 7, 7, 7]);
}

// ---------------------------------------------------------------------------------------------
// `no_clone` on a `mut` parameter

/// `f` is neither `Clone` nor moved: every attempt calls the same closure.
#[retry(max_attempts = 4, delay = 0, no_clone = [f])]
fn call_fn_mut(mut f: impl FnMut() -> u32, succeed_at: u32) -> Result<u32, McpStoreError> {
    outcome(f(), succeed_at)
}

#[retry(max_attempts = 4, delay = 0, no_clone = [f])]
async fn call_fn_mut_async(
    mut f: impl FnMut() -> u32,
    succeed_at: u32,
) -> Result<u32, McpStoreError> {
    outcome(f(), succeed_at)
}

/// A `mut` buffer that is not `Clone`: attempts share it.
struct Buffer(Vec<u32>);

#[retry(max_attempts = 3, delay = 0, no_clone = [buffer])]
fn fill(mut buffer: Buffer, succeed_at: u32) -> Result<Vec<u32>, McpStoreError> {
    buffer.0.push(buffer.0.len() as u32);
    outcome(buffer.0.len() as u32, succeed_at)?;
    Ok(std::mem::take(&mut buffer.0))
}

/// Under `#[fallback]` too, which hands the argument to the strategy after the original call.
#[fallback(default = 0, no_clone = [f])]
fn call_or_zero(mut f: impl FnMut() -> u32, succeed_at: u32) -> Result<u32, McpStoreError> {
    outcome(f(), succeed_at)
}

#[test]
fn no_clone_mut_parameters_are_shared_by_every_attempt() {
    let mut calls = 0;
    assert_eq!(
        call_fn_mut(
            || {
                calls += 1;
                calls
            },
            3
        )
        .unwrap(),
        3
    );
    assert_eq!(calls, 3);

    assert_eq!(fill(Buffer(Vec::new()), 3).unwrap(), [0, 1, 2]);

    let mut calls = 0;
    let counted = || {
        calls += 1;
        calls
    };
    assert_eq!(call_or_zero(counted, 2).unwrap(), 0);
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn no_clone_mut_parameters_of_async_functions() {
    let mut calls = 0;
    let counted = || {
        calls += 1;
        calls
    };
    assert_eq!(call_fn_mut_async(counted, 2).await.unwrap(), 2);
    assert_eq!(calls, 2);
}

// ---------------------------------------------------------------------------------------------
// Functions made by `macro_rules!`

static MACRO_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(16));
static RENAMED_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(16));

/// A `$body:block` body.
macro_rules! retried_with_body {
    ($name:ident, $calls:ident, $body:block) => {
        #[retry(max_attempts = 3, delay = 0)]
        fn $name($calls: &AtomicU32) -> Result<u32, McpStoreError> $body
    };
}

retried_with_body!(from_block, calls, {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    outcome(attempt, 3)
});

/// `$t:ty` parameters (one `&mut Vec<u32>`) and `-> $ret:ty`.
macro_rules! retried_with_types {
    ($name:ident, $items:ty, $ret:ty) => {
        #[retry(max_attempts = 3, delay = 0)]
        fn $name(items: $items, succeed_at: u32) -> $ret {
            items.push(items.len() as u32);
            outcome(items.len() as u32, succeed_at)
        }
    };
}

retried_with_types!(from_types, &mut Vec<u32>, Result<u32, McpStoreError>);

/// `-> $ret:ty` with `cache`, which needs the `Ok` type.
macro_rules! cached {
    ($name:ident, $ret:ty) => {
        #[fallback(cache(ttl = "1h"))]
        fn $name(key: u32) -> $ret {
            if SERVICE_DOWN.load(Ordering::SeqCst) {
                Err(failure(key))
            } else {
                Ok(key * 10)
            }
        }
    };
}

/// Whether `cached_by_macro` fails (an argument would be part of the cache key).
static SERVICE_DOWN: AtomicBool = AtomicBool::new(false);

cached!(cached_by_macro, Result<u32, McpStoreError>);

/// Attributes forwarded through `$(#[$m:meta])*`.
macro_rules! with_attributes {
    ($(#[$m:meta])* fn $name:ident) => {
        $(#[$m])*
        fn $name(calls: &AtomicU32) -> Result<u32, McpStoreError> {
            let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
            outcome(attempt, 10)
        }
    };
}

with_attributes! {
    #[collect_errors(collector = &MACRO_COLLECTOR)]
    #[retry(max_attempts = 2, delay = 0)]
    fn forwarded
}

/// Recovers from the second attempt on.
fn recover_after_two(calls: &AtomicU32, error: &McpStoreError) -> Result<u32, McpStoreError> {
    if calls.load(Ordering::SeqCst) >= 2 {
        Ok(0)
    } else {
        Err(error.clone())
    }
}

static HOOK_CALLS: AtomicU32 = AtomicU32::new(0);

with_attributes! {
    #[retry(max_attempts = 3, delay = 0, when = |_: &McpStoreError| true,
            on_retry = |_, _, _| { HOOK_CALLS.fetch_add(1, Ordering::SeqCst); })]
    #[fallback(recover = recover_after_two)]
    fn forwarded_keys
}

static FORWARDED_DOWN: AtomicBool = AtomicBool::new(false);

macro_rules! with_attributes_keyed {
    ($(#[$m:meta])* fn $name:ident) => {
        $(#[$m])*
        fn $name(key: u32) -> Result<u32, McpStoreError> {
            if FORWARDED_DOWN.load(Ordering::SeqCst) {
                Err(failure(key))
            } else {
                Ok(key + 1)
            }
        }
    };
}

with_attributes_keyed! {
    #[fallback(cache(capacity = 8))]
    fn forwarded_cache
}

#[test]
fn functions_made_by_macro_rules() {
    let calls = AtomicU32::new(0);
    assert_eq!(from_block(&calls).unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let mut items = Vec::new();
    assert_eq!(from_types(&mut items, 3).unwrap(), 3);
    assert_eq!(items, [0, 1, 2]);

    assert_eq!(cached_by_macro(4).unwrap(), 40);
    SERVICE_DOWN.store(true, Ordering::SeqCst);
    assert_eq!(cached_by_macro(4).unwrap(), 40, "served from the cache");
    assert!(cached_by_macro(5).is_err(), "nothing cached for this key");

    let calls = AtomicU32::new(0);
    assert!(forwarded(&calls).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 2, "retried as forwarded");
    assert_eq!(
        MACRO_COLLECTOR.len(),
        1,
        "collected once, after the retries"
    );

    // Every key whose expression the expansion wraps, forwarded the same way.
    let calls = AtomicU32::new(0);
    assert_eq!(
        forwarded_keys(&calls).unwrap(),
        0,
        "recovered on the second attempt"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        HOOK_CALLS.load(Ordering::SeqCst),
        1,
        "the hook ran before the retry"
    );

    assert_eq!(forwarded_cache(1).unwrap(), 2);
    FORWARDED_DOWN.store(true, Ordering::SeqCst);
    assert_eq!(forwarded_cache(1).unwrap(), 2, "served from the cache");
    assert!(forwarded_cache(2).is_err());
}

// ---------------------------------------------------------------------------------------------
// One-expression bodies, sync and `async` (the file denies `unused_braces`)

#[rustfmt::skip]
#[retry(max_attempts = 2, delay = 0)]
async fn one_expression() -> Result<u8, McpStoreError> { Ok(1) }

#[rustfmt::skip]
#[fallback(default = 2)]
async fn one_expression_fallback() -> Result<u8, McpStoreError> { Err(failure(1)) }

// On one line, as the lint only looks at blocks written on one line.
#[rustfmt::skip]
#[retry(max_attempts = 2, delay = 0)]
fn one_expression_sync() -> Result<u8, McpStoreError> { Ok(1) }

#[rustfmt::skip]
#[retry(max_attempts = 2, delay = 0)]
fn one_expression_with_a_pattern((first, _second): (u8, u8)) -> Result<u8, McpStoreError> { Ok(first) }

#[test]
fn one_expression_sync_bodies() {
    assert_eq!(one_expression_sync().unwrap(), 1);
    assert_eq!(one_expression_with_a_pattern((3, 4)).unwrap(), 3);
}

#[tokio::test]
async fn one_expression_async_bodies() {
    assert_eq!(one_expression().await.unwrap(), 1);
    assert_eq!(one_expression_fallback().await.unwrap(), 2);
}

// ---------------------------------------------------------------------------------------------
// `crate = path`

mod reexport {
    pub use mcpstore_errors as inner;
}

use mcpstore_errors as renamed;

#[retry(crate = reexport::inner, max_attempts = 3, delay = 0)]
fn through_reexport(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    outcome(calls.fetch_add(1, Ordering::SeqCst) + 1, 3)
}

#[renamed::retry(crate = renamed, max_attempts = 2, delay = 0)]
#[renamed::fallback(default = 9)]
#[renamed::collect_errors(collector = &RENAMED_COLLECTOR)]
fn through_renamed(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    outcome(calls.fetch_add(1, Ordering::SeqCst) + 1, 10)
}

#[fallback(crate = ::mcpstore_errors, default = 5)]
async fn through_absolute() -> Result<u32, McpStoreError> {
    Err(failure(1))
}

#[test]
fn crate_option_names_a_renamed_or_reexported_dependency() {
    let calls = AtomicU32::new(0);
    assert_eq!(through_reexport(&calls).unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // Stacked under a renamed path: one expansion, outermost first, so the body's error is
    // collected, then replaced by the default, which the retry accepts. (Expanded one by one,
    // the fallback would wrap the retry: two attempts, nothing collected.)
    let calls = AtomicU32::new(0);
    assert_eq!(through_renamed(&calls).unwrap(), 9);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(RENAMED_COLLECTOR.len(), 1);
}

#[tokio::test]
async fn crate_option_with_an_absolute_path() {
    assert_eq!(through_absolute().await.unwrap(), 5);
}

// ---------------------------------------------------------------------------------------------
// A `config` that panicked once

static CONFIG_CALLS: AtomicU32 = AtomicU32::new(0);

fn flaky_config() -> RetryConfig {
    if CONFIG_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        panic!("configuration not ready");
    }
    RetryConfig::default()
        .max_attempts(3)
        .base_delay(std::time::Duration::ZERO)
}

#[retry(config = flaky_config())]
fn configured(calls: &AtomicU32) -> Result<u32, McpStoreError> {
    outcome(calls.fetch_add(1, Ordering::SeqCst) + 1, 10)
}

#[test]
fn a_config_that_panicked_once_is_built_again_by_the_next_call() {
    let calls = AtomicU32::new(0);
    let first = catch_unwind(AssertUnwindSafe(|| configured(&calls)));
    assert!(first.is_err(), "the first call panics with its config");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no attempt without a policy"
    );

    let error = configured(&calls).unwrap_err();
    assert!(error.to_string().contains("attempt 3"), "{error}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the config of the second call applies"
    );
    assert!(configured(&calls).is_err());
    assert_eq!(
        CONFIG_CALLS.load(Ordering::SeqCst),
        2,
        "built once it succeeded"
    );
}

// ---------------------------------------------------------------------------------------------
// By-value arguments passed to each run (not captured): each run gets its own copy, and the
// predicates written in the attribute see the caller's values on the first attempt and on the
// retries alike

#[retry(max_attempts = 4, delay = 0)]
fn appends(
    mut label: String,
    (low, high): (u32, u32),
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> Result<u32, McpStoreError> {
    label.push_str("-run");
    let mut seen = seen.lock().unwrap();
    seen.push(label);
    outcome(seen.len() as u32, high - low)
}

#[test]
fn each_run_gets_a_fresh_copy_of_a_by_value_argument_and_its_pattern() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    assert_eq!(appends("fs".to_owned(), (1, 4), seen.clone()).unwrap(), 3);
    assert_eq!(*seen.lock().unwrap(), ["fs-run", "fs-run", "fs-run"]);
}

#[retry(
    max_attempts = 5,
    delay = 0,
    when = |_: &McpStoreError| limit > 0,
    retry_if_result = |value: &u32| *value < limit && name.len() == 2
)]
fn until_limit(
    limit: u32,
    name: String,
    calls: std::sync::Arc<AtomicU32>,
) -> Result<u32, McpStoreError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 {
        return Err(failure(call));
    }
    Ok(call + name.len() as u32 - 2)
}

#[test]
fn predicates_read_the_arguments_before_and_after_the_first_failure() {
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    // Attempt 1 fails (retried: `limit > 0`), 2 and 3 are rejected (below the limit), 4 is kept.
    assert_eq!(until_limit(4, "fs".to_owned(), calls.clone()).unwrap(), 4);
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    let calls = std::sync::Arc::new(AtomicU32::new(1));
    // The first attempt succeeds with 2, under the limit: rejected once, then 3 is kept.
    assert_eq!(until_limit(3, "fs".to_owned(), calls.clone()).unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let calls = std::sync::Arc::new(AtomicU32::new(0));
    // `when` refuses the first error: no retry.
    assert!(until_limit(0, "fs".to_owned(), calls.clone()).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[derive(Clone, Debug, PartialEq)]
struct Ticket<T> {
    id: T,
    runs: u32,
}

impl<T: Clone + std::fmt::Debug> Ticket<T> {
    /// `self` and a generic argument by value: each run starts from the caller's.
    #[retry(max_attempts = 3, delay = 0)]
    fn redeem<U: Clone>(
        mut self,
        tag: U,
        calls: std::sync::Arc<AtomicU32>,
    ) -> Result<(Self, U), McpStoreError> {
        self.runs += 1;
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        outcome(call, 3)?;
        Ok((self, tag))
    }
}

#[test]
fn by_value_self_and_generic_arguments_are_fresh_for_each_run() {
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let (ticket, tag) = Ticket { id: 7u8, runs: 0 }
        .redeem("t", calls.clone())
        .unwrap();
    assert_eq!(ticket, Ticket { id: 7, runs: 1 });
    assert_eq!(tag, "t");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// A lifetime left out of a by-value argument's type (`Cow<str>`) is tied to the result's, as
/// in the signature, for each run too.
#[allow(elided_lifetimes_in_paths)]
#[retry(max_attempts = 3, delay = 0)]
fn echoes(
    text: std::borrow::Cow<str>,
    calls: std::sync::Arc<AtomicU32>,
) -> Result<std::borrow::Cow<str>, McpStoreError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    outcome(call, 2)?;
    Ok(text)
}

#[test]
fn an_elided_lifetime_in_a_by_value_argument_flows_to_the_result() {
    let owner = String::from("tools/list");
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let echoed = echoes(std::borrow::Cow::Borrowed(&owner), calls.clone()).unwrap();
    assert_eq!(echoed, "tools/list");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

static TRIMS: AtomicU32 = AtomicU32::new(0);

/// A shared reference passed to each run: the result may borrow from it, as the signature says.
#[retry(max_attempts = 3, delay = 0)]
fn trimmed(text: &str) -> Result<&str, McpStoreError> {
    let call = TRIMS.fetch_add(1, Ordering::SeqCst) + 1;
    outcome(call, 2)?;
    Ok(text.trim())
}

#[test]
fn a_shared_reference_passed_to_each_run_lends_the_result() {
    let owner = String::from("  tools/list ");
    assert_eq!(trimmed(&owner).unwrap(), "tools/list");
    assert_eq!(TRIMS.load(Ordering::SeqCst), 2);
}

/// `text` is read by the predicate alone (the file denies `unused_variables`).
#[retry(
    max_attempts = 4,
    delay = 0,
    retry_if_result = |count: &u32| *count < min && !text.is_empty()
)]
fn counted(text: &str, min: u32, calls: &AtomicU32) -> Result<u32, McpStoreError> {
    Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
}

#[test]
fn predicates_read_shared_references_passed_to_each_run() {
    let calls = AtomicU32::new(0);
    assert_eq!(counted("fs", 3, &calls).unwrap(), 3);
    let calls = AtomicU32::new(0);
    assert_eq!(
        counted("", 3, &calls).unwrap(),
        1,
        "an empty text accepts the first"
    );
}

// `no_clone = [self]`: a receiver that is not `Clone`, taken by value, that the body only
// borrows.
struct Counter {
    attempts: std::cell::Cell<u32>,
}

impl Counter {
    #[retry(max_attempts = 3, delay = 0, no_clone = [self])]
    fn boxed(self: Box<Self>, succeed_at: u32) -> Result<u32, McpStoreError> {
        self.attempts.set(self.attempts.get() + 1);
        outcome(self.attempts.get(), succeed_at)
    }

    #[retry(max_attempts = 3, delay = 0, no_clone = [self])]
    async fn owned(self, succeed_at: u32) -> Result<u32, McpStoreError> {
        self.attempts.set(self.attempts.get() + 1);
        outcome(self.attempts.get(), succeed_at)
    }
}

#[tokio::test]
async fn no_clone_self_shares_the_receiver_between_attempts() {
    let counter = || Counter {
        attempts: std::cell::Cell::new(0),
    };
    assert_eq!(Box::new(counter()).boxed(3).unwrap(), 3);
    assert_eq!(counter().owned(2).await.unwrap(), 2);
}

// Borrows a retried method may return: of a shared receiver, 'static, or of another argument.
struct Names {
    attempts: std::cell::Cell<u32>,
    first: String,
}

impl Names {
    #[retry(max_attempts = 3, delay = 0)]
    fn peek(&self) -> Result<&str, McpStoreError> {
        self.attempts.set(self.attempts.get() + 1);
        outcome(self.attempts.get(), 2)?;
        Ok(&self.first)
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn label(&mut self) -> Result<&'static str, McpStoreError> {
        self.attempts.set(self.attempts.get() + 1);
        outcome(self.attempts.get(), 4)?;
        Ok("names")
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn first_of<'a>(&mut self, names: &'a [String]) -> Result<&'a str, McpStoreError> {
        self.attempts.set(self.attempts.get() + 1);
        outcome(self.attempts.get(), 6)?;
        Ok(names.first().map_or("", String::as_str))
    }
}

#[test]
fn a_retried_method_returns_borrows_not_of_a_mut_argument() {
    let mut names = Names {
        attempts: std::cell::Cell::new(0),
        first: "fs".to_owned(),
    };
    assert_eq!(names.peek().unwrap(), "fs");
    assert_eq!(names.label().unwrap(), "names");
    let list = ["git".to_owned()];
    assert_eq!(names.first_of(&list).unwrap(), "git");
    assert_eq!(names.attempts.get(), 6);
}

// Owned values whose types hold references of their own (higher-ranked), and a borrow of a
// lifetime a shared argument carries too: none borrows the `&mut` argument.
struct Handlers {
    attempts: u32,
}

// The signature must name the `Fn(..)` type itself, not an alias the check cannot see through.
#[allow(clippy::type_complexity)]
impl Handlers {
    #[retry(max_attempts = 3, delay = 0)]
    fn handler(&mut self) -> Result<Box<dyn Fn(&str) -> usize>, McpStoreError> {
        self.attempts += 1;
        outcome(self.attempts, 2)?;
        Ok(Box::new(str::len))
    }

    #[retry(max_attempts = 3, delay = 0)]
    fn parser(&mut self) -> Result<fn(&str) -> &str, McpStoreError> {
        self.attempts += 1;
        outcome(self.attempts, 4)?;
        Ok(str::trim)
    }
}

#[retry(max_attempts = 3, delay = 0)]
fn pushed_then_shared<'a>(log: &'a mut Vec<u8>, name: &'a str) -> Result<&'a str, McpStoreError> {
    log.push(1);
    outcome(log.len() as u32, 2)?;
    Ok(name)
}

#[test]
fn values_that_hold_their_own_references_are_not_borrows_of_a_mut_argument() {
    let mut handlers = Handlers { attempts: 0 };
    assert_eq!(handlers.handler().unwrap()("four"), 4);
    assert_eq!(handlers.parser().unwrap()(" x "), "x");
    let mut log = Vec::new();
    assert_eq!(pushed_then_shared(&mut log, "fs").unwrap(), "fs");
    assert_eq!(log, [1, 1]);
}

// A parameter's own lint levels reach the copy each run gets: the crate denies
// `unused_variables`, which these parameters would otherwise raise.

#[retry(max_attempts = 2, delay = 0)]
fn retried_with_an_unused_parameter(
    #[allow(unused_variables)] name: String,
    #[expect(unused_variables)] page: u32,
) -> Result<u32, McpStoreError> {
    Ok(1)
}

#[retry(max_attempts = 2, delay = 0)]
async fn retried_async_with_an_unused_parameter(
    #[allow(unused_variables)] name: String,
) -> Result<u32, McpStoreError> {
    Ok(2)
}

#[fallback(default)]
#[collect_errors]
fn fallen_back_with_an_unused_parameter(
    #[allow(unused_variables)] name: String,
) -> Result<u32, McpStoreError> {
    Ok(3)
}

#[test]
fn a_parameters_lint_levels_reach_each_runs_copy() {
    assert_eq!(
        retried_with_an_unused_parameter("fs".to_owned(), 1).unwrap(),
        1
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        runtime
            .block_on(retried_async_with_an_unused_parameter("fs".to_owned()))
            .unwrap(),
        2
    );
    assert_eq!(
        fallen_back_with_an_unused_parameter("fs".to_owned()).unwrap(),
        3
    );
}

#[retry(max_attempts = 2, delay = 0)]
fn retried_with_an_unused_mut_parameter(
    #[allow(unused_variables, unused_mut)] mut name: String,
) -> Result<u32, McpStoreError> {
    Ok(4)
}

#[retry(max_attempts = 2, delay = 0)]
fn retried_with_a_half_unused_pattern(
    #[allow(unused_variables)] (used, unused): (u32, u32),
) -> Result<u32, McpStoreError> {
    Ok(used)
}

#[retry(max_attempts = 2, delay = 0)]
fn retried_with_a_conditional_lint_level(
    #[cfg_attr(not(any()), allow(unused_variables))] name: String,
) -> Result<u32, McpStoreError> {
    Ok(6)
}

#[test]
fn lint_levels_reach_patterns_and_conditional_levels() {
    assert_eq!(
        retried_with_an_unused_mut_parameter("fs".to_owned()).unwrap(),
        4
    );
    assert_eq!(retried_with_a_half_unused_pattern((5, 0)).unwrap(), 5);
    assert_eq!(
        retried_with_a_conditional_lint_level("fs".to_owned()).unwrap(),
        6
    );
}

// `ref mut` parameter patterns: each run borrows its own copy mutably, as the plain function
// borrows its argument.

static REF_MUT_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(max_attempts = 3, delay = 0)]
fn pushes_through_ref_mut(ref mut seen: Vec<u32>) -> Result<Vec<u32>, McpStoreError> {
    let attempt = REF_MUT_RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    seen.push(attempt);
    outcome(attempt, 3)?;
    Ok(seen.clone())
}

#[fallback(default)]
fn falls_back_through_ref_mut(ref mut seen: Vec<u32>) -> Result<usize, McpStoreError> {
    seen.push(1);
    Err(failure(seen.len() as u32))
}

#[collect_errors(collector = &SHAPES_COLLECTOR)]
#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
async fn tuple_with_ref_mut((ref mut items, extra): (Vec<u8>, u8)) -> Result<usize, McpStoreError> {
    items.push(extra);
    Ok(items.len())
}

static SHAPES_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(16));

#[test]
fn ref_mut_parameters_borrow_each_runs_own_copy() {
    REF_MUT_RUNS.store(0, Ordering::SeqCst);
    assert_eq!(
        pushes_through_ref_mut(vec![0]).unwrap(),
        [0, 3],
        "the third run's copy"
    );
    assert_eq!(falls_back_through_ref_mut(Vec::new()).unwrap(), 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        runtime.block_on(tuple_with_ref_mut((vec![1], 2))).unwrap(),
        2
    );
}

// `Option<&mut T>` arguments: reborrowed for each run, as a `&mut T` is.

#[retry(max_attempts = 3, delay = 0)]
fn logs_into_an_optional_buffer(
    log: Option<&mut Vec<u32>>,
    attempts: &AtomicU32,
) -> Result<u32, McpStoreError> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = log {
        log.push(attempt);
    }
    outcome(attempt, 3)
}

#[collect_errors(collector = &SHAPES_COLLECTOR)]
#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
async fn counts_into_an_optional_counter(counter: Option<&mut u32>) -> Result<u32, McpStoreError> {
    let counter = counter.ok_or_else(|| McpStoreError::connection("no counter"))?;
    *counter += 1;
    Ok(*counter)
}

#[test]
fn optional_mut_arguments_are_reborrowed_by_each_run() {
    let attempts = AtomicU32::new(0);
    let mut log = Vec::new();
    assert_eq!(
        logs_into_an_optional_buffer(Some(&mut log), &attempts).unwrap(),
        3
    );
    assert_eq!(log, [1, 2, 3], "every run wrote to the caller's buffer");
    attempts.store(0, Ordering::SeqCst);
    assert_eq!(logs_into_an_optional_buffer(None, &attempts).unwrap(), 3);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut counter = 4;
    assert_eq!(
        runtime
            .block_on(counts_into_an_optional_counter(Some(&mut counter)))
            .unwrap(),
        5
    );
    assert_eq!(counter, 5);
    assert_eq!(
        runtime
            .block_on(counts_into_an_optional_counter(None))
            .unwrap(),
        0,
        "the default"
    );
}

// A sync retried body that opens with an inner attribute.
#[retry(max_attempts = 2, delay = 0)]
fn opens_with_an_inner_attribute() -> Result<u32, McpStoreError> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(2)
}

// `Option<&mut T>` passed on: with `no_clone` and the user's `mut` (the body reborrows it), and
// under two layers that each reborrow it.
#[retry(max_attempts = 3, delay = 0, no_clone = [log])]
fn logs_through_no_clone(
    mut log: Option<&mut Vec<u32>>,
    attempts: &AtomicU32,
) -> Result<u32, McpStoreError> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = log.as_deref_mut() {
        log.push(attempt);
    }
    outcome(attempt, 3)
}

fn log_elsewhere(log: Option<&mut Vec<u32>>, _attempts: &AtomicU32) -> Result<u32, McpStoreError> {
    if let Some(log) = log {
        log.push(100);
    }
    Ok(100)
}

#[retry(max_attempts = 2, delay = 0)]
#[fallback(with = log_elsewhere)]
fn logs_under_two_layers(
    log: Option<&mut Vec<u32>>,
    attempts: &AtomicU32,
) -> Result<u32, McpStoreError> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = log {
        log.push(attempt);
    }
    Err(failure(attempt))
}

#[test]
fn inner_attributes_no_clone_and_stacked_reborrows_of_optional_mut_arguments() {
    assert_eq!(opens_with_an_inner_attribute().unwrap(), 2);
    let attempts = AtomicU32::new(0);
    let mut log = Vec::new();
    assert_eq!(logs_through_no_clone(Some(&mut log), &attempts).unwrap(), 3);
    assert_eq!(log, [1, 2, 3]);
    let attempts = AtomicU32::new(0);
    let mut log = Vec::new();
    assert_eq!(
        logs_under_two_layers(Some(&mut log), &attempts).unwrap(),
        100
    );
    assert_eq!(
        log,
        [1, 100],
        "the body, then the alternative, on the caller's buffer"
    );
}

// ---------------------------------------------------------------------------------------------
// A `macro_rules!` defined in the body that names the receiver: the body's `self` is renamed
// for each run, and the macro's rules must follow (they resolve `self` where they are defined).

#[derive(Clone, Debug, Default)]
struct Tally(u32);

impl Tally {
    #[retry(max_attempts = 3, delay = 0)]
    fn owned_through_a_local_macro(mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        macro_rules! bump {
            () => {{
                self.0 += 1;
                self.0
            }};
        }
        outcome(bump!(), succeed_at)
    }

    #[fallback(default)]
    fn owned_fallback_through_a_local_macro(self) -> Result<String, McpStoreError> {
        macro_rules! shown {
            () => {
                format!("{self:?}")
            };
        }
        Ok(shown!())
    }

    #[retry(max_attempts = 3, delay = 0)]
    async fn mut_through_a_local_macro(&mut self, succeed_at: u32) -> Result<u32, McpStoreError> {
        macro_rules! bump {
            ($by:expr) => {{
                self.0 += $by;
                self.0
            }};
        }
        outcome(bump!(1), succeed_at)
    }
}

#[test]
fn a_local_macro_rules_sees_the_receiver_of_each_run() {
    // Each run starts from the caller's copy: 1 on every attempt, kept on the first.
    assert_eq!(Tally(0).owned_through_a_local_macro(1).unwrap(), 1);
    assert_eq!(Tally(2).owned_through_a_local_macro(3).unwrap(), 3);
    assert!(Tally(0).owned_through_a_local_macro(5).is_err());
    assert_eq!(
        Tally(4).owned_fallback_through_a_local_macro().unwrap(),
        "Tally(4)"
    );
}

impl Tally {
    #[retry(max_attempts = 2, delay = 0)]
    fn owned_with_a_local_macro_defining_methods(self) -> Result<u32, McpStoreError> {
        macro_rules! define {
            () => {
                // Defined by the macro in the annotated body: its methods' `self` is theirs.
                struct Doubled(u32);
                impl Doubled {
                    fn get(&self) -> u32 {
                        self.0 * 2
                    }
                }
                trait Tripled {
                    fn tripled(&self) -> u32;
                }
                impl Tripled for Doubled {
                    fn tripled(&self) -> u32 {
                        self.0 * 3
                    }
                }
            };
        }
        define!();
        Ok(Doubled(self.0).get() + Doubled(self.0).tripled())
    }
}

#[test]
fn a_local_macro_rules_defining_methods_keeps_their_own_self() {
    assert_eq!(
        Tally(2)
            .owned_with_a_local_macro_defining_methods()
            .unwrap(),
        10
    );
}

#[tokio::test]
async fn a_local_macro_rules_sees_a_mut_receiver_reborrowed_by_each_run() {
    let mut tally = Tally::default();
    // Attempts share the receiver: 1, 2, then 3 is kept.
    assert_eq!(tally.mut_through_a_local_macro(3).await.unwrap(), 3);
    assert_eq!(tally.0, 3);
}

// The same for the arguments of an `async fn`, whose run moves them into its future (and binds
// a pattern's names there): a local macro defined at the top of the body names those.

#[retry(max_attempts = 3, delay = 0)]
async fn counts_through_a_local_macro(
    items: Vec<u32>,
    succeed_at: u32,
) -> Result<u32, McpStoreError> {
    macro_rules! attempt {
        () => {
            items.len() as u32 + ATTEMPTS.fetch_add(1, Ordering::SeqCst)
        };
    }
    static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
    outcome(attempt!(), succeed_at)
}

#[collect_errors(collector = &SHAPES_COLLECTOR)]
async fn sums_a_pattern_through_a_local_macro((a, b): (u32, u32)) -> Result<u32, McpStoreError> {
    macro_rules! sum {
        () => {
            a + b
        };
    }
    Ok(sum!())
}

#[fallback(default)]
async fn pushes_through_a_local_macro(items: &mut Vec<u32>) -> Result<usize, McpStoreError> {
    macro_rules! push {
        ($value:expr) => {
            items.push($value)
        };
    }
    push!(7);
    Ok(items.len())
}

#[collect_errors(collector = &SHAPES_COLLECTOR)]
#[circuit_breaker(service = "shapes-local-macro")]
#[timeout(after = "1s", sleeper = std::sync::Arc::new(VirtualSleeper::new()))]
async fn bounded_through_a_local_macro(
    items: Vec<u32>,
    extra: &mut Vec<u32>,
) -> Result<usize, McpStoreError> {
    macro_rules! total {
        () => {{
            extra.push(1);
            items.len() + extra.len()
        }};
    }
    Ok(total!())
}

#[tokio::test]
async fn a_local_macro_rules_sees_the_arguments_of_an_async_run() {
    let mut extra = Vec::new();
    assert_eq!(
        bounded_through_a_local_macro(vec![1, 2], &mut extra)
            .await
            .unwrap(),
        3
    );
    // Attempts 0 and 1 fail (2 + 0, 2 + 1 < 4), the third (2 + 2) is kept.
    assert_eq!(
        counts_through_a_local_macro(vec![1, 2], 4).await.unwrap(),
        4
    );
    assert_eq!(
        sums_a_pattern_through_a_local_macro((2, 3)).await.unwrap(),
        5
    );
    let mut items = vec![1];
    assert_eq!(pushes_through_a_local_macro(&mut items).await.unwrap(), 2);
    assert_eq!(items, [1, 7]);
}

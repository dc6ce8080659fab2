//! What the attributes add draws no restriction lint a crate may deny: each run's copy of an
//! argument shadows the parameter (and copies a `_`-prefixed one the body never reads), and
//! `#[fallback(default)]` names `Default` by its full path, all the expansion's doing. Checked
//! by the clippy run of CI; the test checks the functions still behave, the copies being the
//! ones the body reads.
#![deny(clippy::shadow_same, clippy::shadow_reuse, clippy::shadow_unrelated)]
#![deny(clippy::absolute_paths)]
#![deny(clippy::no_effect_underscore_binding)]

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};

use mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};
use tokio::runtime::Builder;

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

/// Fails every odd call, so each retried function below runs its body twice.
fn flaky(value: u32) -> Result<u32, McpStoreError> {
    if FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
        Err(McpStoreError::connection("flaky"))
    } else {
        Ok(value)
    }
}

// By value: passed to each run.
#[retry(max_attempts = 2, delay = 0)]
fn by_value(n: u32, text: String) -> Result<usize, McpStoreError> {
    flaky(n).map(|n_again| n_again as usize + text.len())
}

// `_`-prefixed parameters the body never reads, by value, by pattern and in an `async fn`.
#[retry(max_attempts = 2, delay = 0)]
fn ignores(n: u32, _unused: String, mut _unused_mut: u32) -> Result<u32, McpStoreError> {
    flaky(n)
}

#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
async fn ignores_later(n: u32, _unused: String) -> Result<u32, McpStoreError> {
    flaky(n)
}

// A `&mut` argument: reborrowed by each run.
#[retry(max_attempts = 2, delay = 0)]
fn appends(items: &mut Vec<u32>, item: u32) -> Result<usize, McpStoreError> {
    items.push(item);
    flaky(item)?;
    Ok(items.len())
}

// `mut` and tuple patterns in the signature.
#[retry(max_attempts = 2, delay = 0)]
fn patterns(mut n: u32, (low, high): (u32, u32)) -> Result<u32, McpStoreError> {
    n += low;
    flaky(n + high)
}

#[retry(max_attempts = 2, delay = 0)]
fn pinned(mut counter: Pin<&mut u32>) -> Result<u32, McpStoreError> {
    *counter += 1;
    flaky(*counter)
}

#[retry(max_attempts = 2, delay = 0)]
fn optional(slot: Option<&mut u32>) -> Result<u32, McpStoreError> {
    let value = slot.ok_or_else(|| McpStoreError::configuration("no slot"))?;
    *value += 1;
    flaky(*value)
}

// The default's path, and every layer's copies.
#[collect_errors]
#[fallback(default)]
#[retry(max_attempts = 1, delay = 0)]
fn defaulted(n: u32) -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection(format!("down {n}")))
}

#[collect_errors]
#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
async fn stacked_async(n: u32, items: &mut Vec<u32>) -> Result<u32, McpStoreError> {
    items.push(n);
    flaky(n)
}

/// Makes the next `flaky` call fail (the first run of the next retried function).
fn fail_next_call() {
    if FLAKY_CALLS.load(Ordering::SeqCst) % 2 == 1 {
        FLAKY_CALLS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn each_run_reads_its_own_copy_of_the_arguments() {
    // One test only: the flaky counter is shared.
    fail_next_call();
    assert_eq!(by_value(3, "abc".to_owned()).unwrap(), 6);

    fail_next_call();
    assert_eq!(ignores(4, String::new(), 0).unwrap(), 4);

    fail_next_call();
    let mut items = Vec::new();
    assert_eq!(appends(&mut items, 7).unwrap(), 2, "both runs pushed");
    assert_eq!(items, [7, 7]);

    fail_next_call();
    // Each run starts from the argument, not from the last run's `n`.
    assert_eq!(patterns(1, (10, 100)).unwrap(), 111);

    fail_next_call();
    let mut counter = 0;
    assert_eq!(pinned(Pin::new(&mut counter)).unwrap(), 2);

    fail_next_call();
    let mut slot = 5;
    assert_eq!(optional(Some(&mut slot)).unwrap(), 7);
    assert!(optional(None).is_err());

    assert_eq!(defaulted(4).unwrap(), 0);

    fail_next_call();
    let mut pushed = Vec::new();
    let runtime = Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(stacked_async(9, &mut pushed)).unwrap(), 9);
    assert_eq!(pushed, [9, 9]);

    fail_next_call();
    assert_eq!(
        runtime.block_on(ignores_later(5, String::new())).unwrap(),
        5
    );
}

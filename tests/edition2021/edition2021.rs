//! An edition-2021 crate keeps its own drop order under the attributes: a body's tail
//! temporaries are dropped after its locals (edition 2024 drops them before), and the items a
//! body declares stay in its scope.

use std::cell::RefCell;

use mcpstore_errors::{collect_errors, fallback, retry, McpStoreError};

thread_local! {
    static DROPS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

struct Noisy(&'static str);

impl Noisy {
    fn value(&self) -> u32 {
        1
    }
}

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.with(|drops| drops.borrow_mut().push(self.0));
    }
}

/// The drops `call` made, in order.
fn drops_of<T>(call: impl FnOnce() -> T) -> Vec<&'static str> {
    DROPS.with(|drops| drops.borrow_mut().clear());
    drop(call());
    DROPS.with(|drops| drops.borrow_mut().clone())
}

fn plain(x: u32) -> Result<u32, McpStoreError> {
    let _local = Noisy("local");
    Ok(Noisy("temporary").value() + x)
}

#[retry]
fn retried(x: u32) -> Result<u32, McpStoreError> {
    let _local = Noisy("local");
    Ok(Noisy("temporary").value() + x)
}

/// A `&mut` argument: the run captures it and reborrows it per run.
#[retry]
fn retried_capturing(seen: &mut u32) -> Result<u32, McpStoreError> {
    let _local = Noisy("local");
    *seen += 1;
    Ok(Noisy("temporary").value() + *seen)
}

#[collect_errors]
#[fallback(default)]
#[retry]
fn stacked(x: u32) -> Result<u32, McpStoreError> {
    let _local = Noisy("local");
    Ok(Noisy("temporary").value() + x)
}

#[fallback(default)]
fn fallen_back(x: u32) -> Result<u32, McpStoreError> {
    let _local = Noisy("local");
    Ok(Noisy("temporary").value() + x)
}

#[retry]
async fn retried_async(x: u32) -> Result<u32, McpStoreError> {
    let _local = Noisy("local");
    Ok(Noisy("temporary").value() + x)
}

#[test]
fn a_body_drops_its_locals_before_its_tail_temporaries_as_edition_2021_does() {
    let expected = drops_of(|| plain(1));
    assert_eq!(expected, ["local", "temporary"], "edition 2021's order");
    assert_eq!(drops_of(|| retried(1)), expected, "#[retry]");
    assert_eq!(
        drops_of(|| retried_capturing(&mut 0)),
        expected,
        "#[retry], &mut"
    );
    assert_eq!(drops_of(|| stacked(1)), expected, "three stacked");
    assert_eq!(drops_of(|| fallen_back(1)), expected, "#[fallback]");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        drops_of(|| runtime.block_on(retried_async(1))),
        expected,
        "async #[retry]"
    );
}

/// A `RefCell` guard held by a local while the tail's temporary borrows the cell again in its
/// `Drop`: fine in edition 2021, where the guard goes first.
struct Reborrows<'a>(&'a RefCell<u32>);

impl Drop for Reborrows<'_> {
    fn drop(&mut self) {
        *self.0.borrow_mut() += 1;
    }
}

impl Reborrows<'_> {
    fn get(&self) -> u32 {
        0
    }
}

#[retry(max_attempts = 2, delay = 0)]
fn guard_then_temporary(cell: &RefCell<u32>) -> Result<u32, McpStoreError> {
    let guard = cell.borrow_mut();
    let seen = *guard;
    Ok(Reborrows(cell).get() + seen)
}

#[test]
fn a_guard_is_released_before_the_tail_temporary_borrows_again() {
    let cell = RefCell::new(4);
    assert_eq!(guard_then_temporary(&cell).unwrap(), 4);
    assert_eq!(
        *cell.borrow(),
        5,
        "the temporary's drop ran once, after the guard's"
    );
}

/// An item of the body named like a parameter shadows it in the body only: the layers' copies
/// of the parameter still see the parameter.
#[retry(max_attempts = 2, delay = 0)]
#[allow(unused_variables)]
fn item_named_like_a_parameter(n: u32, log: &mut Vec<u32>) -> Result<u32, McpStoreError> {
    #[allow(non_upper_case_globals)]
    const n: u32 = 5;
    log.push(n);
    Ok(n)
}

#[test]
fn an_item_of_the_body_stays_in_the_body() {
    let mut log = Vec::new();
    assert_eq!(item_named_like_a_parameter(1, &mut log).unwrap(), 5);
    assert_eq!(log, [5]);
}

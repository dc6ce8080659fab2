use mcpstore_errors::{McpStoreError, retry};

// Every run borrows a `no_clone` argument, and a `FnOnce` cannot be called through a borrow.
#[retry(max_attempts = 3, no_clone = [next])]
fn boxed(next: Box<dyn FnOnce() -> u32>) -> Result<u32, McpStoreError> {
    Ok(next())
}

#[retry(max_attempts = 3, no_clone = [next])]
fn opaque(next: impl FnOnce() -> u32) -> Result<u32, McpStoreError> {
    Ok(next())
}

#[retry(max_attempts = 3, no_clone = [next])]
fn generic<F>(next: F) -> Result<u32, McpStoreError>
where
    F: FnOnce() -> u32,
{
    Ok(next())
}

// An `FnMut` is fine, and so are closures that take or make a `FnOnce`, or a bound of both.
#[retry(max_attempts = 3, no_clone = [next])]
fn callable_again(mut next: impl FnMut() -> u32) -> Result<u32, McpStoreError> {
    Ok(next())
}

#[retry(max_attempts = 3, no_clone = [spawn])]
fn takes_a_task(spawn: impl Fn(Box<dyn FnOnce() + Send>)) -> Result<u32, McpStoreError> {
    spawn(Box::new(|| {}));
    Ok(1)
}

#[retry(max_attempts = 3, no_clone = [make])]
fn makes_a_task(mut make: impl FnMut() -> Box<dyn FnOnce() -> u32>) -> Result<u32, McpStoreError> {
    Ok(make()())
}

#[retry(max_attempts = 3, no_clone = [next])]
fn both<F: FnMut() -> u32 + FnOnce() -> u32>(mut next: F) -> Result<u32, McpStoreError> {
    Ok(next())
}

fn main() {
    let _ = callable_again(|| 1);
    let _ = takes_a_task(|task| task());
    let _ = makes_a_task(|| Box::new(|| 2));
    let _ = both(|| 3);
}

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

// An `FnMut` is fine.
#[retry(max_attempts = 3, no_clone = [next])]
fn callable_again(mut next: impl FnMut() -> u32) -> Result<u32, McpStoreError> {
    Ok(next())
}

fn main() {
    let _ = callable_again(|| 1);
}

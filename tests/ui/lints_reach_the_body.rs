//! The body's own lints are the user's: the attributes neither hide them nor add any.
#![deny(unused_mut, unused_braces, dead_code)]

use mcpstore_errors::{McpStoreError, retry};

#[retry]
fn needless_mut(x: u64) -> Result<u64, McpStoreError> {
    let mut y = x;
    Ok(y)
}

#[retry(no_clone = [f])]
fn needless_mut_parameter(mut f: Box<dyn Fn() -> u64>) -> Result<u64, McpStoreError> {
    Ok(f())
}

#[retry]
fn one_expression(x: u64) -> Result<u64, McpStoreError> { Ok(x) }

// Never called: reported at the function, as without the attribute.
#[retry]
fn never_called() -> Result<u64, McpStoreError> {
    Ok(1)
}

fn main() {
    let _ = needless_mut(1);
    let _ = needless_mut_parameter(Box::new(|| 1));
    let _ = one_expression(1);
}

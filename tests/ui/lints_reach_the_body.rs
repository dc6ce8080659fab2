//! The body's own lints are the user's: the attributes neither hide them nor add any.
#![deny(unused_mut, unused_braces)]

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

fn main() {}

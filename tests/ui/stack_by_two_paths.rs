use mcpstore_errors as me;
use mcpstore_errors::McpStoreError;

// The outermost knows `me::fallback` by neither its own path nor a `crate =`: left on the
// function, it would wrap the retries from outside. Refused.
#[me::retry(max_attempts = 3, delay = 0)]
#[me::fallback(default = 7)]
fn aliased() -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection("down"))
}

// With `crate = me`, the stack is taken whole, in the order written.
#[me::retry(crate = me, max_attempts = 3, delay = 0)]
#[me::fallback(default = 7)]
fn aliased_with_crate() -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection("down"))
}

fn main() {
    let _ = aliased();
    let _ = aliased_with_crate();
}

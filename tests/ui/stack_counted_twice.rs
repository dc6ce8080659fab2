use std::sync::LazyLock;

use mcpstore_errors::{ErrorCollector, McpStoreError, circuit_breaker, collect_errors, retry};

static AUDIT: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

// Both into the global collector: every error would be collected twice. Refused.
#[collect_errors]
#[retry(max_attempts = 2, delay = 0)]
#[collect_errors(context = {"step": "inner"})]
fn collected_twice() -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection("down"))
}

// Into two collectors: each sees each error once. Accepted.
#[collect_errors]
#[collect_errors(collector = &AUDIT)]
fn collected_into_two() -> Result<u32, McpStoreError> {
    Err(McpStoreError::connection("down"))
}

// One service's breaker twice: every call would count twice. Refused.
#[circuit_breaker(service = "fs")]
#[circuit_breaker(service = "fs")]
fn guarded_twice() -> Result<u32, McpStoreError> {
    Ok(1)
}

// Two services' breakers (a host's and a tool's): accepted.
#[circuit_breaker(service = "fs-host")]
#[circuit_breaker(service = "fs")]
fn guarded_by_two() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn main() {
    let _ = collected_twice();
    let _ = collected_into_two();
    let _ = guarded_twice();
    let _ = guarded_by_two();
}

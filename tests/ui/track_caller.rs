use mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};

// `Location::caller()` in the body would name the body's own line, not the caller's.
#[track_caller]
#[retry(max_attempts = 2, delay = 0)]
fn retried() -> Result<u32, McpStoreError> {
    Ok(std::panic::Location::caller().line())
}

#[fallback(default)]
#[track_caller]
fn with_a_default() -> Result<u32, McpStoreError> {
    Ok(std::panic::Location::caller().line())
}

#[track_caller]
#[collect_errors]
fn collected() -> Result<u32, McpStoreError> {
    Ok(std::panic::Location::caller().line())
}

// Applied by a `cfg_attr`, nested or not, under the attribute or above it: refused whatever
// the predicate, lest the build where it holds misreport.
#[retry(max_attempts = 2, delay = 0)]
#[cfg_attr(debug_assertions, inline, cfg_attr(all(), track_caller))]
fn conditionally() -> Result<u32, McpStoreError> {
    Ok(std::panic::Location::caller().line())
}

#[cfg_attr(all(), track_caller)]
#[collect_errors]
fn applied_above() -> Result<u32, McpStoreError> {
    Ok(std::panic::Location::caller().line())
}

fn main() {}

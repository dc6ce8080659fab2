//! A crate may forbid the lints an expansion could draw: the async layers emit no `allow` that
//! such a `forbid` would refuse (E0453), and draw none of these lints themselves.

#![forbid(unused_braces, unreachable_code, unused_imports)]

use std::sync::Arc;

use mcpstore_errors::{McpStoreError, VirtualSleeper, collect_errors, fallback, retry, timeout};

#[collect_errors]
#[fallback(cache)]
#[retry(max_attempts = 2, delay = 0)]
#[timeout(after = "1s", sleeper = Arc::new(VirtualSleeper::new()))]
async fn one_expression(service: &str) -> Result<usize, McpStoreError> {
    Ok(service.len())
}

#[retry(max_attempts = 3, delay = 0)]
async fn question_mark(input: &str) -> Result<u32, McpStoreError> {
    let parsed: u32 = input
        .parse()
        .map_err(|_| McpStoreError::connection("not a number"))?;
    Ok(parsed)
}

#[test]
fn async_layers_compile_under_forbidden_lints_and_run() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(one_expression("fs")).unwrap(), 2);
    assert_eq!(runtime.block_on(question_mark("7")).unwrap(), 7);
    assert!(runtime.block_on(question_mark("x")).is_err());
}

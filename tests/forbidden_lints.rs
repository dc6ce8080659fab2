//! A crate may forbid the lints an expansion could draw: the async layers and `#[fallback]`
//! emit no `allow` that such a `forbid` would refuse (E0453), and draw none of these lints
//! themselves. (A `default = expr` that uses `?` or `.await`, and a `Pin<&mut _>` or
//! `Option<&mut _>` parameter still need `unreachable_code` or `unused_mut` allowed.)

#![forbid(unused_braces, unreachable_code, unused_imports, unused_mut)]

use std::sync::Arc;

use mcpstore_errors::{
    BreakerRegistry, CircuitBreakerConfig, McpStoreError, VirtualSleeper, circuit_breaker,
    collect_errors, fallback, retry, timeout,
};

static BREAKERS: std::sync::LazyLock<BreakerRegistry> =
    std::sync::LazyLock::new(|| BreakerRegistry::new(CircuitBreakerConfig::new()));

#[collect_errors]
#[fallback(cache)]
#[retry(max_attempts = 2, delay = 0)]
#[circuit_breaker(service = "fs", registry = &BREAKERS)]
#[timeout(after = "1s", sleeper = Arc::new(VirtualSleeper::new()))]
async fn one_expression(service: &str) -> Result<usize, McpStoreError> {
    Ok(service.len())
}

#[derive(Debug)]
enum AppError {
    Store(McpStoreError),
    Parse(std::num::ParseIntError),
}

impl From<McpStoreError> for AppError {
    fn from(error: McpStoreError) -> Self {
        AppError::Store(error)
    }
}

impl From<std::num::ParseIntError> for AppError {
    fn from(error: std::num::ParseIntError) -> Self {
        AppError::Parse(error)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Store(error) => error.fmt(f),
            AppError::Parse(error) => error.fmt(f),
        }
    }
}

impl mcpstore_errors::Classify for AppError {}

/// `?` converting another error type through `From`.
#[retry(max_attempts = 3, delay = 0)]
async fn question_mark(input: &str) -> Result<u32, AppError> {
    let parsed: u32 = input.parse()?;
    Ok(parsed)
}

fn replica(service: &str) -> Result<usize, McpStoreError> {
    Ok(service.len() * 10)
}

fn recovered(_: &str, _: &McpStoreError) -> Result<usize, McpStoreError> {
    Ok(1)
}

#[fallback(with = replica, recover = recovered, default = 0)]
fn sync_fallback(service: &str) -> Result<usize, McpStoreError> {
    Err(McpStoreError::connection(service.to_owned()))
}

/// Sync steps on an async fn: the step's kind is told apart by type, with nothing unused.
#[fallback(with = replica, recover = recovered)]
async fn async_sync_steps(service: &str) -> Result<usize, McpStoreError> {
    Err(McpStoreError::connection(service.to_owned()))
}

#[fallback(default = 7)]
async fn async_default(service: &str) -> Result<usize, McpStoreError> {
    Err(McpStoreError::connection(service.to_owned()))
}

/// A one-expression body, every argument passed to each run.
#[retry(max_attempts = 2, delay = 0)]
fn sync_one_expression(service: &str, port: u16) -> Result<usize, McpStoreError> {
    Ok(service.len() + usize::from(port))
}

/// Arguments the run captures: a `&mut`, which it reborrows.
#[collect_errors]
#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
fn sync_captured(seen: &mut Vec<u32>, service: String) -> Result<usize, McpStoreError> {
    seen.push(1);
    Ok(service.len())
}

/// A `no_clone` `mut` parameter the body does need `mut`.
#[retry(max_attempts = 3, delay = 0, no_clone = [next])]
fn sync_no_clone(mut next: impl FnMut() -> u32) -> Result<u32, McpStoreError> {
    match next() {
        0 => Err(McpStoreError::connection("refused")),
        n => Ok(n),
    }
}

#[test]
fn the_sync_layers_compile_under_forbidden_lints_and_run() {
    assert_eq!(sync_one_expression("fs", 2).unwrap(), 4);
    let mut seen = Vec::new();
    assert_eq!(sync_captured(&mut seen, "git".to_owned()).unwrap(), 3);
    assert_eq!(seen, [1]);
    let mut answers = [0, 5].into_iter();
    assert_eq!(sync_no_clone(|| answers.next().unwrap()).unwrap(), 5);
}

#[test]
fn the_layers_compile_under_forbidden_lints_and_run() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(one_expression("fs")).unwrap(), 2);
    assert_eq!(runtime.block_on(question_mark("7")).unwrap(), 7);
    assert!(matches!(
        runtime.block_on(question_mark("x")),
        Err(AppError::Parse(_))
    ));
    assert_eq!(sync_fallback("fs").unwrap(), 20);
    assert_eq!(runtime.block_on(async_default("fs")).unwrap(), 7);
    assert_eq!(runtime.block_on(async_sync_steps("fs")).unwrap(), 20);
}

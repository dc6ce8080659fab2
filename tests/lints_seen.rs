//! Clippy's lints that judge a body's tail see it through the attributes, as in the plain
//! function: each function below expects the lint its body draws, and CI's clippy run (with
//! `-D warnings`) fails on an expectation left unfulfilled. An argument only a fallback's
//! `with` or `recover` function reads is used, and draws no `unused_variables` (denied below,
//! so the build fails if it did). The tests check they behave.
#![warn(clippy::needless_return, clippy::needless_question_mark)]

use mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};

fn parse(text: &str) -> Result<u32, McpStoreError> {
    text.parse()
        .map_err(|_| McpStoreError::configuration(format!("not a number: {text}")))
}

#[retry(max_attempts = 2, delay = 0)]
#[expect(clippy::needless_return)]
fn retried(text: &str) -> Result<u32, McpStoreError> {
    return parse(text);
}

#[retry(max_attempts = 2, delay = 0)]
#[expect(clippy::needless_question_mark)]
fn retried_question_mark(text: &str) -> Result<u32, McpStoreError> {
    Ok(parse(text)?)
}

// A `mut` parameter: the body runs after its rebinding.
#[retry(max_attempts = 2, delay = 0)]
#[expect(clippy::needless_return)]
fn retried_mut(mut count: u32) -> Result<u32, McpStoreError> {
    count += 1;
    return Ok(count);
}

#[fallback(default)]
#[expect(clippy::needless_return)]
fn defaulted(text: &str) -> Result<u32, McpStoreError> {
    return parse(text);
}

#[collect_errors]
#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
#[expect(clippy::needless_question_mark)]
fn stacked(text: &str) -> Result<u32, McpStoreError> {
    Ok(parse(text)?)
}

#[collect_errors]
#[fallback(default)]
#[retry(max_attempts = 2, delay = 0)]
#[expect(clippy::needless_return)]
async fn stacked_async(text: &str) -> Result<u32, McpStoreError> {
    return parse(text);
}

fn from_backup(service: &str, attempts: u32) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32 + attempts)
}

async fn from_backup_async(service: String) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32)
}

fn recovered_from(service: &str, error: &McpStoreError) -> Result<u32, McpStoreError> {
    Ok(service.len() as u32 + error.message().len() as u32)
}

fn down() -> McpStoreError {
    McpStoreError::connection("down")
}

#[deny(unused_variables)]
#[fallback(with = from_backup)]
fn read_by_with_only(service: &str, attempts: u32) -> Result<u32, McpStoreError> {
    Err(down())
}

#[deny(unused_variables)]
#[fallback(recover = recovered_from)]
#[retry(max_attempts = 2, delay = 0)]
fn read_by_recover_under_retry(service: &str) -> Result<u32, McpStoreError> {
    Err(down())
}

#[deny(unused_variables)]
#[collect_errors]
#[fallback(with = from_backup_async)]
#[retry(max_attempts = 2, delay = 0)]
async fn read_by_with_only_async(service: String) -> Result<u32, McpStoreError> {
    Err(down())
}

#[deny(unused_variables)]
#[fallback(with = from_backup_async)]
async fn read_by_with_only_async_alone(service: String) -> Result<u32, McpStoreError> {
    Err(down())
}

#[test]
fn arguments_read_by_a_fallback_function_alone_reach_it() {
    assert_eq!(read_by_with_only("fs", 2).unwrap(), 4);
    assert_eq!(read_by_recover_under_retry("fs").unwrap(), 6);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        runtime
            .block_on(read_by_with_only_async("web".to_owned()))
            .unwrap(),
        3
    );
    assert_eq!(
        runtime
            .block_on(read_by_with_only_async_alone("disk".to_owned()))
            .unwrap(),
        4
    );
}

#[test]
fn the_functions_behave_as_written() {
    assert_eq!(retried("7").unwrap(), 7);
    assert!(retried("x").is_err());
    assert_eq!(retried_question_mark("8").unwrap(), 8);
    assert_eq!(retried_mut(1).unwrap(), 2);
    assert_eq!(defaulted("x").unwrap(), 0);
    assert_eq!(stacked("x").unwrap(), 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(stacked_async("9")).unwrap(), 9);
}

// A body alone in the retry's closure keeps clippy's view of its tail with a forwarding
// fallback above.
#[fallback(with = from_backup)]
#[retry(max_attempts = 2, delay = 0)]
#[expect(clippy::needless_question_mark)]
fn forwarded_and_retried(service: &str, attempts: u32) -> Result<u32, McpStoreError> {
    Ok(parse(service).map(|n| n + attempts)?)
}

#[test]
fn a_forwarded_and_retried_function_behaves_as_written() {
    assert_eq!(forwarded_and_retried("5", 1).unwrap(), 6);
    assert_eq!(
        forwarded_and_retried("fs", 1).unwrap(),
        3,
        "from the backup"
    );
}

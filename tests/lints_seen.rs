//! Clippy's lints that judge a body's tail see it through the attributes, as in the plain
//! function: each function below expects the lint its body draws, and CI's clippy run (with
//! `-D warnings`) fails on an expectation left unfulfilled. The test checks they behave.
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

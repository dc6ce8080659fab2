//! `async fn` bodies under the attributes compile and run as the plain function does: their
//! `return`s and tail coerce to the declared type.
#![forbid(unreachable_code, unused_braces)]

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use mcpstore_errors::{
    McpStoreError, VirtualSleeper, circuit_breaker, collect_errors, fallback, retry, timeout,
};

fn failure(attempt: u32) -> McpStoreError {
    McpStoreError::connection(format!("attempt {attempt}"))
}

trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
}

struct Read;

impl Tool for Read {
    fn name(&self) -> &'static str {
        "read"
    }
}

fn double(x: u32) -> u32 {
    x * 2
}

struct Service {
    name: String,
    payload: Vec<u8>,
    attempts: AtomicU32,
}

impl Service {
    fn new() -> Self {
        Service {
            name: "fs".into(),
            payload: vec![1, 2, 3],
            attempts: AtomicU32::new(0),
        }
    }

    /// Fails its first call.
    fn flaky(&self) -> Result<(), McpStoreError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt == 1 {
            Err(failure(attempt))
        } else {
            Ok(())
        }
    }

    /// `&String` to `&str` in the tail.
    #[retry(max_attempts = 2, delay = 0)]
    async fn name(&self) -> Result<&str, McpStoreError> {
        self.flaky()?;
        Ok(&self.name)
    }

    /// `&Vec<u8>` to `&[u8]` under every layer, the body opening with an inner attribute.
    #[collect_errors]
    #[fallback(default)]
    #[retry(max_attempts = 2, delay = 0)]
    #[circuit_breaker(service = "coercions")]
    #[timeout(after = "1s", sleeper = Arc::new(VirtualSleeper::new()))]
    async fn payload(&self) -> Result<&[u8], McpStoreError> {
        #![allow(clippy::needless_question_mark)]
        self.flaky()?;
        Ok(&self.payload)
    }
}

/// `Box<McpStoreError>` to `Box<dyn Error>` in a `return`, before the tail's type is known.
#[retry(max_attempts = 2, delay = 0)]
async fn load(path: &str) -> Result<String, Box<dyn Error + Send + Sync>> {
    if path.is_empty() {
        return Err(Box::new(McpStoreError::configuration("empty path")));
    }
    Ok(path.to_owned())
}

/// An array reference to a slice, a box and an `Arc` to trait objects, a fn item to a fn
/// pointer.
#[collect_errors]
async fn table() -> Result<&'static [u8], McpStoreError> {
    Ok(&[1, 2, 3])
}

#[fallback(default = Box::new(Read))]
async fn boxed_tool() -> Result<Box<dyn Tool>, McpStoreError> {
    Ok(Box::new(Read))
}

#[timeout("1s")]
async fn shared_tool() -> Result<Arc<dyn Tool>, McpStoreError> {
    Ok(Arc::new(Read))
}

#[retry]
async fn doubler() -> Result<fn(u32) -> u32, McpStoreError> {
    Ok(double)
}

#[tokio::test]
async fn async_bodies_coerce_to_the_declared_type_under_every_attribute() {
    let service = Service::new();
    assert_eq!(service.name().await.unwrap(), "fs");
    assert_eq!(service.attempts.load(Ordering::SeqCst), 2, "retried once");
    let service = Service::new();
    assert_eq!(service.payload().await.unwrap(), [1, 2, 3]);
    assert_eq!(service.attempts.load(Ordering::SeqCst), 2, "retried once");
    let error = load("").await.unwrap_err();
    assert_eq!(
        error
            .downcast_ref::<McpStoreError>()
            .map(McpStoreError::code),
        Some("CONFIGURATION_ERROR")
    );
    assert_eq!(load("a").await.unwrap(), "a");
    assert_eq!(table().await.unwrap(), [1, 2, 3]);
    assert_eq!(boxed_tool().await.unwrap().name(), "read");
    assert_eq!(shared_tool().await.unwrap().name(), "read");
    assert_eq!(doubler().await.unwrap()(4), 8);
}

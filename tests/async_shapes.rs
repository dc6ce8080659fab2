//! `async fn` bodies under the attributes compile and run as the plain function does: their
//! `return`s and tail coerce to the declared type, and their futures are `Send` whenever the
//! plain function's is, `Send` but not `Sync` arguments included.
#![forbid(unreachable_code, unused_braces)]
// Checked by the clippy run of CI: the expansion's own statements go after a body's items.
#![deny(clippy::items_after_statements)]

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

/// A body that opens with an item, then statements.
#[collect_errors]
#[retry(max_attempts = 2, delay = 0)]
async fn opens_with_an_item(n: u32) -> Result<u32, McpStoreError> {
    fn twice(n: u32) -> u32 {
        n * 2
    }
    let doubled = twice(n);
    Ok(doubled)
}

#[tokio::test]
async fn async_bodies_coerce_to_the_declared_type_under_every_attribute() {
    assert_eq!(opens_with_an_item(2).await.unwrap(), 4);
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

// ---- Send ----

trait Transport {
    fn id(&self) -> u32;
    fn send(&mut self, payload: u32) -> u32;
}

/// `Send`, not `Sync`.
struct Counting(std::cell::Cell<u32>);

impl Transport for Counting {
    fn id(&self) -> u32 {
        self.0.get()
    }

    fn send(&mut self, payload: u32) -> u32 {
        self.0.set(self.0.get() + 1);
        payload + self.0.get()
    }
}

struct Client {
    transport: Box<dyn Transport + Send>,
    calls: u32,
}

impl Client {
    /// A field of `&mut self` that is `Send` but not `Sync`, read across an `.await`.
    #[collect_errors]
    #[fallback(default)]
    #[retry(max_attempts = 2, delay = 0)]
    #[circuit_breaker(service = "send-check")]
    // Tokio's timer: a virtual one lapses at the body's first `.await`.
    #[timeout("10s")]
    async fn call(&mut self, payload: u32) -> Result<u32, McpStoreError> {
        self.calls += 1;
        tokio::task::yield_now().await;
        if self.calls == 1 {
            return Err(failure(1));
        }
        Ok(self.transport.send(payload))
    }

    #[collect_errors]
    async fn call_once(&mut self) -> Result<u32, McpStoreError> {
        // Only read: a borrow of the field alone would not be `Send`.
        let id = self.transport.id();
        tokio::task::yield_now().await;
        Ok(id + self.transport.id())
    }
}

/// By-value arguments that are `Send` but not `Sync`, only borrowed by the body.
#[collect_errors]
async fn drain(
    receiver: std::sync::mpsc::Receiver<u32>,
    seen: std::cell::Cell<u32>,
) -> Result<u32, McpStoreError> {
    tokio::task::yield_now().await;
    seen.set(
        receiver
            .try_recv()
            .map_err(|e| McpStoreError::connection(e.to_string()))?,
    );
    Ok(seen.get())
}

/// A `&mut` argument whose target is `Send` but not `Sync`, under a fallback that passes it on.
#[fallback(with = count_elsewhere)]
async fn count(counter: &mut std::cell::Cell<u32>) -> Result<u32, McpStoreError> {
    tokio::task::yield_now().await;
    counter.set(counter.get() + 1);
    Err(failure(counter.get()))
}

async fn count_elsewhere(counter: &mut std::cell::Cell<u32>) -> Result<u32, McpStoreError> {
    counter.set(counter.get() + 10);
    Ok(counter.get())
}

/// A trait that asks its implementations for `Send` futures.
trait Fetch {
    fn fetch(&mut self) -> impl std::future::Future<Output = Result<u32, McpStoreError>> + Send;
}

impl Fetch for Client {
    #[retry(max_attempts = 2, delay = 0)]
    async fn fetch(&mut self) -> Result<u32, McpStoreError> {
        let id = self.transport.id();
        tokio::task::yield_now().await;
        Ok(id + self.transport.id() + 100)
    }
}

fn client() -> Client {
    Client {
        transport: Box::new(Counting(std::cell::Cell::new(0))),
        calls: 0,
    }
}

#[tokio::test]
async fn futures_are_send_when_the_plain_functions_are() {
    let mut client = client();
    let outcome = tokio::spawn(async move {
        let retried = client.call(7).await;
        let once = client.call_once().await;
        let fetched = client.fetch().await;
        (retried, once, fetched, client.calls)
    });
    let (retried, once, fetched, calls) = outcome.await.unwrap();
    assert_eq!(retried.unwrap(), 8, "the second attempt's send");
    assert_eq!(once.unwrap(), 2, "one send so far, read twice");
    assert_eq!(fetched.unwrap(), 102);
    assert_eq!(calls, 2, "the body ran twice");

    let (sender, receiver) = std::sync::mpsc::channel();
    sender.send(5).unwrap();
    let drained = tokio::spawn(drain(receiver, std::cell::Cell::new(0)));
    assert_eq!(drained.await.unwrap().unwrap(), 5);

    let counted = tokio::spawn(async {
        let mut counter = std::cell::Cell::new(0);
        let answer = count(&mut counter).await;
        (answer, counter.into_inner())
    });
    let (answer, counter) = counted.await.unwrap();
    assert_eq!(
        answer.unwrap(),
        11,
        "the alternative ran on the body's counter"
    );
    assert_eq!(counter, 11);
}

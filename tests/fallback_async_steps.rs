//! On an `async fn`, `#[fallback(with = ..)]` and `#[fallback(recover = ..)]` take a function
//! that returns the `Result` itself (a static list, a local file, an in-memory index) as well
//! as one that returns a future of it, and both serve the same value with the same events.

use std::future::Future;

use mcpstore_errors::{ErrorKind, McpStoreError, fallback};
use mcpstore_errors_tests::{CapturedEvent, capture_events};

/// A captured event as compared: level, and every field, with the operation's name (which
/// differs between two annotated functions) replaced by `<op>`.
fn comparable(events: &[CapturedEvent], operation: &str) -> Vec<(String, Vec<(String, String)>)> {
    events
        .iter()
        .map(|event| {
            let fields = event
                .fields
                .iter()
                .map(|(name, value)| (name.clone(), value.replace(operation, "<op>")))
                .collect();
            (event.level.to_string(), fields)
        })
        .collect()
}

/// Runs `future` to completion on this thread (where the events are captured).
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

fn assert_send<T: Send>(_: &T) {}

/// Each call's result and the fallback events it emitted, the operation's name set aside.
type Run = Vec<(
    Result<Vec<String>, String>,
    Vec<(String, Vec<(String, String)>)>,
)>;

/// Calls `call` with each query and records, per call, its result and its events.
fn run<F: Future<Output = Result<Vec<String>, McpStoreError>>>(
    queries: &[&str],
    operation: &str,
    call: impl Fn(String) -> F,
) -> Run {
    queries
        .iter()
        .map(|query| {
            let mut result = None;
            let events = capture_events("mcpstore_errors::fallback", || {
                result = Some(block_on(call((*query).to_owned())).map_err(|e| e.to_string()));
            });
            (
                result.expect("the call ran"),
                comparable(&events, operation),
            )
        })
        .collect()
}

/// The `strategy` field of each event (`None` for the exhausted one).
fn strategies(run: &Run) -> Vec<Vec<Option<String>>> {
    run.iter()
        .map(|(_, events)| {
            events
                .iter()
                .map(|(_, fields)| {
                    fields
                        .iter()
                        .find(|(name, _)| name == "strategy")
                        .map(|(_, value)| value.clone())
                })
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A method: `with = Self::..`

/// An in-memory index behind a primary that is down.
#[derive(Debug)]
struct Index {
    entries: Vec<&'static str>,
}

impl Index {
    fn primary_down(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        let _ = self;
        Err(McpStoreError::connection(format!("search down for {q}")))
    }

    /// The sync alternative: a lookup in memory, no `.await` anywhere.
    fn backup(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        let found: Vec<String> = self
            .entries
            .iter()
            .filter(|entry| entry.starts_with(q))
            .map(|entry| (*entry).to_owned())
            .collect();
        if found.is_empty() {
            return Err(McpStoreError::tool_not_found(q, None));
        }
        Ok(found)
    }

    async fn backup_async(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        tokio::task::yield_now().await;
        self.backup(q)
    }

    #[fallback(with = Self::backup)]
    async fn with_alt(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        tokio::task::yield_now().await;
        self.primary_down(q)
    }

    #[fallback(with = Self::backup_async)]
    async fn with_async_alt(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        tokio::task::yield_now().await;
        self.primary_down(q)
    }
}

fn index() -> Index {
    Index {
        entries: vec!["read_file", "read_dir", "write_file"],
    }
}

#[test]
fn a_sync_method_alternative_serves_as_an_async_one_does() {
    let index = &index();
    let future = index.with_alt("read");
    assert_send(&future);
    drop(future);

    let queries = ["read", "delete"];
    let sync = run(
        &queries,
        "with_alt",
        |q| async move { index.with_alt(&q).await },
    );
    let awaited = run(&queries, "with_async_alt", |q| async move {
        index.with_async_alt(&q).await
    });
    assert_eq!(sync, awaited, "a sync and an async `with` differ");

    // The alternative's value is served; when it finds nothing, the primary's error comes back.
    assert_eq!(
        sync[0].0,
        Ok(vec!["read_file".to_owned(), "read_dir".to_owned()])
    );
    assert_eq!(sync[1].0, Err("search down for delete".to_owned()));
    assert_eq!(
        strategies(&sync),
        [
            vec![Some("with".to_owned())],
            vec![Some("with".to_owned()), None]
        ]
    );
    let (level, fields) = &sync[0].1[0];
    assert_eq!(level, "WARN");
    assert!(fields.contains(&("error".to_owned(), "search down for read".to_owned())));
    // The failed step reports the alternative's own error.
    let (level, fields) = &sync[1].1[0];
    assert_eq!(level, "INFO");
    assert!(fields.contains(&(
        "error".to_owned(),
        McpStoreError::tool_not_found("delete", None).to_string()
    )));
}

// ---------------------------------------------------------------------------------------------
// A free function: `recover = ..`, given the error

/// The sync recovery: an empty list for a connection error, else a failure of its own.
fn rescue(service: &str, error: &McpStoreError) -> Result<Vec<String>, McpStoreError> {
    match error.kind() {
        ErrorKind::Connection => Ok(vec![format!("{service}: offline list")]),
        _ => Err(McpStoreError::configuration(format!(
            "cannot recover {service} from {error}"
        ))),
    }
}

async fn rescue_async(service: &str, error: &McpStoreError) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    rescue(service, error)
}

/// The primary: a connection error for "fs", a start failure otherwise.
async fn primary(service: &str) -> Result<Vec<String>, McpStoreError> {
    tokio::task::yield_now().await;
    if service == "fs" {
        Err(McpStoreError::connection("refused"))
    } else {
        Err(McpStoreError::service_start_failed(service, "port busy"))
    }
}

#[fallback(recover = rescue)]
async fn recovered(service: &str) -> Result<Vec<String>, McpStoreError> {
    primary(service).await
}

#[fallback(recover = rescue_async)]
async fn recovered_async(service: &str) -> Result<Vec<String>, McpStoreError> {
    primary(service).await
}

#[test]
fn a_sync_recovery_is_given_the_error_as_an_async_one_is() {
    let future = recovered("fs");
    assert_send(&future);
    drop(future);

    let queries = ["fs", "web"];
    let sync = run(
        &queries,
        "recovered",
        |s| async move { recovered(&s).await },
    );
    let awaited = run(&queries, "recovered_async", |s| async move {
        recovered_async(&s).await
    });
    assert_eq!(sync, awaited, "a sync and an async `recover` differ");

    assert_eq!(sync[0].0, Ok(vec!["fs: offline list".to_owned()]));
    assert_eq!(
        sync[1].0,
        Err(McpStoreError::service_start_failed("web", "port busy").to_string())
    );
    assert_eq!(
        strategies(&sync),
        [
            vec![Some("recover".to_owned())],
            vec![Some("recover".to_owned()), None]
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Closures and a fn returning `impl Future`

/// Not `async fn`, but a future all the same.
fn backup_future(service: &str) -> impl Future<Output = Result<Vec<String>, McpStoreError>> {
    let service = service.to_owned();
    async move { Ok(vec![format!("{service} from replica")]) }
}

#[fallback(with = |service: &str| -> Result<Vec<String>, McpStoreError> {
    Ok(vec![format!("{service} from replica")])
})]
async fn through_sync_closure(service: &str) -> Result<Vec<String>, McpStoreError> {
    primary(service).await
}

#[fallback(with = |service: &str| {
    let service = service.to_owned();
    async move { Ok::<_, McpStoreError>(vec![format!("{service} from replica")]) }
})]
async fn through_async_closure(service: &str) -> Result<Vec<String>, McpStoreError> {
    primary(service).await
}

#[fallback(with = backup_future)]
async fn through_impl_future(service: &str) -> Result<Vec<String>, McpStoreError> {
    primary(service).await
}

#[test]
fn closures_and_impl_future_serve_alike() {
    let queries = ["fs"];
    let sync = run(&queries, "through_sync_closure", |s| async move {
        through_sync_closure(&s).await
    });
    let awaited = run(&queries, "through_async_closure", |s| async move {
        through_async_closure(&s).await
    });
    let future = run(&queries, "through_impl_future", |s| async move {
        through_impl_future(&s).await
    });
    assert_eq!(sync, awaited, "a sync and an async closure differ");
    assert_eq!(sync, future, "a closure and an `impl Future` fn differ");
    assert_eq!(sync[0].0, Ok(vec!["fs from replica".to_owned()]));
    assert_eq!(strategies(&sync), [vec![Some("with".to_owned())]]);
}

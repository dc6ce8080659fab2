//! The name an annotated function goes by in events, metrics and the collector's context: its
//! full path with its impl's type, so that two types' methods of one name in one module, two
//! implementors of a trait's default method, or two instantiations' reports stay apart or
//! together as their code does.

use std::sync::LazyLock;

use mcpstore_errors::{
    ErrorCollector, McpStoreError, RetryConfig, RetryManager, collect_errors, retry,
};
use mcpstore_errors_tests::capture_events;

static COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(100));

struct FsClient;
struct WebClient;
struct Holder<T>(T);

fn refused() -> McpStoreError {
    McpStoreError::connection("refused")
}

impl FsClient {
    #[collect_errors(collector = &COLLECTOR)]
    #[retry(max_attempts = 2, delay = 0)]
    fn list_tools(&self) -> Result<Vec<String>, McpStoreError> {
        Err(refused())
    }

    #[retry(max_attempts = 2, delay = 0)]
    fn connect() -> Result<Self, McpStoreError> {
        Err(refused())
    }
}

impl WebClient {
    #[collect_errors(collector = &COLLECTOR)]
    #[retry(max_attempts = 2, delay = 0)]
    fn list_tools(&self) -> Result<Vec<String>, McpStoreError> {
        Err(refused())
    }
}

impl<T> Holder<T> {
    #[retry(max_attempts = 2, delay = 0)]
    fn label(&self) -> Result<&'static str, McpStoreError> {
        Err(refused())
    }
}

trait Tool {
    #[retry(max_attempts = 2, delay = 0)]
    fn describe(&self) -> Result<String, McpStoreError> {
        Err(refused())
    }
}

impl Tool for FsClient {}
impl Tool for WebClient {}
// Type names with a function type's `->` in them.
impl Tool for fn(u8) -> u8 {}
impl<T> Tool for Holder<T> {}

#[retry(max_attempts = 2, delay = 0)]
fn free_function() -> Result<(), McpStoreError> {
    Err(refused())
}

const HERE: &str = "operation_names";

/// The `operation` of every retry event `body` emits, without this test's module path.
fn operations(body: impl FnOnce()) -> Vec<String> {
    let events = capture_events("mcpstore_errors::retry", body);
    events
        .iter()
        .map(|event| {
            let operation = event.field("operation").expect("an operation field");
            operation.strip_prefix(HERE).unwrap_or(operation).to_owned()
        })
        .collect()
}

#[test]
fn methods_of_one_name_on_two_types_have_two_names() {
    let said = operations(|| {
        let _ = FsClient.list_tools();
        let _ = WebClient.list_tools();
    });
    // Per call: the retry scheduled, then the give-up.
    assert_eq!(
        said,
        [
            "::FsClient::list_tools",
            "::FsClient::list_tools",
            "::WebClient::list_tools",
            "::WebClient::list_tools",
        ]
    );
}

#[test]
fn an_associated_function_a_default_method_and_a_generic_impl_are_named_by_their_type() {
    let said = operations(|| {
        let _ = FsClient::connect();
        let _ = FsClient.describe();
        let _ = WebClient.describe();
        let _ = Holder(1u8).label();
        let _ = Holder(String::new()).label();
        let _ = free_function();
        let pointer: fn(u8) -> u8 = |x| x;
        let _ = pointer.describe();
        let _ = Holder(pointer).describe();
        let _ = Holder(Box::new(|| 1u8) as Box<dyn Fn() -> u8>).label();
    });
    let said: Vec<&str> = said.iter().map(String::as_str).step_by(2).collect();
    assert_eq!(
        said,
        [
            "::FsClient::connect",
            "::FsClient::describe",
            "::WebClient::describe",
            "::Holder::label",
            "::Holder::label",
            "::free_function",
            "fn(u8) -> u8::describe",
            "::Holder::describe",
            "::Holder::label",
        ]
    );
}

#[test]
fn the_collector_records_the_method_with_its_type() {
    let _ = FsClient.list_tools();
    let _ = WebClient.list_tools();
    let functions: Vec<String> = COLLECTOR
        .records()
        .iter()
        .map(|record| record.context()["function"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        functions.contains(&format!("{HERE}::FsClient::list_tools")),
        "{functions:?}"
    );
    assert!(
        functions.contains(&format!("{HERE}::WebClient::list_tools")),
        "{functions:?}"
    );
}

#[test]
fn a_retry_manager_keeps_the_name_it_was_given() {
    let manager = RetryManager::new(
        RetryConfig::new()
            .max_attempts(2)
            .base_delay(std::time::Duration::ZERO),
    )
    .operation("fs.list_tools");
    let said = operations(|| {
        let _ = manager.execute(|| Err::<(), _>(refused()));
    });
    assert_eq!(said, ["fs.list_tools", "fs.list_tools"]);
}

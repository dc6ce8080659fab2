use std::sync::atomic::AtomicU32;

use mcpstore_errors::{McpStoreError, fallback};

#[derive(Clone)]
struct Filter {
    pattern: String,
}

// `Clone`, `Eq` and `Hash`, but it borrows: the cache outlives every call.
#[derive(Clone, PartialEq, Eq, Hash)]
struct View<'a> {
    name: &'a str,
}

// Not `Hash`: one error, at the whole expression.
#[fallback(cache(key = (service, filter.clone())))]
fn tools(service: &str, filter: Filter) -> Result<Vec<String>, McpStoreError> {
    Ok(vec![format!("{service}/{}", filter.pattern)])
}

#[fallback(cache(key = view))]
fn named(view: View<'_>) -> Result<String, McpStoreError> {
    Ok(view.name.to_owned())
}

#[fallback(cache(key = counter))]
fn counted(counter: &AtomicU32) -> Result<u32, McpStoreError> {
    Ok(counter.load(std::sync::atomic::Ordering::SeqCst))
}

fn main() {
    let _ = tools("fs", Filter { pattern: "*".to_owned() });
    let _ = named(View { name: "fs" });
    let _ = counted(&AtomicU32::new(0));
}

//! What attribute-generated code calls. Not public API: no semver guarantees.

pub use serde_json;
pub use tracing;

pub use crate::fallback::{
    FnCache, fallback_exhausted, fallback_served, fallback_strategy_failed, set_fn_cache_clock,
};
pub use crate::retry::RetryState;

pub use crate::collector::ErrorCollector;

/// What `#[collect_errors]` calls for an error type: records `error` with `context`, adding
/// the function's name under `"function"` (see [`with_function`]).
pub fn collect<E: std::error::Error + 'static>(
    collector: &ErrorCollector,
    error: &E,
    function: &'static str,
    context: serde_json::Value,
) {
    collector.collect(error, with_function(context, function));
}

/// What `#[collect_errors]` calls for an error that is only `Display` (such as `String`),
/// picked by autoref specialization when the type has no `Error` impl.
pub fn collect_display<T: std::fmt::Display + ?Sized + 'static>(
    collector: &ErrorCollector,
    error: &T,
    function: &'static str,
    context: serde_json::Value,
) {
    collector.collect_display(error, with_function(context, function));
}

/// The context with `"function": function` added: an object gains the key (a `"function"`
/// the user wrote is kept), null becomes `{"function": ..}`, and any other value is kept
/// under `"context"`.
pub fn with_function(context: serde_json::Value, function: &'static str) -> serde_json::Value {
    use serde_json::{Map, Value};
    let mut object = match context {
        Value::Object(object) => object,
        Value::Null => Map::new(),
        other => {
            let mut object = Map::new();
            object.insert("context".to_owned(), other);
            object
        }
    };
    object
        .entry("function")
        .or_insert_with(|| Value::from(function));
    Value::Object(object)
}

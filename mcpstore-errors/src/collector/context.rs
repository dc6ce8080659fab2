//! The context a collected error carries: JSON held shared, so that keeping it in the history
//! and copying the history out (records, summaries, exports) copies a pointer, never the JSON.

use std::fmt;
use std::sync::{Arc, Weak};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The context of a collected error: any JSON, held shared.
///
/// Built from a [`serde_json::Value`] (moved behind a reference count once), from an
/// `Arc<Value>` (shared with the caller), or from a `&'static Value` (no reference count at
/// all: the cheapest to pass on every collect, and the one to share between threads, since
/// nothing is counted). Cloning a `Context` never copies the JSON.
///
/// ```
/// use std::sync::{Arc, LazyLock};
/// use mcpstore_errors::{Context, ErrorCollector, McpStoreError};
/// use serde_json::{Value, json};
///
/// // Built once, passed on every collect: nothing is rebuilt or counted per call.
/// static CONTEXT: LazyLock<Value> = LazyLock::new(|| json!({"operation": "list_tools"}));
///
/// let collector = ErrorCollector::new(10);
/// let error = McpStoreError::service_not_found("fs");
/// collector.collect(&error, &*CONTEXT);
/// collector.collect(&error, Arc::new(json!({"attempt": 2})));
/// collector.collect(&error, json!({"attempt": 3}));
/// collector.collect(&error, Context::null());
/// let records = collector.records();
/// assert_eq!(records[0].context()["operation"], "list_tools");
/// assert_eq!(records[1].context()["attempt"], 2);
/// assert_eq!(records[3].context(), &Value::Null);
/// ```
#[derive(Clone, Default)]
pub struct Context(Repr);

#[derive(Clone, Default)]
enum Repr {
    #[default]
    Null,
    Static(&'static Value),
    Shared(Arc<Value>),
}

static NULL: Value = Value::Null;

impl Context {
    /// No context (`null`; exported as `{}`). Allocates nothing.
    pub const fn null() -> Self {
        Context(Repr::Null)
    }

    /// A context borrowed for the life of the program: passing it counts nothing.
    pub const fn from_static(value: &'static Value) -> Self {
        Context(Repr::Static(value))
    }

    /// The JSON.
    pub fn value(&self) -> &Value {
        match &self.0 {
            Repr::Null => &NULL,
            Repr::Static(value) => value,
            Repr::Shared(value) => value,
        }
    }

    /// Whether this handle counts nothing (null or static): dropping it does nothing.
    pub(super) fn is_static(&self) -> bool {
        matches!(self.0, Repr::Null | Repr::Static(_))
    }

    /// Whether this is the `null` context.
    pub fn is_null(&self) -> bool {
        self.value().is_null()
    }

    /// The JSON to edit: in place when this handle alone holds it, otherwise a copy (so a
    /// context shared with the caller or static is never changed).
    pub(super) fn make_mut(&mut self) -> &mut Value {
        if !matches!(self.0, Repr::Shared(_)) {
            self.0 = Repr::Shared(Arc::new(self.value().clone()));
        }
        let Repr::Shared(value) = &mut self.0 else {
            unreachable!("made shared just above")
        };
        Arc::make_mut(value)
    }

    /// What identifies this context while others share it (static, or an `Arc` with another
    /// handle), so that a verdict on it can be remembered; `None` for null or for a context
    /// this handle alone holds (edited in place instead).
    pub(super) fn shared_key(&self) -> Option<SharedKey> {
        match &self.0 {
            Repr::Null => None,
            Repr::Static(value) => Some(SharedKey::Static(value)),
            Repr::Shared(value) if Arc::strong_count(value) == 1 && Arc::weak_count(value) == 0 => {
                None
            }
            Repr::Shared(value) => Some(SharedKey::Shared(Arc::downgrade(value))),
        }
    }

    /// Drops the JSON without recursion when this handle alone holds it (it may be nested
    /// deeper than a recursive drop can go); otherwise lets go of this handle only.
    pub(super) fn drop_flat(self) {
        if let Repr::Shared(value) = self.0 {
            if let Ok(value) = Arc::try_unwrap(value) {
                super::limits::drop_flat(value);
            }
        }
    }
}

/// A shared context, recognised by address. Holding it keeps the address from being reused:
/// a `Weak` keeps the allocation (not the JSON), and while a `Weak` exists the JSON cannot be
/// changed in place (`Arc::get_mut` refuses, `Arc::make_mut` moves it), so the same address
/// means the same JSON.
pub(super) enum SharedKey {
    Static(&'static Value),
    Shared(Weak<Value>),
}

impl SharedKey {
    /// Whether `context` is the context this key was taken from.
    pub(super) fn matches(&self, context: &Context) -> bool {
        match (self, &context.0) {
            (SharedKey::Static(key), Repr::Static(value)) => std::ptr::eq(*key, *value),
            (SharedKey::Shared(key), Repr::Shared(value)) => {
                std::ptr::eq(key.as_ptr(), Arc::as_ptr(value))
            }
            _ => false,
        }
    }
}

impl From<Value> for Context {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Context::null(),
            value => Context(Repr::Shared(Arc::new(value))),
        }
    }
}

impl From<Arc<Value>> for Context {
    fn from(value: Arc<Value>) -> Self {
        Context(Repr::Shared(value))
    }
}

impl From<&Arc<Value>> for Context {
    fn from(value: &Arc<Value>) -> Self {
        Context(Repr::Shared(Arc::clone(value)))
    }
}

impl From<&'static Value> for Context {
    fn from(value: &'static Value) -> Self {
        Context::from_static(value)
    }
}

impl From<&Context> for Context {
    fn from(context: &Context) -> Self {
        context.clone()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl Serialize for Context {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

/// A record's context as exported and returned: the caller's context with the collecting
/// function's name under `"function"` (see [`with_function`]), written without building it.
pub(super) struct ContextView<'a> {
    pub(super) context: &'a Value,
    pub(super) function: Option<&'static str>,
}

impl Serialize for ContextView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(function) = self.function else {
            return match self.context {
                Value::Null => serializer.serialize_map(Some(0))?.end(),
                other => other.serialize(serializer),
            };
        };
        match self.context {
            Value::Object(object) if object.contains_key("function") => {
                object.serialize(serializer)
            }
            Value::Object(object) => {
                // Keys in order, as the object would hold them with the key added.
                let mut map = serializer.serialize_map(Some(object.len() + 1))?;
                let mut pending = Some(function);
                for (key, value) in object {
                    if let Some(name) = pending.filter(|_| key.as_str() > "function") {
                        map.serialize_entry("function", name)?;
                        pending = None;
                    }
                    map.serialize_entry(key, value)?;
                }
                if let Some(name) = pending {
                    map.serialize_entry("function", name)?;
                }
                map.end()
            }
            Value::Null => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("function", function)?;
                map.end()
            }
            other => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("context", other)?;
                map.serialize_entry("function", function)?;
                map.end()
            }
        }
    }
}

/// The context with `"function": function` added: an object gains the key (a `"function"`
/// the user wrote is kept), null becomes `{"function": ..}`, and any other value is kept
/// under `"context"`.
pub fn with_function(context: Value, function: &'static str) -> Value {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(context: Value, function: Option<&'static str>) -> Value {
        serde_json::to_value(ContextView {
            context: &context,
            function,
        })
        .unwrap()
    }

    #[test]
    fn the_view_writes_what_with_function_builds() {
        for context in [
            json!({"a": 1, "z": 2}),
            json!({"function": "mine", "b": 1}),
            Value::Null,
            json!(["x"]),
            json!(7),
            json!({}),
        ] {
            assert_eq!(
                view(context.clone(), Some("f")),
                with_function(context.clone(), "f")
            );
        }
        assert_eq!(view(Value::Null, None), json!({}));
        assert_eq!(view(json!([1]), None), json!([1]));
    }

    #[test]
    fn the_view_keeps_key_order() {
        let context = json!({"a": 1, "z": 2});
        let text = serde_json::to_string(&ContextView {
            context: &context,
            function: Some("f"),
        })
        .unwrap();
        assert_eq!(
            text,
            serde_json::to_string(&with_function(context, "f")).unwrap()
        );
    }

    #[test]
    fn contexts_share_instead_of_copying() {
        let shared = Arc::new(json!({"k": "v"}));
        let context = Context::from(&shared);
        let copy = context.clone();
        assert!(std::ptr::eq(copy.value(), &*shared));
        assert_eq!(Arc::strong_count(&shared), 3);
        assert!(Context::from(Value::Null).is_null());
    }
}

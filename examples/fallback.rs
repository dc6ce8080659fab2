//! Fallbacks: a cache, a default value, an alternative service, a recovery function, and a
//! custom strategy in a `FallbackChain`.
//!
//! `cargo run -p mcpstore-errors-examples --example fallback`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcpstore_errors::{
    BoxError, CacheIdentity, ErrorKind, FallbackChain, FallbackStrategy, McpStoreError,
    ResponseCache, fallback,
};
use mcpstore_errors_examples::narrate;

/// A stand-in for MCPStore: its services answer while `online`.
struct Store {
    online: AtomicBool,
}

/// A cached method's entries belong to an instance, told apart by its identity (or by its
/// value, for a `Clone + Eq + Hash` type). A process has one store, so every instance is it.
impl CacheIdentity for Store {
    type Id = ();
    fn cache_identity(&self) {}
}

impl Store {
    fn list_tools(&self, service_name: &str) -> Result<Vec<String>, McpStoreError> {
        if self.online.load(Ordering::Relaxed) {
            Ok(vec![
                format!("{service_name}.read_file"),
                format!("{service_name}.write_file"),
            ])
        } else {
            Err(McpStoreError::connection(format!(
                "Cannot reach service '{service_name}'"
            )))
        }
    }

    /// The seed's `get_service_tools`: the last good list for ten minutes, else an empty list.
    #[fallback(cache(ttl = "10m"), default = Vec::new())]
    fn get_service_tools(&self, service_name: &str) -> Result<Vec<String>, McpStoreError> {
        self.list_tools(service_name)
    }

    /// An alternative service, called with the same arguments.
    #[fallback(with = Self::tools_from_mirror)]
    fn tools_or_mirror(&self, service_name: &str) -> Result<Vec<String>, McpStoreError> {
        self.list_tools(service_name)
    }

    fn tools_from_mirror(&self, service_name: &str) -> Result<Vec<String>, McpStoreError> {
        Ok(vec![format!("{service_name}.read_file (mirror)")])
    }

    /// A recovery function gets the arguments and the error.
    #[fallback(recover = Self::status_unknown)]
    fn status(&self, service_name: &str) -> Result<String, McpStoreError> {
        self.list_tools(service_name).map(|_| "running".to_owned())
    }

    fn status_unknown(
        &self,
        service_name: &str,
        error: &McpStoreError,
    ) -> Result<String, McpStoreError> {
        Ok(format!("{service_name}: unknown ({})", error.code()))
    }
}

/// A custom strategy: a built-in catalog of well-known services' tools, for connection
/// failures only (a missing service should stay an error).
struct Catalog(HashMap<&'static str, Vec<String>>);

impl FallbackStrategy<str, Vec<String>, McpStoreError> for Catalog {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn recover(&self, service: &str, error: &McpStoreError) -> Result<Vec<String>, BoxError> {
        if error.kind() != ErrorKind::Connection {
            return Err(format!("not a connection failure: {}", error.code()).into());
        }
        match self.0.get(service) {
            Some(tools) => Ok(tools.clone()),
            None => Err(format!("no catalog entry for '{service}'").into()),
        }
    }
}

fn main() {
    // Shows which fallback served, from the crate's `tracing` events.
    narrate::init();
    let store = Store {
        online: AtomicBool::new(true),
    };

    println!("online:");
    println!(
        "  tools: {}",
        narrate::outcome(&store.get_service_tools("filesystem"))
    );
    println!(
        "  status: {}",
        narrate::outcome(&store.status("filesystem"))
    );

    store.online.store(false, Ordering::Relaxed);
    println!("\noffline:");
    println!(
        "  cached:   {}",
        narrate::outcome(&store.get_service_tools("filesystem"))
    );
    println!(
        "  default:  {}",
        narrate::outcome(&store.get_service_tools("web"))
    );
    println!(
        "  mirror:   {}",
        narrate::outcome(&store.tools_or_mirror("filesystem"))
    );
    println!(
        "  recover:  {}",
        narrate::outcome(&store.status("filesystem"))
    );

    println!("\nwithout attributes, a FallbackChain with a custom strategy:");
    let chain = FallbackChain::new()
        .operation("list_tools")
        .cache(ResponseCache::new(Duration::from_secs(600), 100))
        .strategy(Catalog(HashMap::from([(
            "git",
            vec!["git.log".to_owned(), "git.diff".to_owned()],
        )])));
    for service in ["git", "web"] {
        match chain.execute_outcome(service, |name| store.list_tools(name)) {
            Ok(served) => println!(
                "  {service}: {:?} (served by {})",
                served.value, served.served_by
            ),
            Err(error) => {
                println!("  {service}: every strategy failed; the original error: {error}")
            }
        }
    }
}

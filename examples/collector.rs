//! The error collector: a burst of errors raises the rate alert; then the summary and the
//! JSON export.
//!
//! `cargo run -p mcpstore-errors-examples --example collector`

use serde_json::json;

use mcpstore_errors::{McpStoreError, RateAlert, collect_errors, global_collector};
use mcpstore_errors_examples::narrate;

/// A stand-in for MCPStore's service registry: only `filesystem` exists.
struct Store;

impl Store {
    fn start_service(&self, name: &str) -> Result<bool, McpStoreError> {
        match name {
            "filesystem" => Ok(true),
            _ => Err(McpStoreError::service_not_found(name)),
        }
    }
}

/// The seed's `managed_start_service`: errors that escape are recorded by the global collector,
/// with this context, and still returned.
#[collect_errors(context = {"operation": "service_management"})]
fn managed_start_service(store: &Store, service_name: &str) -> Result<bool, McpStoreError> {
    store.start_service(service_name)
}

/// Any `std::error::Error` can be collected, not only `McpStoreError`.
#[collect_errors(context = {"operation": "load_config"})]
fn load_config(path: &str) -> Result<String, std::io::Error> {
    std::fs::read_to_string(path)
}

fn main() {
    // Shows the collector's own `tracing` events, the alert's warning among them.
    narrate::init();
    let collector = global_collector();
    collector.on_alert(|alert: &RateAlert| {
        println!(
            "  🚨 callback: {} {} errors within {:?} (more than {})",
            alert.count, alert.error_type, alert.window, alert.threshold
        );
    });

    let store = Store;
    println!("12 starts of a service that does not exist (the alert fires past 10 in 5 minutes):");
    for _ in 0..12 {
        let _ = managed_start_service(&store, "nonexistent_service");
    }
    println!("\na working start, a missing configuration file, a hand-collected tool failure:");
    let _ = managed_start_service(&store, "filesystem");
    let _ = load_config("/nonexistent/mcp.json");
    collector.collect(
        &McpStoreError::tool_execution_failed("search", "index is rebuilding", None),
        json!({"operation": "call_tool", "attempt": 1}),
    );

    println!("\nsummary of the last 24 hours:");
    print!(
        "{}",
        narrate::summary_table(&collector.summary(std::time::Duration::from_secs(24 * 3600)))
    );

    let dir = std::env::temp_dir().join("mcpstore-errors-collector");
    let exported = std::fs::create_dir_all(&dir)
        .map_err(McpStoreError::from)
        .and_then(|()| collector.export_default(&dir));
    match exported {
        Ok(path) => println!("\nexported every error to {}", path.display()),
        Err(e) => println!("\nexport failed: {e}"),
    }
}

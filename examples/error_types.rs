//! The error hierarchy: one `McpStoreError`, matched on its `ErrorKind`.
//!
//! `cargo run -p mcpstore-errors-examples --example error_types`

use std::error::Error;
use std::time::Duration;

use mcpstore_errors::{ErrorKind, McpStoreError};

/// A stand-in for MCPStore's service registry.
struct Store;

impl Store {
    fn start_service(&self, name: &str) -> Result<bool, McpStoreError> {
        match name {
            "filesystem" => Ok(true),
            "database" => Err(McpStoreError::service_start_failed(name, "port 5432 busy")),
            _ => Err(McpStoreError::service_not_found(name)),
        }
    }

    fn stop_service(&self, name: &str) -> Result<bool, McpStoreError> {
        Err(McpStoreError::service_timeout(
            name,
            Duration::from_secs(30),
        ))
    }

    fn restart_service(&self, name: &str) -> Result<bool, McpStoreError> {
        Err(McpStoreError::service_stop_failed(
            name,
            "process is a zombie",
        ))
    }
}

/// The seed's `safe_service_operation`: every failure is reported and becomes `false`.
fn safe_service_operation(store: &Store, service_name: &str, operation: &str) -> bool {
    let outcome = match operation {
        "start" => store.start_service(service_name),
        "stop" => store.stop_service(service_name),
        "restart" => store.restart_service(service_name),
        _ => Err(McpStoreError::configuration(format!(
            "Unknown operation: {operation}"
        ))),
    };
    let error = match outcome {
        Ok(done) => return done,
        Err(error) => error,
    };
    match error.kind() {
        ErrorKind::ServiceNotFound => {
            println!("  ❌ no such service: {}", detail(&error, "service_name"))
        }
        ErrorKind::ServiceStart => {
            println!("  ❌ service failed to start: {}", detail(&error, "reason"))
        }
        ErrorKind::ServiceTimeout => println!("  ⏰ service timed out: {}", error.message()),
        kind if kind.is_a(ErrorKind::Service) => {
            println!("  💥 service operation failed: {}", error.message())
        }
        _ => println!("  🔥 unexpected error: {error}"),
    }
    println!("     [{}] {}", error.code(), error.help());
    false
}

/// A string detail of `error`, or `""`.
fn detail<'e>(error: &'e McpStoreError, key: &str) -> &'e str {
    error
        .details()
        .get(key)
        .and_then(|value| value.as_str())
        .unwrap_or_default()
}

fn main() {
    let store = Store;
    for (service, operation) in [
        ("filesystem", "start"),
        ("database", "start"),
        ("nonexistent", "start"),
        ("filesystem", "stop"),
        ("filesystem", "restart"),
        ("filesystem", "reload"),
    ] {
        println!("{operation} {service}:");
        let success = safe_service_operation(&store, service, operation);
        println!("  → {success}");
    }

    println!("\nthe hierarchy:");
    for kind in ErrorKind::ALL {
        let parent = kind.parent().map_or("—", ErrorKind::name);
        let retryable = if kind.is_retryable() { "retryable" } else { "" };
        println!(
            "  {:<22} {:<22} {:<22} {retryable}",
            kind.name(),
            kind.code(),
            parent
        );
    }

    println!("\nas JSON, with a source:");
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    let error = McpStoreError::tool_execution_failed("read_file", "no such file", Some("ENOENT"))
        .with_source(refused);
    match serde_json::to_string_pretty(&error) {
        Ok(json) => println!("{json}"),
        Err(e) => println!("cannot serialize: {e}"),
    }
    if let Some(source) = error.source() {
        println!("caused by: {source}");
    }
}

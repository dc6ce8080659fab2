use mcpstore_errors::{McpStoreError, circuit_breaker};

#[circuit_breaker]
fn no_service() -> Result<(), McpStoreError> {
    Ok(())
}

#[circuit_breaker(service = "fs", window = 10)]
fn unknown_key() -> Result<(), McpStoreError> {
    Ok(())
}

#[circuit_breaker(service = " ")]
fn blank_service() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {}

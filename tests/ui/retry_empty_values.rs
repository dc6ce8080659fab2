use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = , delay = 0)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(on = [])]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(backoff = -2.0)]
fn restart() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(delay = 0, max_attempts = )]
fn reload() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
    let _ = stop();
    let _ = restart();
    let _ = reload();
}

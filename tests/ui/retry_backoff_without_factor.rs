use mcpstore_errors::{McpStoreError, retry};

// A factor only the exponential strategy uses would be ignored: refused, at `backoff`.
#[retry(strategy = linear, delay = "100ms", backoff = 3.0)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

// Exponential takes it.
#[retry(strategy = exponential, backoff = 3)]
fn restart() -> Result<(), McpStoreError> {
    Ok(())
}

// Reported too when another error stops the expansion, as is a negative factor.
#[retry(strategy = fixed, backoff = 2.0, retries = 3)]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(backoff = -1.5, retries = 3)]
fn ping() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
    let _ = restart();
    let _ = stop();
    let _ = ping();
}

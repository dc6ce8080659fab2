use mcpstore_errors::{McpStoreError, retry};

// Both unknown names of one policy are reported.
#[retry(strategy = expo, jitter = ful)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(strategy = exponential, jitter = random, max_attempts = 0)]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
    let _ = stop();
}

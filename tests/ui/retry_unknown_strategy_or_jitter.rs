use mcpstore_errors::{McpStoreError, retry};

// Each policy is one constant: its first unknown name is the one reported.
#[retry(strategy = expo, jitter = full)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(strategy = exponential, jitter = ful)]
fn stop() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
    let _ = stop();
}

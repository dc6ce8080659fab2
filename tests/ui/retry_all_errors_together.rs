use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = 0, delay = "soon", strategy = random, colour = "blue", jitter = 2.5)]
fn start() -> Result<(), McpStoreError> {
    #![allow(unused_variables)]
    Ok(())
}

fn main() {
    let _ = start();
}

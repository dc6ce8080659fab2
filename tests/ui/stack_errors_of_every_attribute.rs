use mcpstore_errors::{McpStoreError, collect_errors, fallback, retry};

// Each attribute of the stack reports its own errors, all in one run.
#[collect_errors(contxt = {"operation": "start"})]
#[fallback(default, cache(ttl = "10 fortnights"))]
#[retry(backof = 2.0)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = start();
}

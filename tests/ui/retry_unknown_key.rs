use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attemps = 3)]
fn start(name: &str) -> Result<String, McpStoreError> {
    Ok(name.to_owned())
}

fn main() {
    // The function is still there, with its signature: no second wave of errors.
    let _: Result<String, McpStoreError> = start("fs");
}

use mcpstore_errors::{McpStoreError, retry};

#[retry(no_clone = [conection])]
fn send(connection: String) -> Result<usize, McpStoreError> {
    Ok(connection.len())
}

fn main() {
    let _ = send(String::new());
}

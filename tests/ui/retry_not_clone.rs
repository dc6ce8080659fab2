use mcpstore_errors::{McpStoreError, retry};

struct Connection;

#[retry(max_attempts = 3)]
fn send(message: String, connection: Connection) -> Result<usize, McpStoreError> {
    let _ = connection;
    Ok(message.len())
}

fn main() {
    let _ = send("ping".to_owned(), Connection);
}

use mcpstore_errors::{McpStoreError, retry};

struct Connection;

#[retry(max_attempts = 3)]
fn send(message: String, connection: Connection) -> Result<usize, McpStoreError> {
    let _ = connection;
    Ok(message.len())
}

// A type parameter without a `Clone` bound: the same error, at the parameter.
#[retry(max_attempts = 3)]
fn generic<T: std::fmt::Debug>(value: T) -> Result<String, McpStoreError> {
    Ok(format!("{value:?}"))
}

fn main() {
    let _ = send("ping".to_owned(), Connection);
}

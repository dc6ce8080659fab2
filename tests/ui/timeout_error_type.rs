use mcpstore_errors::{retry, timeout};

// A `String` can neither be made from a `ServiceTimeout` nor say how it times out.
#[timeout("2s")]
async fn read() -> Result<u8, String> {
    Ok(1)
}

#[retry(max_attempts = 2, attempt_timeout = "1s")]
async fn fetch() -> Result<u8, String> {
    Ok(2)
}

fn main() {}

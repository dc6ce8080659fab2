use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = 3)]
fn port() -> u16 {
    8080
}

// The whole type is underlined and written as it reads.
#[retry]
fn ports() -> Option<std::vec::Vec<(u16, &'static str)>> {
    None
}

// A hand-written future: the error says to write the `async fn` instead.
#[retry]
fn later() -> impl std::future::Future<Output = Result<u32, McpStoreError>> {
    async { Ok(1) }
}

fn main() {
    let _: u16 = port();
    let _ = ports();
    let _ = later();
}

use mcpstore_errors::retry;

#[retry(max_attempts = 3)]
fn port() -> u16 {
    8080
}

fn main() {
    let _: u16 = port();
}

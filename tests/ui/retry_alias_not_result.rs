use mcpstore_errors::retry;

type Port = u16;

#[retry(max_attempts = 3)]
fn port() -> Port {
    8080
}

fn main() {
    let _: u16 = port();
}

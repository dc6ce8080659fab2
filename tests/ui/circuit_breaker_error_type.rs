use mcpstore_errors::circuit_breaker;

#[circuit_breaker(service = "fs")]
fn own_error() -> Result<(), String> {
    Ok(())
}

fn main() {}

use mcpstore_errors::circuit_breaker;

#[circuit_breaker(service = "fs")]
fn own_error() -> Result<(), String> {
    Ok(())
}

// A foreign type with many `From` impls: none of them is listed as a way out.
#[circuit_breaker(service = "fs")]
async fn parse() -> Result<u8, serde_json::Error> {
    Ok(0)
}

#[derive(Debug)]
struct MyError;

#[circuit_breaker(service = "fs")]
fn mine() -> Result<(), MyError> {
    Ok(())
}

fn main() {}

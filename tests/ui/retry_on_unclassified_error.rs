use mcpstore_errors::retry;

#[derive(Debug)]
struct MyError;

// A kind list needs an error that knows its kind.
#[retry(on = [Connection], delay = 0)]
fn start() -> Result<(), MyError> {
    Err(MyError)
}

// So does `when = retryable`, reported at `retryable`.
#[retry(when = retryable, delay = 0)]
fn stop() -> Result<(), MyError> {
    Err(MyError)
}

fn main() {
    let _ = start();
    let _ = stop();
}

use std::time::Duration;

use mcpstore_errors::retry;

// The policy is built once, on the first call: an argument's value would serve every call.
#[retry(max_attempts = attempts, delay = 0)]
fn call(attempts: u32) -> Result<(), String> {
    Err(format!("down after {attempts}"))
}

#[retry(delay = wait)]
fn pause(mut wait: Duration) -> Result<(), String> {
    wait += Duration::from_millis(1);
    Err(format!("down after {wait:?}"))
}

// Shadowed by a `let` of the value's own, the argument is still refused (by rustc: the
// policy is built in a nested `fn`).
#[retry(max_attempts = { let attempts = attempts; attempts }, delay = 0)]
fn shadow(attempts: u32) -> Result<(), String> {
    Err(format!("down after {attempts}"))
}

fn main() {
    let _ = shadow(1);
    let _ = call(1);
    let _ = pause(Duration::ZERO);
}

use mcpstore_errors::retry;

// A value that shadows the argument it reads with a `let` of its own reads nothing of the
// call by the macro's rule, so it is built once, where rustc refuses the argument.
#[retry(max_attempts = { let attempts = attempts; attempts }, delay = 0)]
fn shadow(attempts: u32) -> Result<(), String> {
    Err(format!("down after {attempts}"))
}

fn main() {
    let _ = shadow(1);
}

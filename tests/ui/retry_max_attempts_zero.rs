use mcpstore_errors::{McpStoreError, retry};

#[retry(max_attempts = 0)]
fn start() -> Result<(), McpStoreError> {
    Ok(())
}

// A literal that arrives through a `macro_rules!` fragment is checked all the same.
macro_rules! attempts {
    ($n:literal) => {
        #[retry(max_attempts = $n)]
        fn stop() -> Result<(), McpStoreError> {
            Ok(())
        }
    };
}
attempts!(0);

fn main() {
    let _ = start();
    let _ = stop();
}

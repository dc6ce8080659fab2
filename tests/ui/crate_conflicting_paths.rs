use mcpstore_errors::{McpStoreError, fallback, retry};

mod reexport {
    #[allow(unused_imports)]
    pub use mcpstore_errors as inner;
}

#[retry(crate = reexport::inner, max_attempts = 3)]
#[fallback(crate = mcpstore_errors, default)]
fn two_paths() -> Result<u32, McpStoreError> {
    Ok(1)
}

#[retry(crate = "mcpstore_errors")]
fn not_a_path() -> Result<u32, McpStoreError> {
    Ok(1)
}

fn main() {
    let _ = (two_paths(), not_a_path());
}

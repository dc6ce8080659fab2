use mcpstore_errors::{McpStoreError, fallback, retry};

// A stray comma or a literal where a key goes: one error each, and the build ends.
#[retry(max_attempts = 2,, delay = 0)]
fn double_comma() -> Result<(), McpStoreError> {
    Ok(())
}

#[fallback("cache", default)]
fn literal_key() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(, max_attempts = 2)]
fn leading_comma() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {
    let _ = double_comma();
    let _ = literal_key();
    let _ = leading_comma();
}

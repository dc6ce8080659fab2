use mcpstore_errors::{McpStoreError, retry};

#[retry(delay = "1s", max_delay = "1ms")]
fn over_the_given_cap() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(delay = "2m")]
fn over_the_default_cap() -> Result<(), McpStoreError> {
    Ok(())
}

// Within the cap, or with a cap only the config knows: accepted.
#[retry(delay = "2m", max_delay = "5m")]
fn within_the_given_cap() -> Result<(), McpStoreError> {
    Ok(())
}

#[retry(config = mcpstore_errors::RetryConfig::new(), delay = "2m")]
fn with_a_config() -> Result<(), McpStoreError> {
    Ok(())
}

fn main() {}

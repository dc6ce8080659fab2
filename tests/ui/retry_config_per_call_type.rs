use mcpstore_errors::{McpStoreError, RetryConfig, retry};

struct Client {
    attempts: u32,
    retry: RetryConfig,
}

impl Client {
    // Read per call, `config` takes a `RetryConfig` or a reference to one: another type is one
    // error, at the expression.
    #[retry(config = self.attempts)]
    fn call(&self) -> Result<u32, McpStoreError> {
        Ok(1)
    }

    // The same beside another key.
    #[retry(config = Some(&self.retry), max_attempts = 2)]
    async fn call_async(&self) -> Result<u32, McpStoreError> {
        Ok(2)
    }

    // A field moved out of `&self`: rustc says to borrow it.
    #[retry(config = self.retry)]
    fn moved(&self) -> Result<u32, McpStoreError> {
        Ok(3)
    }
}

fn main() {}

use mcpstore_errors::{McpStoreError, retry};

struct Pool {
    connection: Option<String>,
}

impl Pool {
    // Each attempt reborrows `self`: a borrow of it cannot be returned from one.
    #[retry(max_attempts = 3, delay = 0)]
    fn connection(&mut self) -> Result<&mut String, McpStoreError> {
        Ok(self.connection.get_or_insert_with(String::new))
    }

    #[retry(max_attempts = 3, delay = 0)]
    async fn name(&mut self) -> Result<std::borrow::Cow<'_, str>, McpStoreError> {
        Ok(self.connection.as_deref().unwrap_or("none").into())
    }
}

#[retry(max_attempts = 3, delay = 0)]
fn last<'a>(items: &'a mut Vec<u32>) -> Result<&'a mut u32, McpStoreError> {
    items.last_mut().ok_or_else(|| McpStoreError::configuration("empty"))
}

fn main() {}

use mcpstore_errors::{McpStoreError, fallback};

struct Index;

impl Index {
    // A sync alternative of another value type: counts, not names.
    fn counts(&self, q: &str) -> Result<Vec<u32>, McpStoreError> {
        Ok(vec![q.len() as u32])
    }

    #[fallback(with = Self::counts)]
    async fn names(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        Ok(vec![q.to_owned()])
    }

    // An async one of another value type.
    async fn count_async(&self, q: &str) -> Result<Vec<u32>, McpStoreError> {
        Ok(vec![q.len() as u32])
    }

    #[fallback(with = Self::count_async)]
    async fn names_async(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        Ok(vec![q.to_owned()])
    }

    // A recovery that forgot the `Result`.
    fn on_failure(&self, q: &str, error: &McpStoreError) -> Vec<String> {
        let _ = error;
        vec![q.to_owned()]
    }

    #[fallback(recover = Self::on_failure)]
    async fn recovered(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        Ok(vec![q.to_owned()])
    }

    // An async one that forgot it too.
    async fn on_failure_async(&self, q: &str, error: &McpStoreError) -> Vec<String> {
        let _ = error;
        vec![q.to_owned()]
    }

    #[fallback(recover = Self::on_failure_async)]
    async fn recovered_async(&self, q: &str) -> Result<Vec<String>, McpStoreError> {
        Ok(vec![q.to_owned()])
    }
}

fn main() {
    let index = Index;
    let _ = index.names("q");
    let _ = index.names_async("q");
    let _ = index.recovered("q");
    let _ = index.recovered_async("q");
}

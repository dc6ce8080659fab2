use mcpstore_errors::{McpStoreError, RetryConfig, retry};

trait Policy {
    fn policy() -> RetryConfig;
}

struct Client<P>(P);

impl<P: Policy> Client<P> {
    // `config` is built once for every instantiation: it cannot name the impl's `P`. The
    // error says so at `P`, without suggesting a generic parameter at the attribute.
    #[retry(config = P::policy())]
    fn call(&self) -> Result<u32, McpStoreError> {
        Ok(1)
    }
}

fn main() {}

use std::borrow::Cow;

use mcpstore_errors::{fallback, McpStoreError};

#[derive(Clone, PartialEq, Eq, Hash)]
struct Service {
    name: String,
}

impl Service {
    // The value would borrow the instance, which the cache outlives.
    #[fallback(cache)]
    fn name(&self) -> Result<&str, McpStoreError> {
        Ok(&self.name)
    }

    #[fallback(cache)]
    async fn name_later(&self) -> Result<&str, McpStoreError> {
        Ok(&self.name)
    }
}

#[fallback(cache)]
fn trimmed<'a>(text: &'a str) -> Result<Cow<'a, str>, McpStoreError> {
    Ok(Cow::Borrowed(text.trim()))
}

#[fallback(cache)]
fn words(text: &str) -> Result<Vec<&str>, McpStoreError> {
    Ok(text.split(' ').collect())
}

// Accepted: a `'static` borrow, and a function pointer's own lifetimes.
#[fallback(cache)]
fn greeting(_id: u32) -> Result<&'static str, McpStoreError> {
    Ok("hello")
}

#[fallback(cache)]
fn parser(_id: u32) -> Result<fn(&str) -> usize, McpStoreError> {
    Ok(str::len)
}

fn main() {
    let service = Service { name: "fs".into() };
    let _ = service.name();
    let _ = service.name_later();
    let _ = trimmed(" a ");
    let _ = words("a b");
    let _ = greeting(1);
    let _ = parser(1);
}

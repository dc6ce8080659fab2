use mcpstore_errors::fallback;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Client {
    service: String,
    requests: u32,
}

impl Client {
    // The method changes the instance: a copy of it would be another key on every call.
    #[fallback(cache)]
    fn list_tools(&mut self) -> Result<Vec<String>, String> {
        self.requests += 1;
        Ok(vec![format!("{}.read", self.service)])
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Pinned {
    requests: u32,
}

impl Pinned {
    // Pinned, the same: the method may change the instance.
    #[fallback(cache)]
    fn list_tools(self: std::pin::Pin<&mut Self>) -> Result<u32, String> {
        let this = self.get_mut();
        this.requests += 1;
        Ok(this.requests)
    }
}

fn main() {
    let mut pinned = Pinned { requests: 0 };
    let _ = std::pin::Pin::new(&mut pinned).list_tools();
    let mut client = Client { service: "fs".into(), requests: 0 };
    let _ = client.list_tools();
}

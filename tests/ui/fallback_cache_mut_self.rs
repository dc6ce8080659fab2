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

fn main() {
    let mut client = Client { service: "fs".into(), requests: 0 };
    let _ = client.list_tools();
}

use mcpstore_errors::fallback;

#[derive(Clone)]
struct Query {
    text: String,
}

impl Query {
    // Taken by value, the receiver is part of the key like any other argument.
    #[fallback(cache)]
    fn run(self) -> Result<String, String> {
        Ok(self.text)
    }

    // Borrowed, it is keyed by the instance's address: no `Hash` needed.
    #[fallback(cache)]
    fn peek(&self) -> Result<String, String> {
        Ok(self.text.clone())
    }
}

fn main() {
    let query = Query { text: "q".into() };
    let _ = query.peek();
    let _ = query.run();
}

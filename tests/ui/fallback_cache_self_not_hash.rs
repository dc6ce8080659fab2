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

    // Borrowed, it is keyed by its identity or its value, never by its address (which a later
    // instance may reuse): neither is available.
    #[fallback(cache)]
    fn peek(&self) -> Result<String, String> {
        Ok(self.text.clone())
    }
}

// Zero-sized: no address of its own, and no value the key could hold.
struct Marker;

impl Marker {
    #[fallback(cache)]
    fn label(&self) -> Result<String, String> {
        Ok("marker".into())
    }
}

fn main() {
    let query = Query { text: "q".into() };
    let _ = query.peek();
    let _ = query.run();
    let _ = Marker.label();
}

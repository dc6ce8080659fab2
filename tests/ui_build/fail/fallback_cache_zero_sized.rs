use mcpstore_errors::fallback;

// Every instance of a zero-sized type may have the same address (two `Box<Marker>` do), so the
// address cannot tell their cache entries apart.
struct Marker;

impl Marker {
    #[fallback(cache)]
    fn label(&self) -> Result<String, String> {
        Ok("marker".into())
    }
}

fn main() {
    let _ = Marker.label();
}

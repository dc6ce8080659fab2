use mcpstore_errors::{CacheIdentity, fallback};

// Zero-sized, but keyed by an id rather than by its address: accepted.
struct Marker;

impl CacheIdentity for Marker {
    type Id = &'static str;
    fn cache_identity(&self) -> &'static str {
        "marker"
    }
}

impl Marker {
    #[fallback(cache)]
    fn label(&self) -> Result<String, String> {
        Ok("marker".into())
    }
}

fn main() {
    assert_eq!(Marker.label().unwrap(), "marker");
}

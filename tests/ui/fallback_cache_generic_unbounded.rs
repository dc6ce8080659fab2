use mcpstore_errors::{McpStoreError, fallback};

// A generic argument is part of the key like any other, so its parameter needs the bounds a key
// holds; here it has none of them, by value or by reference.
#[fallback(cache)]
fn by_value<T>(value: T) -> Result<u32, McpStoreError> {
    let _ = value;
    Ok(1)
}

#[fallback(cache)]
fn by_reference<T>(value: &T) -> Result<u32, McpStoreError> {
    let _ = value;
    Ok(1)
}

// Borrowed inside a standard type: keyed by an owned copy of what it borrows, which `T` lacks.
#[fallback(cache)]
fn in_an_option<T>(value: Option<&T>) -> Result<u32, McpStoreError> {
    let _ = value;
    Ok(1)
}

// Some bounds, not all: still one error, at the argument.
#[fallback(cache)]
fn partly_bounded<T: Clone + std::hash::Hash>(value: T) -> Result<u32, McpStoreError> {
    let _ = value;
    Ok(1)
}

fn main() {
    let _ = by_value(1_u8);
    let _ = by_reference(&1_u8);
    let _ = in_an_option(Some(&1_u8));
    let _ = partly_bounded(1_u8);
}

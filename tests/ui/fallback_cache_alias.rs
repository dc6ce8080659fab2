use mcpstore_errors::fallback;

type Tools = Result<Vec<String>, String>;

// An alias is a `Result` for every strategy but `cache`, which needs to see `T`.
#[fallback(cache)]
fn tools() -> Tools {
    Ok(Vec::new())
}

#[fallback(default)]
fn tools_or_none() -> Tools {
    Ok(Vec::new())
}

fn main() {
    let _ = tools();
    let _ = tools_or_none();
}

use mcpstore_errors::collect_errors;

#[derive(Debug)]
struct ParseError<'a> {
    rest: &'a str,
}

impl std::fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot parse {:?}", self.rest)
    }
}

impl std::error::Error for ParseError<'_> {}

// The error borrows the input; a collector outlives the call.
#[collect_errors]
fn parse(input: &str) -> Result<u32, ParseError<'_>> {
    input.parse().map_err(|_| ParseError { rest: input })
}

#[collect_errors]
fn parse_named<'a>(input: &'a str) -> Result<u32, &'a ParseError<'a>> {
    let _ = input;
    Ok(1)
}

#[derive(Debug)]
struct Static;

impl std::fmt::Display for Static {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("static")
    }
}

impl std::error::Error for Static {}

// Accepted: a `'static` borrow.
#[collect_errors]
fn lookup(_id: u32) -> Result<u32, &'static Static> {
    Err(&Static)
}

fn main() {
    let _ = parse("x");
    let _ = parse_named("x");
    let _ = lookup(1);
}

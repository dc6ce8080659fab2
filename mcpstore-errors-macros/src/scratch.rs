#[test]
fn dump() {
    let src = std::fs::read_to_string("/tmp/dump_in.rs").unwrap();
    let (args, item) = src.split_once("\n---\n").unwrap();
    let out = crate::expand::expand(
        crate::expand::Kind::Retry,
        args.parse().unwrap(),
        item.parse().unwrap(),
    );
    std::fs::write("/tmp/dump_out.rs", out.to_string()).unwrap();
}

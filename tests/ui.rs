//! Compile errors of the attributes: each file under `ui/` must fail with exactly the
//! diagnostics of its `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}

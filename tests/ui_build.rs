//! Compile errors that only code generation reports (a `const` assertion on a monomorphized
//! type, which `cargo check` never evaluates): these cases are built, and the passing one run.

#[test]
fn ui_build() {
    let cases = trybuild::TestCases::new();
    // A passing case makes trybuild build every case rather than check it.
    cases.pass("ui_build/pass/*.rs");
    cases.compile_fail("ui_build/fail/*.rs");
}

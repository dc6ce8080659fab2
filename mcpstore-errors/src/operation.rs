//! The name of an annotated function in events, metrics and the collector's context.
//!
//! An attribute cannot see the impl it is in, so it names the function by the type of a
//! closure written in its body: rustc names that type by the function's full path, `Self`
//! included (`crate::Fs::list::{{closure}}`, `<crate::Fs as crate::Tool>::call::{{closure}}`).
//! The name is read only when an event, a metric or a record needs it, never on the success
//! path (but for the success counter of the feature `metrics`).

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

/// Who is calling: a name given to the plain API, or an annotated function's site.
#[derive(Clone, Copy)]
pub enum Operation {
    /// A name given as it is, such as [`RetryManager::operation`](crate::RetryManager)'s.
    Named(&'static str),
    /// An annotated function: the type name of a closure in its body (see [`Operation::of`]).
    Site(fn() -> &'static str),
}

impl Operation {
    /// The site of the function `closure` is written in.
    #[inline(always)]
    pub fn of<F>(closure: &F) -> Operation {
        let _ = closure;
        Operation::Site(std::any::type_name::<F>)
    }

    /// The name: a site's function path, with its impl's type and without generic arguments
    /// (`crate::Fs::list`, `crate::Holder::label` for every `Holder<T>`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Named(name) => name,
            Operation::Site(site) => site_name(site()),
        }
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Names that needed rewriting, by the address of rustc's name: one per generic instantiation
/// or trait impl of an annotated function that reported something, so bounded by the program.
static TIDIED: LazyLock<RwLock<HashMap<usize, &'static str>>> = LazyLock::new(RwLock::default);

fn site_name(raw: &'static str) -> &'static str {
    let path = without_closures(raw);
    if !path.contains('<') {
        return path;
    }
    let key = raw.as_ptr() as usize;
    if let Some(name) = TIDIED.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return name;
    }
    // Made under the write lock, so that racing first reports keep one copy, not two.
    let mut tidied = TIDIED.write().unwrap_or_else(|e| e.into_inner());
    tidied
        .entry(key)
        .or_insert_with(|| Box::leak(tidy(path).into_boxed_str()))
}

/// `path` without the closures' segments at its end (an `async fn`'s body adds some).
fn without_closures(mut path: &str) -> &str {
    while let Some(before) = path.strip_suffix("::{{closure}}") {
        path = before;
    }
    path
}

/// `<crate::Fs as crate::Tool>::call` as `crate::Fs::call`; generic arguments left out.
fn tidy(path: &str) -> String {
    if let Some(qualified) = path.strip_prefix('<') {
        if let Some(close) = matching_close(qualified) {
            let self_type = top_level_split(&qualified[..close], " as ");
            let mut name = without_generics(self_type);
            name.push_str(&without_generics(&qualified[close + 1..]));
            return name;
        }
    }
    without_generics(path)
}

/// An angle bracket of a type name at `at`: `Some(true)` opens, `Some(false)` closes. The `>`
/// of a function type's `->` (`fn(u8) -> u8`, `dyn Fn() -> u8`) is none.
fn bracket(bytes: &[u8], at: usize) -> Option<bool> {
    match bytes[at] {
        b'<' => Some(true),
        b'>' if at == 0 || bytes[at - 1] != b'-' => Some(false),
        _ => None,
    }
}

/// The index of the `>` closing an already opened `<`.
fn matching_close(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1usize;
    for at in 0..bytes.len() {
        match bracket(bytes, at) {
            Some(true) => depth += 1,
            Some(false) => {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            None => {}
        }
    }
    None
}

/// What comes before the first `separator` outside angle brackets (all of `text` without).
fn top_level_split<'a>(text: &'a str, separator: &str) -> &'a str {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    for at in 0..bytes.len() {
        match bracket(bytes, at) {
            Some(true) => depth += 1,
            Some(false) => depth = depth.saturating_sub(1),
            None if depth == 0 && text[at..].starts_with(separator) => return &text[..at],
            None => {}
        }
    }
    text
}

fn without_generics(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut kept = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        match bracket(bytes, at) {
            Some(true) => depth += 1,
            Some(false) => depth = depth.saturating_sub(1),
            None if depth == 0 => kept.push(c),
            None => {}
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    mod m {
        /// What the expansion's `Operation::of(&|| ())` reads.
        fn type_name_of<F>(_closure: &F) -> &'static str {
            std::any::type_name::<F>()
        }

        pub struct Fs;
        pub struct Holder<T>(pub T);

        pub trait Tool {
            fn describe(&self) -> &'static str {
                type_name_of(&|| ())
            }
        }

        impl Fs {
            pub fn list(&self) -> &'static str {
                type_name_of(&|| ())
            }
        }

        impl<T> Holder<T> {
            pub fn label() -> &'static str {
                type_name_of(&|| ())
            }
        }

        impl Tool for Fs {}
        impl Tool for Holder<Vec<u8>> {}

        pub fn free() -> &'static str {
            type_name_of(&|| ())
        }
    }

    use m::Tool as _;

    const HERE: &str = "mcpstore_errors::operation::tests::m";

    #[test]
    fn a_site_is_named_by_its_functions_path_with_the_type_of_self() {
        let named = |raw| site_name(raw).strip_prefix(HERE).map(str::to_owned);
        assert_eq!(named(m::free()).as_deref(), Some("::free"));
        assert_eq!(named(m::Fs.list()).as_deref(), Some("::Fs::list"));
        assert_eq!(named(m::Fs.describe()).as_deref(), Some("::Fs::describe"));
        assert_eq!(
            named(m::Holder::<u8>::label()).as_deref(),
            Some("::Holder::label")
        );
        assert_eq!(
            named(m::Holder(vec![1u8]).describe()).as_deref(),
            Some("::Holder::describe")
        );
    }

    #[test]
    fn a_name_without_generics_is_a_slice_of_rustcs_and_another_is_kept_once() {
        let raw = m::Fs.list();
        assert!(raw.as_ptr() == site_name(raw).as_ptr(), "no copy");
        let raw = m::Holder::<String>::label();
        assert!(std::ptr::eq(site_name(raw), site_name(raw)), "one copy");
    }

    #[test]
    fn tidy_reads_nested_and_qualified_paths() {
        assert_eq!(without_closures("a::f::{{closure}}::{{closure}}"), "a::f");
        assert_eq!(tidy("a::H<b::V<u8>, c::D>::f"), "a::H::f");
        assert_eq!(tidy("<a::H<u8> as a::T<b::X>>::f"), "a::H::f");
        assert_eq!(tidy("<&str as a::T>::f"), "&str::f");
        assert_eq!(tidy("<unbalanced"), "");
    }

    #[test]
    fn the_arrow_of_a_function_type_is_no_bracket() {
        assert_eq!(tidy("<fn(u8) -> u8 as a::T>::run"), "fn(u8) -> u8::run");
        assert_eq!(tidy("a::W<fn() -> u8>::run"), "a::W::run");
        assert_eq!(tidy("<a::W<fn() -> u8> as a::T>::run"), "a::W::run");
        assert_eq!(
            tidy(
                "<a::G<alloc::boxed::Box<dyn core::ops::function::Fn() -> u8 + Send>> as a::T>::call"
            ),
            "a::G::call"
        );
        assert_eq!(
            tidy("<dyn core::ops::function::Fn() -> u8 as a::T>::run"),
            "dyn core::ops::function::Fn() -> u8::run"
        );
        assert_eq!(tidy("a::f<fn(&str) -> Vec<u8>>"), "a::f");
    }
}

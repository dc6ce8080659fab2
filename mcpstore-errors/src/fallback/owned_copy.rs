//! [`OwnedCopy`]: a copy of a standard value that borrows nothing, however deep its borrows
//! sit (`Option<&&str>`, `(&str, u32)`, `&[(&str, Cow<str>)]`), for `#[fallback(cache)]` to key
//! an argument by.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// A value of a standard type with an owned copy that borrows nothing and is equal to another
/// copy exactly when the originals are equal: `String` for `&str`, `Vec<String>` for
/// `&[&str]`, `(String, u32)` for `(&str, u32)`. Implemented for the primitives (floats,
/// which are not `Eq`, aside), strings, paths, `Duration`, and for references, boxes,
/// `Rc`/`Arc`, `Cow`, `Option`, `Result`, slices, arrays, `Vec`, `BTreeMap`/`BTreeSet` and
/// tuples of up to eight of them.
pub trait OwnedCopy {
    /// The owned copy.
    type Copy: Hash + Eq + Send + Sync + 'static;
    /// Makes the owned copy.
    fn owned_copy(&self) -> Self::Copy;
}

/// Types that are their own owned copy.
macro_rules! owned_as_is {
    ($($ty:ty),* $(,)?) => {$(
        impl OwnedCopy for $ty {
            type Copy = $ty;
            #[inline]
            fn owned_copy(&self) -> $ty {
                self.clone()
            }
        }
    )*};
}

owned_as_is!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    String,
    PathBuf,
    OsString,
    Duration,
);

/// Borrowed types and their owned forms.
macro_rules! owned_as {
    ($($borrowed:ty => $owned:ty),* $(,)?) => {$(
        impl OwnedCopy for $borrowed {
            type Copy = $owned;
            #[inline]
            fn owned_copy(&self) -> $owned {
                self.to_owned()
            }
        }
    )*};
}

owned_as!(str => String, Path => PathBuf, OsStr => OsString);

/// Pointers are keyed by what they point to.
macro_rules! owned_through {
    ($($pointer:ty),* $(,)?) => {$(
        impl<T: OwnedCopy + ?Sized> OwnedCopy for $pointer {
            type Copy = T::Copy;
            #[inline]
            fn owned_copy(&self) -> T::Copy {
                T::owned_copy(self)
            }
        }
    )*};
}

owned_through!(&T, &mut T, Box<T>, Rc<T>, Arc<T>);

impl<B> OwnedCopy for Cow<'_, B>
where
    B: OwnedCopy + ToOwned + ?Sized,
{
    type Copy = B::Copy;
    #[inline]
    fn owned_copy(&self) -> B::Copy {
        B::owned_copy(self)
    }
}

impl<T: OwnedCopy> OwnedCopy for Option<T> {
    type Copy = Option<T::Copy>;
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        self.as_ref().map(T::owned_copy)
    }
}

impl<T: OwnedCopy, E: OwnedCopy> OwnedCopy for Result<T, E> {
    type Copy = Result<T::Copy, E::Copy>;
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        match self {
            Ok(value) => Ok(value.owned_copy()),
            Err(error) => Err(error.owned_copy()),
        }
    }
}

impl<T: OwnedCopy> OwnedCopy for [T] {
    type Copy = Vec<T::Copy>;
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        self.iter().map(T::owned_copy).collect()
    }
}

impl<T: OwnedCopy, const N: usize> OwnedCopy for [T; N] {
    type Copy = [T::Copy; N];
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        self.each_ref().map(T::owned_copy)
    }
}

impl<T: OwnedCopy> OwnedCopy for Vec<T> {
    type Copy = Vec<T::Copy>;
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        self.as_slice().owned_copy()
    }
}

// An ordered collection's copy keeps the order only if the copies order as the originals do,
// which holds for every `OwnedCopy` type (a borrowed and an owned string order alike).
impl<K, V> OwnedCopy for BTreeMap<K, V>
where
    K: OwnedCopy,
    K::Copy: Ord,
    V: OwnedCopy,
{
    type Copy = BTreeMap<K::Copy, V::Copy>;
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        self.iter()
            .map(|(key, value)| (key.owned_copy(), value.owned_copy()))
            .collect()
    }
}

impl<T> OwnedCopy for BTreeSet<T>
where
    T: OwnedCopy,
    T::Copy: Ord,
{
    type Copy = BTreeSet<T::Copy>;
    #[inline]
    fn owned_copy(&self) -> Self::Copy {
        self.iter().map(T::owned_copy).collect()
    }
}

macro_rules! owned_tuple {
    ($($name:ident)+) => {
        impl<$($name: OwnedCopy),+> OwnedCopy for ($($name,)+) {
            type Copy = ($($name::Copy,)+);
            #[inline]
            #[allow(non_snake_case)]
            fn owned_copy(&self) -> Self::Copy {
                let ($($name,)+) = self;
                ($($name.owned_copy(),)+)
            }
        }
    };
}

owned_tuple!(A);
owned_tuple!(A B);
owned_tuple!(A B C);
owned_tuple!(A B C D);
owned_tuple!(A B C D E);
owned_tuple!(A B C D E F);
owned_tuple!(A B C D E F G);
owned_tuple!(A B C D E F G H);

#[cfg(test)]
mod tests {
    use super::OwnedCopy;
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    #[test]
    fn deep_borrows_become_owned_copies_equal_as_the_originals_are() {
        let name = String::from("fs");
        let nested: Option<&&str> = Some(&name.as_str());
        assert_eq!(nested.owned_copy(), Some(String::from("fs")));
        let pairs: &[(&str, Cow<'_, str>)] =
            &[("a", Cow::Borrowed("x")), ("b", Cow::Owned("y".into()))];
        assert_eq!(
            pairs.owned_copy(),
            vec![
                ("a".to_owned(), "x".to_owned()),
                ("b".to_owned(), "y".to_owned())
            ]
        );
        let map: BTreeMap<&str, Vec<&str>> = BTreeMap::from([("k", vec!["v"])]);
        assert_eq!(
            map.owned_copy(),
            BTreeMap::from([("k".to_owned(), vec!["v".to_owned()])])
        );
        assert_ne!(("a", 1u32).owned_copy(), ("a", 2u32).owned_copy());
        assert_eq!([Some("a"), None].owned_copy(), [Some("a".to_owned()), None]);
    }
}

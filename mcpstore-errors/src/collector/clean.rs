//! Remembers, per thread, the shared contexts a collector found within its limits and with
//! nothing to redact, so that a context passed on every collect (`&'static` or an `Arc`) is
//! checked once per thread instead of walked per collect.
//!
//! The verdict depends on the context alone only when the redaction policy does (not for a
//! custom hook, which also sees the error): the caller asks only then. A collector's limits
//! and policy are fixed when it is built, so a verdict stays true for the collector's life.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use super::Inner;
use super::context::{Context, SharedKey};

/// Contexts remembered per thread, over every collector; the oldest gives way.
const REMEMBERED: usize = 8;

struct Verdict {
    /// A `Weak` keeps the collector's address from being reused by another one.
    collector: Weak<Inner>,
    context: SharedKey,
}

#[derive(Default)]
struct Remembered {
    verdicts: Vec<Verdict>,
    next: usize,
}

thread_local! {
    static CLEAN: RefCell<Remembered> = const {
        RefCell::new(Remembered {
            verdicts: Vec::new(),
            next: 0,
        })
    };
}

/// Whether `collector` found `context` clean before, on this thread.
#[inline]
pub(super) fn is_clean(collector: &Arc<Inner>, context: &Context) -> bool {
    if context.is_null() {
        return false;
    }
    let collector = Arc::as_ptr(collector);
    CLEAN
        .try_with(|clean| {
            clean.try_borrow().is_ok_and(|clean| {
                clean.verdicts.iter().any(|verdict| {
                    std::ptr::eq(verdict.collector.as_ptr(), collector)
                        && verdict.context.matches(context)
                })
            })
        })
        .unwrap_or(false)
}

/// Remembers that `collector` found the context behind `key` clean.
#[cold]
pub(super) fn remember(collector: &Arc<Inner>, key: SharedKey) {
    let verdict = Verdict {
        collector: Arc::downgrade(collector),
        context: key,
    };
    // What gives way is dropped after the borrow ends: dropping a `Weak` runs no user code,
    // but keeping the borrow short costs nothing.
    let replaced = CLEAN.try_with(|clean| {
        let mut clean = clean.try_borrow_mut().ok()?;
        if clean.verdicts.len() < REMEMBERED {
            clean.verdicts.push(verdict);
            return None;
        }
        let at = clean.next % REMEMBERED;
        clean.next = (at + 1) % REMEMBERED;
        Some(std::mem::replace(&mut clean.verdicts[at], verdict))
    });
    drop(replaced);
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ErrorCollector;

    #[test]
    fn a_collect_remembers_a_clean_shared_context_for_its_collector_alone() {
        let collector = ErrorCollector::new(100);
        let other = ErrorCollector::new(100);
        let clean = Arc::new(json!({"operation": "x"}));
        let dirty = Arc::new(json!({"token": "t"}));
        collector.collect(&std::fmt::Error, &clean);
        collector.collect(&std::fmt::Error, &dirty);
        assert!(is_clean(&collector.inner, &Context::from(&clean)));
        assert!(!is_clean(&other.inner, &Context::from(&clean)));
        assert!(!is_clean(&collector.inner, &Context::from(&dirty)));
        assert!(!is_clean(&collector.inner, &Context::null()));
    }

    #[test]
    fn a_context_alone_with_its_handle_is_not_remembered_and_the_oldest_gives_way() {
        let collector = ErrorCollector::new(100);
        collector.collect(&std::fmt::Error, json!({"owned": true}));
        let first = Arc::new(json!({"n": 0}));
        collector.collect(&std::fmt::Error, &first);
        assert!(is_clean(&collector.inner, &Context::from(&first)));
        let later: Vec<Arc<Value>> = (1..=REMEMBERED)
            .map(|n| Arc::new(json!({"n": n})))
            .collect();
        for context in &later {
            collector.collect(&std::fmt::Error, context);
        }
        assert!(!is_clean(&collector.inner, &Context::from(&first)));
        assert!(
            later
                .iter()
                .all(|c| is_clean(&collector.inner, &Context::from(c)))
        );
    }
}

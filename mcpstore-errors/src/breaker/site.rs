//! A call site's last breaker, kept per thread so that `#[circuit_breaker]` looks the service
//! up by name only when the service, the registry or the registry's breakers change.

use std::cell::RefCell;
use std::ops::Deref;
use std::rc::Rc;
use std::thread::LocalKey;

use super::{BreakerRegistry, CircuitBreaker};

/// The breaker one call site used last on this thread, and the registry epoch it is current
/// in. Registry epochs are unique across registries, so a match also names the registry.
#[derive(Debug)]
pub struct BreakerSite {
    last: RefCell<Option<Rc<Cached>>>,
}

#[derive(Debug)]
struct Cached {
    /// 0 for a breaker that must not be reused (registry epochs start at 1).
    epoch: u64,
    breaker: CircuitBreaker,
}

/// A breaker borrowed from a call site's cache for one call; not `Send`.
#[derive(Debug)]
pub struct SiteBreaker(Rc<Cached>);

impl Deref for SiteBreaker {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        &self.0.breaker
    }
}

impl Default for BreakerSite {
    fn default() -> Self {
        Self::new()
    }
}

impl BreakerSite {
    /// An empty cache.
    pub const fn new() -> Self {
        BreakerSite {
            last: RefCell::new(None),
        }
    }

    /// The breaker of `service` in `registry`: the one used last if it is still the
    /// registry's, else looked up (and kept for next time).
    #[inline]
    fn get(&self, registry: &BreakerRegistry, service: &str) -> Rc<Cached> {
        if let Ok(last) = self.last.try_borrow() {
            if let Some(cached) = &*last {
                if cached.epoch == registry.epoch() && same_name(cached.breaker.service(), service)
                {
                    registry.touch(&cached.breaker);
                    return Rc::clone(cached);
                }
            }
        }
        self.refill(registry, service)
    }

    #[cold]
    #[inline(never)]
    fn refill(&self, registry: &BreakerRegistry, service: &str) -> Rc<Cached> {
        let (breaker, epoch) = registry.breaker_and_epoch(service);
        let Some(epoch) = epoch else {
            return Rc::new(Cached { epoch: 0, breaker });
        };
        let fresh = Rc::new(Cached { epoch, breaker });
        // Not kept while a caller up the stack (a recursive call) holds the cache.
        if let Ok(mut last) = self.last.try_borrow_mut() {
            let old = last.replace(Rc::clone(&fresh));
            drop(last);
            // Dropped outside the borrow: a breaker's drop may run user code (its clock's).
            drop(old);
        }
        fresh
    }
}

#[inline]
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes() == b.as_bytes()
}

/// The breaker of `service` in `registry` for a call at the site `site`, borrowed for the call.
#[inline]
pub fn site_breaker(
    site: &'static LocalKey<BreakerSite>,
    registry: &BreakerRegistry,
    service: &str,
) -> SiteBreaker {
    match site.try_with(|site| site.get(registry, service)) {
        Ok(cached) => SiteBreaker(cached),
        // The thread is ending and the cache is gone.
        Err(_) => SiteBreaker(Rc::new(Cached {
            epoch: 0,
            breaker: registry.breaker(service),
        })),
    }
}

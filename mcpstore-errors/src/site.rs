//! A call site's last handle from a registry of named handles (breakers, retry budgets), kept
//! per thread, so that an attribute looks its service up by name only when the service, the
//! registry or the registry's handles changed.
//!
//! A registry has an epoch, drawn from one process-wide counter: it changes whenever a handle
//! the registry kept is forgotten or replaced, and no two registries ever share a value. A
//! cached handle is current while the epoch it was taken at is, and the name matches.

use std::cell::RefCell;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::LocalKey;

static EPOCHS: AtomicU64 = AtomicU64::new(1);

/// An epoch no registry has had (epochs start at 1; 0 marks an uncacheable handle).
pub(crate) fn fresh_epoch() -> u64 {
    EPOCHS.fetch_add(1, Ordering::Relaxed)
}

/// A registry of handles by service name, as a call site's cache sees it.
pub trait Registry {
    /// The handle it gives out (cheap to clone, shared state inside).
    type Handle: Clone;

    /// The current epoch.
    fn epoch(&self) -> u64;

    /// The handle of `service`, with the epoch it is current in; `None` for a handle the
    /// registry does not keep (not to be cached).
    fn handle_and_epoch(&self, service: &str) -> (Self::Handle, Option<u64>);

    /// The handle of `service`, without caching concerns.
    fn handle(&self, service: &str) -> Self::Handle {
        self.handle_and_epoch(service).0
    }

    /// Marks `handle` used now, for the registry's least-recently-used eviction.
    fn touch(&self, handle: &Self::Handle);
}

/// The handle one call site used last on this thread.
#[derive(Debug)]
pub struct Site<H> {
    last: RefCell<Option<Rc<Cached<H>>>>,
}

#[derive(Debug)]
struct Cached<H> {
    /// 0 for a handle that must not be reused.
    epoch: u64,
    service: Box<str>,
    handle: H,
}

/// A handle borrowed from a call site's cache for one call; not `Send`.
#[derive(Debug)]
pub struct SiteHandle<H>(Rc<Cached<H>>);

impl<H> Deref for SiteHandle<H> {
    type Target = H;

    #[inline]
    fn deref(&self) -> &H {
        &self.0.handle
    }
}

impl<H> Default for Site<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> Site<H> {
    /// An empty cache.
    pub const fn new() -> Self {
        Site {
            last: RefCell::new(None),
        }
    }

    /// The handle of `service` in `registry`: the one used last if it is still the
    /// registry's, else looked up (and kept for next time).
    #[inline]
    fn get<R: Registry<Handle = H>>(&self, registry: &R, service: &str) -> Rc<Cached<H>> {
        if let Ok(last) = self.last.try_borrow() {
            if let Some(cached) = &*last {
                if cached.epoch == registry.epoch() && same_name(&cached.service, service) {
                    registry.touch(&cached.handle);
                    return Rc::clone(cached);
                }
            }
        }
        self.refill(registry, service)
    }

    #[cold]
    #[inline(never)]
    fn refill<R: Registry<Handle = H>>(&self, registry: &R, service: &str) -> Rc<Cached<H>> {
        let (handle, epoch) = registry.handle_and_epoch(service);
        let Some(epoch) = epoch else {
            return Rc::new(Cached {
                epoch: 0,
                service: Box::default(),
                handle,
            });
        };
        let fresh = Rc::new(Cached {
            epoch,
            service: service.into(),
            handle,
        });
        // Not kept while a caller up the stack (a recursive call) holds the cache.
        if let Ok(mut last) = self.last.try_borrow_mut() {
            let old = last.replace(Rc::clone(&fresh));
            drop(last);
            // Dropped outside the borrow: a handle's drop may run user code (its clock's).
            drop(old);
        }
        fresh
    }
}

#[inline]
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes() == b.as_bytes()
}

/// The handle of `service` in `registry` for a call at the site `site`, borrowed for the call.
#[inline]
pub fn site_handle<R: Registry>(
    site: &'static LocalKey<Site<R::Handle>>,
    registry: &R,
    service: &str,
) -> SiteHandle<R::Handle> {
    match site.try_with(|site| site.get(registry, service)) {
        Ok(cached) => SiteHandle(cached),
        // The thread is ending and the cache is gone.
        Err(_) => SiteHandle(Rc::new(Cached {
            epoch: 0,
            service: Box::default(),
            handle: registry.handle(service),
        })),
    }
}

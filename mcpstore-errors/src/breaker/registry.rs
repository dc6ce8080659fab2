//! One circuit breaker per service name, made on first use, in a bounded table.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{CircuitBreaker, CircuitBreakerConfig, ClockReadings, TARGET};
use crate::{Clock, McpStoreError};

/// How many services a [`BreakerRegistry`] tracks unless told otherwise.
pub const DEFAULT_MAX_SERVICES: usize = 1024;

/// Circuit breakers keyed by service name: [`breaker`](Self::breaker) makes one on first use,
/// with the service's own configuration if one was [`configure`](Self::configure)d, else the
/// default, whose transition listeners ([`CircuitBreakerConfig::on_transition`]) every
/// breaker made with it calls.
///
/// The table is bounded, since service names may come from outside. When it holds
/// `max_services` breakers and a new name arrives, one is forgotten: the least recently
/// used closed breaker with no failure or slow call in its window, else the least recently
/// used closed one (its window is lost), else the least recently used idle open breaker: one
/// whose open period is over and whose service no one has called since (it reports itself
/// half-open, as the next call would be its probe), or a half-open one whose probes were all
/// given back unreported (a cancelled call); its trips are forgotten. A breaker open for its
/// period, probing (a probe out), forced open or disabled is never forgotten, nor one a call
/// is reporting to at that moment (it may be tripping). A trip is never lost to make room.
/// When none can be forgotten, the new service gets a disabled breaker that is not kept (calls
/// go through uncounted), a `tracing` warning is emitted (on the 1st, 2nd, 4th.. overflow),
/// and [`overflows`](Self::overflows) counts it; its next call asks again.
///
/// ```
/// use mcpstore_errors::{BreakerRegistry, CircuitBreakerConfig, SlidingWindow};
///
/// let registry = BreakerRegistry::new(CircuitBreakerConfig::new());
/// registry.configure("slow-search", CircuitBreakerConfig::new().window(SlidingWindow::Count(10)))?;
/// let fs = registry.breaker("fs");
/// assert_eq!(fs.service(), "fs");
/// assert_eq!(registry.len(), 1);
/// assert_eq!(registry.breaker("slow-search").config().sliding_window(), SlidingWindow::Count(10));
/// # Ok::<(), mcpstore_errors::McpStoreError>(())
/// ```
pub struct BreakerRegistry {
    table: RwLock<Table>,
    tick: AtomicU64,
    /// Changed (under the write lock) whenever a kept breaker is forgotten or replaced; drawn
    /// from one process-wide counter, so no two registries, nor two states of one, ever share a value. A
    /// call site's cached breaker is current while the epoch it was taken at is.
    epoch: AtomicU64,
    max_services: usize,
    overflows: AtomicU64,
    /// The state gauge writes the table's changes owe, queued under the table's lock (so in
    /// the order of the changes) and made after it is released by whichever thread drains:
    /// the application's recorder, which they call, may read or change the registry.
    gauges: Mutex<VecDeque<GaugeChange>>,
    /// A thread is draining `gauges`; another, or the recorder calling back, only queues.
    draining: AtomicBool,
    /// A breaker was made for a blank service name, and the warning given.
    warned_blank: AtomicBool,
}

/// A state gauge write a change of the table owes.
enum GaugeChange {
    /// A breaker the table now holds shows its state.
    Show(CircuitBreaker),
    /// A breaker it replaced (`clear: false`) or forgot no longer writes the gauge.
    Retire {
        breaker: CircuitBreaker,
        clear: bool,
    },
}

struct Table {
    default: CircuitBreakerConfig,
    configs: HashMap<Arc<str>, CircuitBreakerConfig>,
    breakers: HashMap<Arc<str>, CircuitBreaker>,
}

use crate::site::fresh_epoch;

impl fmt::Debug for BreakerRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerRegistry")
            .field("services", &self.len())
            .field("max_services", &self.max_services)
            .finish_non_exhaustive()
    }
}

impl Default for BreakerRegistry {
    fn default() -> Self {
        Self::new(CircuitBreakerConfig::default())
    }
}

impl BreakerRegistry {
    /// An empty registry whose breakers use `default` unless configured otherwise, holding
    /// at most [`DEFAULT_MAX_SERVICES`].
    pub fn new(default: CircuitBreakerConfig) -> Self {
        BreakerRegistry {
            table: RwLock::new(Table {
                default,
                configs: HashMap::new(),
                breakers: HashMap::new(),
            }),
            tick: AtomicU64::new(0),
            epoch: AtomicU64::new(fresh_epoch()),
            max_services: DEFAULT_MAX_SERVICES,
            overflows: AtomicU64::new(0),
            gauges: Mutex::new(VecDeque::new()),
            draining: AtomicBool::new(false),
            warned_blank: AtomicBool::new(false),
        }
    }

    /// Holds at most `max` breakers and `max` per-service configurations (at least 1).
    pub fn max_services(mut self, max: usize) -> Self {
        self.max_services = max.max(1);
        self
    }

    fn read(&self) -> RwLockReadGuard<'_, Table> {
        // The table is updated by single inserts and removes: valid whatever panicked.
        self.table
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.table
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn queued_gauges(&self) -> std::sync::MutexGuard<'_, VecDeque<GaugeChange>> {
        self.gauges.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the gauge writes `table`'s change owes, releases it, then drains the queue
    /// unless another thread (or this one, further up, when the recorder calls back) is.
    fn release_then_show(
        &self,
        table: RwLockWriteGuard<'_, Table>,
        changes: impl IntoIterator<Item = GaugeChange>,
    ) {
        self.queued_gauges().extend(changes);
        drop(table);
        // A change queued after the drainer found the queue empty, but before it stopped,
        // is drained by the thread that queued it: hence the second look.
        while !self.queued_gauges().is_empty()
            && self
                .draining
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            // Stops draining however this ends: a recorder that panics must not leave the
            // queue to grow with no one to drain it.
            struct Drained<'a>(&'a AtomicBool);
            impl Drop for Drained<'_> {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::Release);
                }
            }
            let _drained = Drained(&self.draining);
            // Each write outside the queue's lock: the recorder may queue more.
            loop {
                let next = self.queued_gauges().pop_front();
                let Some(change) = next else { break };
                match change {
                    GaugeChange::Show(breaker) => breaker.inner.report_state(),
                    GaugeChange::Retire { breaker, clear } => {
                        breaker.inner.gauge.retire(breaker.service(), clear)
                    }
                }
            }
        }
    }

    /// The breaker of `service`, made on first use.
    ///
    /// A blank name (empty or all whitespace) is accepted, as a name of its own (`""` and
    /// `" "` are two services), with one `tracing` warning per registry: it is most likely a
    /// placeholder, or a name that came from outside empty, and every call with it shares
    /// one breaker. `#[circuit_breaker]` refuses a blank literal at compile time; a blank
    /// `service = <expr>` comes here. [`configure`](Self::configure) refuses a blank name.
    pub fn breaker(&self, service: &str) -> CircuitBreaker {
        if let Some(breaker) = self.lookup(&self.read(), service) {
            return breaker;
        }
        self.insert(service).0
    }

    fn lookup(&self, table: &Table, service: &str) -> Option<CircuitBreaker> {
        let breaker = table.breakers.get(service)?;
        self.touch(breaker);
        Some(breaker.clone())
    }

    /// Marks a kept breaker used now, for the least-recently-used eviction.
    #[inline]
    pub(super) fn touch(&self, breaker: &CircuitBreaker) {
        // The tick moves by two per insertion, which takes the odd value between: a use ranks
        // above every entry inserted before it, below every one inserted after, and writes
        // only once per insertion. Uses between two insertions rank alike.
        let tick = self.tick.load(Ordering::Relaxed);
        let last_used = &breaker.inner.last_used;
        if last_used.load(Ordering::Relaxed) != tick {
            last_used.store(tick, Ordering::Relaxed);
        }
    }

    /// The current epoch: equal to an earlier reading only while no breaker this registry
    /// handed out since has been forgotten or replaced.
    #[inline]
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Called under the write lock after a kept breaker is forgotten or replaced.
    fn invalidate(&self) {
        self.epoch.store(fresh_epoch(), Ordering::Release);
    }

    /// [`breaker`](Self::breaker), with the epoch it is current in; `None` for an unkept,
    /// disabled breaker, which must not be cached.
    pub(super) fn breaker_and_epoch(&self, service: &str) -> (CircuitBreaker, Option<u64>) {
        {
            // Read under the lock: no writer can forget the breaker between the two.
            let table = self.read();
            if let Some(breaker) = self.lookup(&table, service) {
                return (breaker, Some(self.epoch()));
            }
        }
        self.insert(service)
    }

    #[cold]
    fn insert(&self, service: &str) -> (CircuitBreaker, Option<u64>) {
        // Before any lock: the subscriber is the application's code. Once per registry, since
        // a blank name from outside may come with every call.
        if is_blank(service) && !self.warned_blank.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: TARGET,
                service,
                "circuit breaker made for a blank service name; every call with a blank name shares it"
            );
        }
        // Every clock the insertion may read (the new breaker's, and when the table is full
        // those of the breakers an eviction judges) is read before the write lock, so that no
        // user code runs under it: a clock that calls back into this registry would wait for
        // itself. A clock configured in between sends the loop round again. Declared before
        // the guard, so dropped after it: it holds the clocks read.
        let mut readings = ClockReadings::default();
        let mut unread = self.clocks_to_read(&self.read(), service, &readings);
        let mut table = loop {
            for clock in &unread {
                readings.of(clock);
            }
            let table = self.write();
            unread = self.clocks_to_read(&table, service, &readings);
            if unread.is_empty() {
                break table;
            }
        };
        if let Some(breaker) = self.lookup(&table, service) {
            return (breaker, Some(self.epoch()));
        }
        let evicted = if table.breakers.len() >= self.max_services {
            self.evict_one(&mut table, &mut readings)
        } else {
            None
        };
        if table.breakers.len() >= self.max_services {
            let config = table.configs.get(service).unwrap_or(&table.default).clone();
            drop(table);
            let overflows = self.overflows.fetch_add(1, Ordering::Relaxed) + 1;
            // Said on the 1st, 2nd, 4th, 8th.. overflow: a full registry under load would
            // otherwise log every call.
            if overflows.is_power_of_two() {
                tracing::warn!(
                    target: TARGET,
                    service,
                    max_services = self.max_services,
                    overflows,
                    "circuit breaker registry full of breakers it may not forget (open, probing or busy); calls to this service are not guarded"
                );
            }
            return (CircuitBreaker::unkept(service, config), None);
        }
        let config = table.configs.get(service).unwrap_or(&table.default).clone();
        let name: Arc<str> = Arc::from(service);
        let now = readings.of(&config.clock);
        let breaker = CircuitBreaker::new_at(name.clone(), config, now);
        let tick = self.tick.fetch_add(2, Ordering::Relaxed) + 1;
        breaker.inner.last_used.store(tick, Ordering::Relaxed);
        table.breakers.insert(name, breaker.clone());
        let epoch = self.epoch();
        let evicted = evicted.map(|breaker| GaugeChange::Retire {
            breaker,
            clear: true,
        });
        self.release_then_show(
            table,
            evicted
                .into_iter()
                .chain([GaugeChange::Show(breaker.clone())]),
        );
        (breaker, Some(epoch))
    }

    /// Gives `service` its own configuration. A breaker it already has is replaced by a new,
    /// closed one (handles taken earlier keep the old breaker). Its transitions go to
    /// `config`'s listeners ([`CircuitBreakerConfig::on_transition`]) only, not to the
    /// default's: make `config` from the default (`default.clone().window(..)`) to keep them.
    /// An `Err` when `service` is
    /// blank (empty or all whitespace), or when `max_services` services are configured
    /// already and `service` is not one of them.
    pub fn configure(
        &self,
        service: &str,
        config: CircuitBreakerConfig,
    ) -> Result<(), McpStoreError> {
        if is_blank(service) {
            return Err(McpStoreError::configuration(format!(
                "cannot configure a circuit breaker for the blank service name {service:?}: name the service it guards"
            )));
        }
        // Made before the lock (it reads its clock), and used if a breaker is to be replaced.
        let name: Arc<str> = Arc::from(service);
        let fresh = CircuitBreaker::new(name.clone(), config.clone());
        let mut table = self.write();
        if table.configs.len() >= self.max_services && !table.configs.contains_key(service) {
            return Err(McpStoreError::configuration(format!(
                "cannot configure a circuit breaker for '{service}': {} services are configured already",
                self.max_services
            )));
        }
        let mut changes = None;
        if let Some(kept) = table.breakers.get_mut(service) {
            let breaker = fresh;
            let last_used = kept.inner.last_used.load(Ordering::Relaxed);
            breaker.inner.last_used.store(last_used, Ordering::Relaxed);
            let replaced = std::mem::replace(kept, breaker.clone());
            changes = Some([
                GaugeChange::Retire {
                    breaker: replaced,
                    clear: false,
                },
                GaugeChange::Show(breaker),
            ]);
            self.invalidate();
        }
        let replaced = table.configs.insert(name, config);
        self.release_then_show(table, changes.into_iter().flatten());
        // After the lock: the last handle to a user's clock may go with it, and its drop may
        // call into this registry.
        drop(replaced);
        Ok(())
    }

    /// Sets the configuration of services not configured on their own, for breakers made
    /// from now on.
    pub fn set_default(&self, config: CircuitBreakerConfig) {
        let replaced = std::mem::replace(&mut self.write().default, config);
        // Dropped after the lock, as in `configure`.
        drop(replaced);
    }

    /// The breaker of `service` if it has one, without making it.
    pub fn get(&self, service: &str) -> Option<CircuitBreaker> {
        self.lookup(&self.read(), service)
    }

    /// Forgets the breaker of `service` (its configuration stays); whether there was one.
    pub fn remove(&self, service: &str) -> bool {
        let mut table = self.write();
        let Some(breaker) = table.breakers.remove(service) else {
            return false;
        };
        self.invalidate();
        self.release_then_show(
            table,
            [GaugeChange::Retire {
                breaker,
                clear: true,
            }],
        );
        true
    }

    /// The services that have a breaker, in no particular order.
    pub fn services(&self) -> Vec<String> {
        self.read()
            .breakers
            .keys()
            .map(|name| name.to_string())
            .collect()
    }

    /// How many breakers the registry holds.
    pub fn len(&self) -> usize {
        self.read().breakers.len()
    }

    /// Whether the registry holds no breaker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The clocks not in `readings` that inserting `service` into `table` may read: its
    /// configuration's, and every kept breaker's when the table is full; none when `service`
    /// has a breaker already.
    fn clocks_to_read(
        &self,
        table: &Table,
        service: &str,
        readings: &ClockReadings,
    ) -> Vec<Arc<dyn Clock>> {
        if table.breakers.contains_key(service) {
            return Vec::new();
        }
        let mut clocks = vec![&table.configs.get(service).unwrap_or(&table.default).clock];
        if table.breakers.len() >= self.max_services {
            clocks.extend(table.breakers.values().map(|kept| &kept.inner.config.clock));
        }
        let mut unread: Vec<Arc<dyn Clock>> = Vec::new();
        for clock in clocks {
            let listed = unread.iter().any(|other| ClockReadings::same(other, clock));
            if !readings.has(clock) && !listed {
                unread.push(clock.clone());
            }
        }
        unread
    }

    /// Forgets one breaker, in this order: the least recently used closed breaker with no
    /// failure in its window, the least recently used closed one, the least recently used
    /// idle open one (open past its period, or half-open with no probe out); the one
    /// forgotten. A breaker whose lock is busy (a call reporting to it, maybe tripping it) is
    /// passed over, and the one chosen is checked again and removed under its lock: a trip
    /// in progress is never forgotten. The common case (the least recently used closed
    /// breaker is quiet) takes one lock twice; the others try every breaker's, without
    /// waiting.
    fn evict_one(&self, table: &mut Table, readings: &mut ClockReadings) -> Option<CircuitBreaker> {
        let last_used = |breaker: &CircuitBreaker| breaker.inner.last_used.load(Ordering::Relaxed);
        let least_recent = |keep: &dyn Fn(&CircuitBreaker) -> bool| {
            table
                .breakers
                .iter()
                .filter(|(_, breaker)| keep(breaker))
                .min_by_key(|(_, breaker)| last_used(breaker))
                .map(|(name, breaker)| (name.clone(), breaker.clone()))
        };
        let now = std::cell::RefCell::new(&mut *readings);
        let quiet = |breaker: &CircuitBreaker| breaker.is_quiet(&mut now.borrow_mut());
        let free =
            |breaker: &CircuitBreaker| breaker.lock_if_forgettable(&mut now.borrow_mut()).is_some();
        let chosen = match least_recent(&|breaker| breaker.is_closed()) {
            Some(oldest) if quiet(&oldest.1) => Some(oldest),
            _ => least_recent(&|breaker| breaker.is_closed() && quiet(breaker))
                .or_else(|| least_recent(&|breaker| breaker.is_closed() && free(breaker)))
                .or_else(|| least_recent(&|breaker| breaker.is_idle_open(&mut now.borrow_mut()))),
        };
        let (name, breaker) = chosen?;
        // Its state may have changed since it was looked at: held from the check to the
        // removal. Changed (a rare race), none is forgotten this time.
        let core = breaker.lock_if_forgettable(readings)?;
        table.breakers.remove(&name);
        drop(core);
        self.invalidate();
        Some(breaker)
    }

    /// How many times a service got an unkept, disabled breaker because the table was full
    /// of breakers that could not be forgotten.
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }
}

/// Empty or all whitespace.
fn is_blank(service: &str) -> bool {
    service.trim().is_empty()
}

static GLOBAL: LazyLock<BreakerRegistry> = LazyLock::new(BreakerRegistry::default);

/// The process-wide [`BreakerRegistry`], used by `#[circuit_breaker]`: default
/// configuration, at most [`DEFAULT_MAX_SERVICES`] services.
pub fn breakers() -> &'static BreakerRegistry {
    &GLOBAL
}

impl crate::site::Registry for BreakerRegistry {
    type Handle = CircuitBreaker;

    #[inline]
    fn epoch(&self) -> u64 {
        BreakerRegistry::epoch(self)
    }

    fn handle_and_epoch(&self, service: &str) -> (CircuitBreaker, Option<u64>) {
        self.breaker_and_epoch(service)
    }

    fn handle(&self, service: &str) -> CircuitBreaker {
        self.breaker(service)
    }

    #[inline]
    fn touch(&self, breaker: &CircuitBreaker) {
        BreakerRegistry::touch(self, breaker)
    }
}

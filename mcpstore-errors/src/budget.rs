//! Retry budgets: retries as a bounded share of the calls that succeed, per service.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::{Clock, ErrorKind, SystemClock};

const TARGET: &str = "mcpstore_errors::budget";
/// Tokens per retry: shares are kept in millionths, so 0.6 is exactly 60 %.
const SCALE: u64 = 1_000_000;

/// Marks a withdrawal the per-second floor paid, in the one word a retry keeps it in (a cost
/// is far below this bit).
const PAID_BY_FLOOR: u64 = 1 << 63;

/// How a [`RetryBudget`] earns and spends.
///
/// | setting | default |
/// |---|---|
/// | [`share`](Self::share) | 0.2: each success earns a fifth of a retry |
/// | [`capacity`](Self::capacity) | 100 retries saved at most |
/// | [`initial`](Self::initial) | 0 retries saved at first |
/// | [`timeout_cost`](Self::timeout_cost) | 2: retrying a timeout costs two retries |
/// | [`min_retries_per_second`](Self::min_retries_per_second) | 10, a floor that needs no successes |
///
/// The shape is Finagle's (a share of recent calls plus a small floor per second) on a token
/// bucket like the AWS SDKs' (a timeout costs more than another failure; at most `capacity`
/// saved, so the share is of *recent* successes).
#[derive(Debug, Clone)]
pub struct RetryBudgetConfig {
    share: f64,
    capacity: u32,
    initial: u32,
    timeout_cost: u32,
    floor_per_second: u32,
    clock: Arc<dyn Clock>,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        RetryBudgetConfig {
            share: 0.2,
            capacity: 100,
            initial: 0,
            timeout_cost: 2,
            floor_per_second: 10,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RetryBudgetConfig {
    /// The defaults (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// Retries earned per successful call: 0.6 allows 6 retries per 10 successes. Between 0
    /// and 100; NaN keeps the current value.
    pub fn share(mut self, retries_per_success: f64) -> Self {
        if !retries_per_success.is_nan() {
            self.share = retries_per_success.clamp(0.0, 100.0);
        }
        self
    }

    /// The most retries the budget saves up.
    pub fn capacity(mut self, retries: u32) -> Self {
        self.capacity = retries;
        self
    }

    /// The retries saved when the budget is made (at most the capacity).
    pub fn initial(mut self, retries: u32) -> Self {
        self.initial = retries;
        self
    }

    /// How many retries retrying a [`ErrorKind::ServiceTimeout`] costs (at least 1): a
    /// timed-out call may still be running on the service. An attempt the retry's own
    /// attempt timeout (or a `#[timeout]` under `#[retry]`) cut off counts as one when its
    /// error type gives that error no kind; a kind the type does give is kept.
    pub fn timeout_cost(mut self, retries: u32) -> Self {
        self.timeout_cost = retries.max(1);
        self
    }

    /// Retries allowed each second even without successes (0 for none); up to one second's
    /// worth is saved, or a timed-out retry's [`timeout_cost`](Self::timeout_cost) when that
    /// is more, so that a floor below it still pays for one now and then.
    pub fn min_retries_per_second(mut self, retries: u32) -> Self {
        self.floor_per_second = retries;
        self
    }

    /// The clock that refills the floor.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// A retry budget: successes earn retries, each retry spends one, and a retry the budget
/// cannot pay for is denied, so a failing service is not hit by a storm of retries.
///
/// Call [`deposit`](Self::deposit) after each successful call and
/// [`try_withdraw`](Self::try_withdraw) before each retry. Cloning is cheap (a reference
/// count); clones share the budget. [`retry_budgets()`] keeps one per service.
///
/// ```
/// use mcpstore_errors::{ErrorKind, RetryBudget, RetryBudgetConfig};
///
/// let budget = RetryBudget::new(RetryBudgetConfig::new().share(0.5).min_retries_per_second(0));
/// for _ in 0..4 {
///     budget.deposit();
/// }
/// assert!(budget.try_withdraw(Some(ErrorKind::Connection)));
/// assert!(!budget.try_withdraw(Some(ErrorKind::ServiceTimeout)), "a timeout costs 2, 1 is left");
/// assert!(budget.try_withdraw(None));
/// assert!(!budget.try_withdraw(None));
/// assert_eq!(budget.denied(), 2);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Inner>,
}

struct Inner {
    /// Saved retries, in millionths.
    balance: AtomicU64,
    capacity: u64,
    refund: u64,
    timeout_cost: u64,
    floor: Mutex<Floor>,
    floor_per_second: u64,
    clock: Arc<dyn Clock>,
    withdrawn: AtomicU64,
    denied: AtomicU64,
    /// When a [`RetryBudgets`] table last handed it out, for its least-recently-used eviction.
    last_used: AtomicU64,
}

struct Floor {
    tokens: u64,
    refilled: Instant,
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("balance", &self.balance())
            .field("withdrawn", &self.withdrawn())
            .field("denied", &self.denied())
            .finish_non_exhaustive()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(RetryBudgetConfig::default())
    }
}

impl RetryBudget {
    /// A budget with `config`.
    pub fn new(config: RetryBudgetConfig) -> Self {
        let now = config.clock.now();
        Self::new_at(config, now)
    }

    /// [`new`](Self::new) with the floor last refilled at `now`, so that a caller holding a
    /// lock can read the clock before taking it.
    fn new_at(config: RetryBudgetConfig, now: Instant) -> Self {
        let capacity = u64::from(config.capacity) * SCALE;
        let floor_per_second = u64::from(config.floor_per_second) * SCALE;
        RetryBudget {
            inner: Arc::new(Inner {
                balance: AtomicU64::new((u64::from(config.initial) * SCALE).min(capacity)),
                capacity,
                refund: (config.share * SCALE as f64).round() as u64,
                timeout_cost: u64::from(config.timeout_cost) * SCALE,
                floor: Mutex::new(Floor {
                    tokens: floor_per_second,
                    refilled: now,
                }),
                floor_per_second,
                clock: config.clock,
                withdrawn: AtomicU64::new(0),
                denied: AtomicU64::new(0),
                last_used: AtomicU64::new(0),
            }),
        }
    }

    /// Records a successful call, which earns its share of a retry. Once the budget is full
    /// this is one atomic load.
    #[inline]
    pub fn deposit(&self) {
        let inner = &*self.inner;
        if inner.balance.load(Ordering::Relaxed) >= inner.capacity {
            return;
        }
        let _ = inner
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |balance| {
                Some(balance.saturating_add(inner.refund).min(inner.capacity))
            });
    }

    /// Pays for one retry of an error of `kind`; `false` when the budget cannot, and the
    /// retry should not be made.
    pub fn try_withdraw(&self, kind: Option<ErrorKind>) -> bool {
        self.withdraw(kind).is_some()
    }

    /// [`try_withdraw`](Self::try_withdraw), returning what was paid (in millionths, with
    /// [`PAID_BY_FLOOR`] set when the floor paid it), for [`refund`](Self::refund).
    pub(crate) fn withdraw(&self, kind: Option<ErrorKind>) -> Option<u64> {
        let inner = &*self.inner;
        let cost = match kind {
            Some(kind) if kind.is_a(ErrorKind::ServiceTimeout) => inner.timeout_cost,
            _ => SCALE,
        };
        let paid = if inner
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |balance| {
                balance.checked_sub(cost)
            })
            .is_ok()
        {
            Some(cost)
        } else if inner.withdraw_from_floor(cost) {
            Some(cost | PAID_BY_FLOOR)
        } else {
            None
        };
        if paid.is_some() {
            inner.withdrawn.fetch_add(1, Ordering::Relaxed);
        } else {
            inner.denied.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: TARGET, ?kind, "retry denied by the retry budget");
        }
        paid
    }

    /// Gives back what [`withdraw`](Self::withdraw) took for a retry that was never made,
    /// where it was taken from: a floor token put into the balance would turn each
    /// cancelled retry into a saved one, and fill the budget with no success.
    pub(crate) fn refund(&self, paid: u64) {
        let inner = &*self.inner;
        let cost = paid & !PAID_BY_FLOOR;
        if paid & PAID_BY_FLOOR != 0 {
            let mut floor = inner.floor.lock().unwrap_or_else(|p| p.into_inner());
            floor.tokens = floor.tokens.saturating_add(cost).min(inner.floor_cap());
        } else {
            let _ = inner
                .balance
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |balance| {
                    Some(balance.saturating_add(cost).min(inner.capacity))
                });
        }
        inner.withdrawn.fetch_sub(1, Ordering::Relaxed);
    }

    /// The retries saved (the floor not included).
    pub fn balance(&self) -> f64 {
        self.inner.balance.load(Ordering::Relaxed) as f64 / SCALE as f64
    }

    /// Retries paid for so far.
    pub fn withdrawn(&self) -> u64 {
        self.inner.withdrawn.load(Ordering::Relaxed)
    }

    /// Retries denied so far.
    pub fn denied(&self) -> u64 {
        self.inner.denied.load(Ordering::Relaxed)
    }
}

impl Inner {
    /// One second's worth is saved, or the price of a timed-out retry when that is more: a
    /// floor below it could otherwise never pay for one.
    fn floor_cap(&self) -> u64 {
        self.floor_per_second.max(self.timeout_cost)
    }

    #[cold]
    fn withdraw_from_floor(&self, cost: u64) -> bool {
        if self.floor_per_second == 0 {
            return false;
        }
        // Read before the lock: a user's clock that calls back into this budget does not wait
        // for itself. A reading older than the last refill earns nothing.
        let now = self.clock.now();
        let mut floor = self.floor.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(floor.refilled);
        // Whole nanoseconds' worth only, so the remainder is not lost between calls.
        let earned = elapsed.as_nanos() * u128::from(self.floor_per_second) / 1_000_000_000;
        let cap = self.floor_cap();
        if earned > 0 {
            let earned = u64::try_from(earned).unwrap_or(u64::MAX);
            floor.tokens = floor.tokens.saturating_add(earned).min(cap);
            floor.refilled = if floor.tokens == cap {
                now
            } else {
                floor.refilled + nanos_for(earned, self.floor_per_second)
            };
        }
        match floor.tokens.checked_sub(cost) {
            Some(left) => {
                floor.tokens = left;
                true
            }
            None => false,
        }
    }
}

/// The time that earns `tokens` at `per_second`, rounded down.
fn nanos_for(tokens: u64, per_second: u64) -> Duration {
    let nanos = u128::from(tokens) * 1_000_000_000 / u128::from(per_second);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// How many services a [`RetryBudgets`] tracks unless told otherwise.
pub const DEFAULT_MAX_BUDGETS: usize = 1024;

/// One [`RetryBudget`] per service name, made on first use.
///
/// Bounded, since names may come from outside: at `max_services`, the least recently used
/// budget is forgotten (its service starts again from [`RetryBudgetConfig::initial`]).
///
/// ```
/// use mcpstore_errors::{RetryBudgetConfig, RetryBudgets};
///
/// let budgets = RetryBudgets::new(RetryBudgetConfig::new());
/// budgets.budget("fs").deposit();
/// assert_eq!(budgets.budget("fs").balance(), 0.2);
/// assert_eq!(budgets.budget("web").balance(), 0.0);
/// ```
pub struct RetryBudgets {
    config: RetryBudgetConfig,
    table: RwLock<HashMap<Arc<str>, RetryBudget>>,
    tick: AtomicU64,
    /// Changed (under the write lock) whenever a budget is forgotten, so that a call site's
    /// cached budget (`#[retry(budget = "fs")]`) is current while the epoch it was taken at is.
    epoch: AtomicU64,
    max_services: usize,
}

impl fmt::Debug for RetryBudgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudgets")
            .field("services", &self.len())
            .field("max_services", &self.max_services)
            .finish_non_exhaustive()
    }
}

impl RetryBudgets {
    /// An empty table whose budgets use `config`, holding at most [`DEFAULT_MAX_BUDGETS`].
    pub fn new(config: RetryBudgetConfig) -> Self {
        RetryBudgets {
            config,
            table: RwLock::new(HashMap::new()),
            tick: AtomicU64::new(0),
            epoch: AtomicU64::new(crate::site::fresh_epoch()),
            max_services: DEFAULT_MAX_BUDGETS,
        }
    }

    /// Holds at most `max` budgets (at least 1).
    pub fn max_services(mut self, max: usize) -> Self {
        self.max_services = max.max(1);
        self
    }

    /// The budget of `service`, made on first use.
    pub fn budget(&self, service: &str) -> RetryBudget {
        self.budget_and_epoch(service).0
    }

    /// [`budget`](Self::budget), with the epoch it is current in.
    fn budget_and_epoch(&self, service: &str) -> (RetryBudget, u64) {
        {
            // Read under the lock: no writer can forget the budget between the two.
            let table = self.table.read().unwrap_or_else(|p| p.into_inner());
            if let Some(budget) = table.get(service) {
                self.touch(budget);
                return (budget.clone(), self.epoch.load(Ordering::Acquire));
            }
        }
        // Read before the write lock: a user's clock may call into this table.
        let now = self.config.clock.now();
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        if let Some(budget) = table.get(service) {
            self.touch(budget);
            return (budget.clone(), self.epoch.load(Ordering::Acquire));
        }
        let tick = self.tick.fetch_add(2, Ordering::Relaxed) + 1;
        if table.len() >= self.max_services {
            let oldest = table
                .iter()
                .min_by_key(|(_, budget)| budget.inner.last_used.load(Ordering::Relaxed))
                .map(|(name, _)| name.clone());
            if let Some(name) = oldest {
                table.remove(&name);
                self.epoch
                    .store(crate::site::fresh_epoch(), Ordering::Release);
            }
        }
        let budget = RetryBudget::new_at(self.config.clone(), now);
        budget.inner.last_used.store(tick, Ordering::Relaxed);
        table.insert(Arc::from(service), budget.clone());
        (budget, self.epoch.load(Ordering::Acquire))
    }

    /// Marks a budget used now. The tick moves only when a budget is inserted, by two (the
    /// insertion takes the odd value between), so a use ranks above every budget inserted
    /// before it and below every one inserted after, and a lookup writes nothing shared but
    /// once per insertion (it runs on every call of a
    /// `#[retry(budget = ..)]` function).
    fn touch(&self, budget: &RetryBudget) {
        let used = &budget.inner.last_used;
        let tick = self.tick.load(Ordering::Relaxed);
        if used.load(Ordering::Relaxed) != tick {
            used.store(tick, Ordering::Relaxed);
        }
    }

    /// How many budgets the table holds.
    pub fn len(&self) -> usize {
        self.table.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether the table holds no budget.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl crate::site::Registry for RetryBudgets {
    type Handle = RetryBudget;

    #[inline]
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn handle_and_epoch(&self, service: &str) -> (RetryBudget, Option<u64>) {
        let (budget, epoch) = self.budget_and_epoch(service);
        (budget, Some(epoch))
    }

    #[inline]
    fn touch(&self, budget: &RetryBudget) {
        RetryBudgets::touch(self, budget)
    }
}

static GLOBAL: LazyLock<RetryBudgets> =
    LazyLock::new(|| RetryBudgets::new(RetryBudgetConfig::default()));

/// The process-wide [`RetryBudgets`], with the default configuration.
pub fn retry_budgets() -> &'static RetryBudgets {
    &GLOBAL
}

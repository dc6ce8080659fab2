//! [`FallbackChain`]: the primary operation, then each strategy in the order added.

use std::borrow::Borrow;
use std::fmt::{self, Display};
use std::future::Future;
use std::hash::Hash;
use std::panic::Location;
use std::pin::Pin;

use super::cache::ResponseCache;
use super::runner::FallbackRun;
use super::strategy::{FallbackStrategy, Served, ServedBy};
use crate::BoxError;

type StrategyFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;
type AlternativeFn<A, T> = Box<dyn Fn(&A) -> Result<T, BoxError> + Send + Sync>;
type AsyncAlternativeFn<A, T> = Box<dyn Fn(&A) -> StrategyFuture<T> + Send + Sync>;

/// Runs an operation and, when it fails, tries fallback strategies in the order they were added:
/// the seed's `FallbackManager`. The first strategy that produces a value serves the call; when
/// all fail, the operation's ORIGINAL error is returned, untouched.
///
/// - [`cache`](Self::cache): the last success for the same arguments, while younger than the TTL.
///   Every success of the operation refreshes it.
/// - [`default_value`](Self::default_value), [`default_with`](Self::default_with),
///   [`or_default`](Self::or_default): a fixed value.
/// - [`alternative`](Self::alternative), [`alternative_async`](Self::alternative_async): another
///   function or service, called with the same arguments.
/// - [`strategy`](Self::strategy), [`recover`](Self::recover): your own, also given the error.
///
/// `A` is the arguments' type (`str`, a tuple, a struct...), `T` the value, `E` the error.
/// Each step that serves or fails emits a `tracing` event on target `mcpstore_errors::fallback`;
/// [`execute_outcome`](Self::execute_outcome) also tells the caller who served.
///
/// A succeeding call costs nothing beyond the cache's store of the value (none without a cache).
///
/// The seed's example, a tool list behind a ten-minute cache, then an empty list:
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{FallbackChain, McpStoreError, ResponseCache, ServedBy};
///
/// fn get_service_tools(service_name: &str, up: bool) -> Result<Vec<String>, McpStoreError> {
///     if up { Ok(vec![format!("{service_name}.read_file")]) }
///     else { Err(McpStoreError::connection("store unreachable")) }
/// }
///
/// let chain = FallbackChain::new()
///     .operation("get_service_tools")
///     .cache(ResponseCache::new(Duration::from_secs(600), 100))
///     .default_value(Vec::new());
///
/// let tools = chain.execute("filesystem", |name| get_service_tools(name, true)).unwrap();
/// assert_eq!(tools, ["filesystem.read_file"]);
///
/// // The store goes down: the cached list is served.
/// let served = chain.execute_outcome("filesystem", |name| get_service_tools(name, false)).unwrap();
/// assert_eq!((served.value.len(), served.served_by), (1, ServedBy::Cache));
///
/// // Nothing cached for this service: the default.
/// let served = chain.execute_outcome("web", |name| get_service_tools(name, false)).unwrap();
/// assert_eq!((served.value.len(), served.served_by), (0, ServedBy::Default));
/// ```
pub struct FallbackChain<A: ?Sized, T, E> {
    operation: &'static str,
    key: ChainKey,
    cache: Option<Box<dyn CacheSlot<A, T> + Send + Sync>>,
    steps: Vec<Step<A, T, E>>,
}

enum Step<A: ?Sized, T, E> {
    Cache,
    Default(Box<dyn Fn() -> T + Send + Sync>),
    Alternative {
        name: &'static str,
        call: AlternativeFn<A, T>,
    },
    AlternativeAsync {
        name: &'static str,
        call: AsyncAlternativeFn<A, T>,
    },
    Custom(Box<dyn FallbackStrategy<A, T, E> + Send + Sync>),
}

/// What a step did, seen without running anything async: an asynchronous alternative is
/// only named, so that a synchronous call never runs its closure.
enum Attempt<'s, A: ?Sized, T> {
    Served(T, ServedBy),
    Failed,
    NeedsAsync(&'s AsyncAlternativeFn<A, T>, &'static str),
}

/// Whose entries are whose in a [`ResponseCache`] that several [`FallbackChain`]s share: a
/// chain's operation name ([`FallbackChain::operation`]), or, for a chain left unnamed, where
/// in the source its cache was given ([`FallbackChain::cache`]). Chains of one name, or given
/// their cache by the same line, share entries; any other two never serve each other's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainKey(ChainName);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ChainName {
    Operation(&'static str),
    CacheGivenAt(&'static Location<'static>),
}

/// The cache as the chain uses it; erases the bounds on `A` and `T`, which only
/// [`FallbackChain::cache`] requires.
trait CacheSlot<A: ?Sized, T> {
    fn store(&self, chain: ChainKey, args: &A, value: &T);
    fn lookup(&self, chain: ChainKey, args: &A) -> Option<T>;
}

impl<A, T> CacheSlot<A, T> for ResponseCache<(ChainKey, A::Owned), T>
where
    A: ToOwned + Hash + Eq + ?Sized,
    T: Clone,
{
    fn store(&self, chain: ChainKey, args: &A, value: &T) {
        // Hashed as borrowed, like the lookups: `A::Owned` hashes as `A` does.
        let hash = self.hash_of(&(chain, args));
        self.insert_hashed(hash, (chain, args.to_owned()), value.clone(), |a, b| {
            a.0 == b.0 && a.1.borrow() == b.1.borrow()
        });
    }

    fn lookup(&self, chain: ChainKey, args: &A) -> Option<T> {
        let hash = self.hash_of(&(chain, args));
        self.get_hashed(hash, |key| key.0 == chain && key.1.borrow() == args)
    }
}

impl<A: ?Sized, T, E> Default for FallbackChain<A, T, E> {
    /// As [`FallbackChain::new`].
    fn default() -> Self {
        FallbackChain {
            operation: "FallbackChain::execute",
            // Until it is named, or given a cache (whose call says where).
            key: ChainKey(ChainName::CacheGivenAt(Location::caller())),
            cache: None,
            steps: Vec::new(),
        }
    }
}

impl<A: ?Sized, T, E> FallbackChain<A, T, E> {
    /// A chain with no strategy: a failure is returned as it is.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// let chain: FallbackChain<str, u32, String> = FallbackChain::new();
    /// assert_eq!(chain.execute("x", |_| Err("down".to_string())), Err("down".to_string()));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the operation in `tracing` events and in cache keys ([`ChainKey`]): chains
    /// sharing one [`ResponseCache`] keep their entries apart by name. An unnamed chain is
    /// kept apart by where its cache was given, so chains that one helper gives a cache for
    /// several operations must be named.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcpstore_errors::{FallbackChain, ResponseCache};
    ///
    /// let cache = ResponseCache::new(Duration::from_secs(60), 10);
    /// let tools = FallbackChain::new().operation("list_tools").cache(cache.clone());
    /// let prompts = FallbackChain::new().operation("list_prompts").cache(cache.clone());
    /// tools.execute("fs", |_| Ok::<_, String>(vec!["read"])).unwrap();
    /// assert_eq!(prompts.execute("fs", |_| Err("down".to_string())), Err("down".to_string()));
    /// ```
    pub fn operation(mut self, name: &'static str) -> Self {
        self.operation = name;
        self.key = ChainKey(ChainName::Operation(name));
        self
    }

    /// Adds the cache strategy: serve the value the operation last returned for equal arguments,
    /// while younger than the cache's TTL. From now on every success is stored in `cache`, under
    /// the chain's [`ChainKey`] and an owned copy of the arguments (`String` for `str`), which a
    /// lookup compares for equality. A second call replaces the cache and keeps the first
    /// position.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use mcpstore_errors::{FallbackChain, ManualClock, ResponseCache};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let chain = FallbackChain::new()
    ///     .cache(ResponseCache::with_clock(Duration::from_secs(60), 10, clock.clone()));
    /// chain.execute(&("fs", 1), |_| Ok::<_, String>(42)).unwrap();
    /// assert_eq!(chain.execute(&("fs", 1), |_| Err("down".to_string())), Ok(42));
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(chain.execute(&("fs", 1), |_| Err("down".to_string())), Err("down".to_string()));
    /// ```
    #[track_caller]
    pub fn cache(mut self, cache: ResponseCache<(ChainKey, A::Owned), T>) -> Self
    where
        A: ToOwned + Hash + Eq,
        A::Owned: Hash + Eq + Send + 'static,
        T: Clone + Send + Sync + 'static,
    {
        if let ChainName::CacheGivenAt(_) = self.key.0 {
            self.key = ChainKey(ChainName::CacheGivenAt(Location::caller()));
        }
        if self.cache.is_none() {
            self.steps.push(Step::Cache);
        }
        self.cache = Some(Box::new(cache));
        self
    }

    /// Adds a default: a clone of `value`.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// let chain = FallbackChain::new().default_value(vec!["none"]);
    /// assert_eq!(chain.execute(&(), |_| Err("down")), Ok(vec!["none"]));
    /// ```
    pub fn default_value(self, value: T) -> Self
    where
        T: Clone + Send + Sync + 'static,
    {
        self.default_with(move || value.clone())
    }

    /// Adds a default made by `make` each time it is needed.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// let chain = FallbackChain::new().default_with(|| String::from("offline"));
    /// assert_eq!(chain.execute(&(), |_| Err("down")), Ok("offline".to_string()));
    /// ```
    pub fn default_with(mut self, make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        self.steps.push(Step::Default(Box::new(make)));
        self
    }

    /// Adds `T::default()` as the default.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// let chain = FallbackChain::new().or_default();
    /// assert_eq!(chain.execute(&(), |_| Err::<Vec<u8>, _>("down")), Ok(Vec::new()));
    /// ```
    pub fn or_default(self) -> Self
    where
        T: Default + 'static,
    {
        self.default_with(T::default)
    }

    /// Adds an alternative: `call` with the same arguments (a backup service, a replica...).
    /// Its error only moves on to the next strategy. Named by its type: a function's path.
    ///
    /// ```
    /// use mcpstore_errors::{FallbackChain, ServedBy};
    ///
    /// fn from_backup(args: &(String,)) -> Result<Vec<String>, std::io::Error> {
    ///     Ok(vec![format!("{}.read (backup)", args.0)])
    /// }
    ///
    /// let chain = FallbackChain::new().alternative(from_backup);
    /// let served = chain.execute_outcome(&("fs".to_string(),), |_| Err("primary down")).unwrap();
    /// assert_eq!(served.value, ["fs.read (backup)"]);
    /// assert!(matches!(served.served_by, ServedBy::Alternative(name) if name.ends_with("from_backup")));
    /// ```
    pub fn alternative<F, R>(mut self, call: F) -> Self
    where
        F: Fn(&A) -> Result<T, R> + Send + Sync + 'static,
        R: Into<BoxError>,
    {
        let name = std::any::type_name::<F>();
        let call = move |args: &A| call(args).map_err(Into::into);
        self.steps.push(Step::Alternative {
            name,
            call: Box::new(call),
        });
        self
    }

    /// Adds an asynchronous alternative. Its future is `'static`: clone from the arguments what
    /// it needs. Only [`execute_async`](Self::execute_async) can run it; a synchronous
    /// [`execute`](Self::execute) skips it (with a `tracing` event).
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    ///
    /// async fn from_replica(service: String) -> Result<Vec<String>, String> {
    ///     Ok(vec![format!("{service}.read")])
    /// }
    ///
    /// let chain = FallbackChain::new()
    ///     .alternative_async(|service: &str| from_replica(service.to_owned()));
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let tools = runtime.block_on(chain.execute_async("fs", async { Err("down".to_string()) }));
    /// assert_eq!(tools.unwrap(), ["fs.read"]);
    /// ```
    pub fn alternative_async<F, Fut, R>(mut self, call: F) -> Self
    where
        F: Fn(&A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, R>> + Send + 'static,
        R: Into<BoxError>,
    {
        let name = std::any::type_name::<F>();
        let call = move |args: &A| -> StrategyFuture<T> {
            let future = call(args);
            Box::pin(async move { future.await.map_err(Into::into) })
        };
        self.steps.push(Step::AlternativeAsync {
            name,
            call: Box::new(call),
        });
        self
    }

    /// Adds a custom [`FallbackStrategy`].
    ///
    /// ```
    /// use mcpstore_errors::{BoxError, FallbackChain, FallbackStrategy};
    ///
    /// struct Halve;
    /// impl FallbackStrategy<u32, u32, String> for Halve {
    ///     fn recover(&self, n: &u32, _error: &String) -> Result<u32, BoxError> {
    ///         Ok(n / 2)
    ///     }
    /// }
    ///
    /// let chain = FallbackChain::new().strategy(Halve);
    /// assert_eq!(chain.execute(&10, |_| Err("down".to_string())), Ok(5));
    /// ```
    pub fn strategy(
        mut self,
        strategy: impl FallbackStrategy<A, T, E> + Send + Sync + 'static,
    ) -> Self {
        self.steps.push(Step::Custom(Box::new(strategy)));
        self
    }

    /// Adds a recovery closure: like [`alternative`](Self::alternative), also given the error.
    ///
    /// ```
    /// use mcpstore_errors::{ErrorKind, FallbackChain, McpStoreError};
    ///
    /// let chain = FallbackChain::new().recover(|service: &str, error: &McpStoreError| {
    ///     if error.kind() == ErrorKind::ServiceNotFound { Ok(Vec::new()) } else { Err(error.clone()) }
    /// });
    /// let tools: Result<Vec<String>, _> =
    ///     chain.execute("fs", |name| Err(McpStoreError::service_not_found(name)));
    /// assert_eq!(tools.unwrap(), Vec::<String>::new());
    /// ```
    pub fn recover<F, R>(self, recover: F) -> Self
    where
        F: Fn(&A, &E) -> Result<T, R> + Send + Sync + 'static,
        R: Into<BoxError>,
    {
        self.strategy(RecoverFn(recover))
    }

    /// The number of strategies.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// let chain: FallbackChain<(), u8, ()> = FallbackChain::new().default_value(0).or_default();
    /// assert_eq!(chain.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the chain has no strategy.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// assert!(FallbackChain::<(), u8, ()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Calls `primary` with `args`; on failure, the strategies in order; when all fail, the
    /// primary's error.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    /// let chain = FallbackChain::new().default_value(0);
    /// assert_eq!(chain.execute("7", |s: &str| s.parse::<i32>()), Ok(7));
    /// assert_eq!(chain.execute("x", |s: &str| s.parse::<i32>()), Ok(0));
    /// ```
    pub fn execute<F>(&self, args: &A, primary: F) -> Result<T, E>
    where
        F: FnOnce(&A) -> Result<T, E>,
        E: Display,
    {
        self.execute_outcome(args, primary).map(Served::into_value)
    }

    /// Like [`execute`](Self::execute), telling who served the value.
    ///
    /// ```
    /// use mcpstore_errors::{FallbackChain, ServedBy};
    /// let chain = FallbackChain::new().default_value(0);
    /// let served = chain.execute_outcome("x", |s: &str| s.parse::<i32>()).unwrap();
    /// assert_eq!(served.served_by, ServedBy::Default);
    /// ```
    pub fn execute_outcome<F>(&self, args: &A, primary: F) -> Result<Served<T>, E>
    where
        F: FnOnce(&A) -> Result<T, E>,
        E: Display,
    {
        let error = match primary(args) {
            Ok(value) => return Ok(self.primary_served(args, value)),
            Err(error) => error,
        };
        let run = FallbackRun::new(self.operation);
        for step in &self.steps {
            match self.attempt(&run, step, args, &error) {
                Attempt::Served(value, served_by) => return Ok(Served { value, served_by }),
                Attempt::Failed => {}
                Attempt::NeedsAsync(_, name) => run.failed(
                    name,
                    &"an asynchronous alternative cannot run in a synchronous call",
                ),
            }
        }
        run.exhausted(&error);
        Err(error)
    }

    /// The async form of [`execute`](Self::execute): awaits `primary` (a future that borrows
    /// whatever it likes), then the strategies, asynchronous alternatives included.
    ///
    /// ```
    /// use mcpstore_errors::FallbackChain;
    ///
    /// async fn fetch(service: &str) -> Result<usize, String> { Err(format!("{service} down")) }
    ///
    /// let chain = FallbackChain::new().default_value(0);
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let count = runtime.block_on(chain.execute_async("fs", fetch("fs")));
    /// assert_eq!(count, Ok(0));
    /// ```
    pub async fn execute_async<Fut>(&self, args: &A, primary: Fut) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        self.execute_async_outcome(args, primary)
            .await
            .map(Served::into_value)
    }

    /// Like [`execute_async`](Self::execute_async), telling who served the value.
    ///
    /// ```
    /// use mcpstore_errors::{FallbackChain, ServedBy};
    ///
    /// let chain = FallbackChain::new()
    ///     .alternative_async(|n: &u32| { let n = *n; async move { Ok::<_, String>(n + 1) } });
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let served = runtime
    ///     .block_on(chain.execute_async_outcome(&1, async { Err("down".to_string()) }))
    ///     .unwrap();
    /// assert_eq!(served.value, 2);
    /// assert!(matches!(served.served_by, ServedBy::Alternative(_)));
    /// ```
    pub async fn execute_async_outcome<Fut>(&self, args: &A, primary: Fut) -> Result<Served<T>, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let error = match primary.await {
            Ok(value) => return Ok(self.primary_served(args, value)),
            Err(error) => error,
        };
        let run = FallbackRun::new(self.operation);
        for step in &self.steps {
            match self.attempt(&run, step, args, &error) {
                Attempt::Served(value, served_by) => return Ok(Served { value, served_by }),
                Attempt::Failed => {}
                Attempt::NeedsAsync(call, name) => match call(args).await {
                    Ok(value) => {
                        run.served(name, &error);
                        let served_by = ServedBy::Alternative(name);
                        return Ok(Served { value, served_by });
                    }
                    Err(reason) => run.failed(name, &reason),
                },
            }
        }
        run.exhausted(&error);
        Err(error)
    }

    fn primary_served(&self, args: &A, value: T) -> Served<T> {
        if let Some(cache) = &self.cache {
            cache.store(self.key, args, &value);
        }
        Served {
            value,
            served_by: ServedBy::Primary,
        }
    }

    /// Runs one synchronous step, emitting its event; an asynchronous one is only named.
    fn attempt<'s>(
        &'s self,
        run: &FallbackRun<'_>,
        step: &'s Step<A, T, E>,
        args: &A,
        error: &E,
    ) -> Attempt<'s, A, T>
    where
        E: Display,
    {
        let (outcome, served_by) = match step {
            Step::Cache => {
                let cached = self.cache.as_ref().and_then(|c| c.lookup(self.key, args));
                return match run.cache(cached, error) {
                    Some(value) => Attempt::Served(value, ServedBy::Cache),
                    None => Attempt::Failed,
                };
            }
            Step::Default(make) => {
                return Attempt::Served(run.default(make(), error), ServedBy::Default);
            }
            Step::Alternative { name, call } => (call(args), ServedBy::Alternative(name)),
            Step::AlternativeAsync { name, call } => return Attempt::NeedsAsync(call, name),
            Step::Custom(strategy) => (
                strategy.recover(args, error),
                ServedBy::Custom(strategy.name()),
            ),
        };
        match outcome {
            Ok(value) => {
                run.served(served_by.name(), error);
                Attempt::Served(value, served_by)
            }
            Err(reason) => {
                run.failed(served_by.name(), &reason);
                Attempt::Failed
            }
        }
    }
}

impl<A: ?Sized, T, E> fmt::Debug for FallbackChain<A, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<&str> = self
            .steps
            .iter()
            .map(|step| match step {
                Step::Cache => "cache",
                Step::Default(_) => "default",
                Step::Alternative { name, .. } | Step::AlternativeAsync { name, .. } => name,
                Step::Custom(strategy) => strategy.name(),
            })
            .collect();
        f.debug_struct("FallbackChain")
            .field("operation", &self.operation)
            .field("steps", &steps)
            .finish()
    }
}

/// A recovery closure as a [`FallbackStrategy`], named by its type.
struct RecoverFn<F>(F);

impl<A: ?Sized, T, E, F, R> FallbackStrategy<A, T, E> for RecoverFn<F>
where
    F: Fn(&A, &E) -> Result<T, R>,
    R: Into<BoxError>,
{
    fn name(&self) -> &'static str {
        std::any::type_name::<F>()
    }

    fn recover(&self, args: &A, error: &E) -> Result<T, BoxError> {
        (self.0)(args, error).map_err(Into::into)
    }
}

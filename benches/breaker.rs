//! Circuit breaker and retry budget: what the success path adds to a call.
//!
//! Every variant calls the same `#[inline(never)]` function as `retry.rs`'s `plain`, so each
//! measures its own wrapper around one identical, opaque call.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcpstore_errors::{
    BreakerRegistry, CircuitBreaker, CircuitBreakerConfig, McpStoreError, RetryBudget,
    RetryBudgetConfig, RetryBudgets, SlidingWindow, circuit_breaker, retry,
};

#[derive(Debug)]
struct Flaky;

/// What `#[circuit_breaker]` needs to report a rejection.
impl From<McpStoreError> for Flaky {
    fn from(_: McpStoreError) -> Self {
        Flaky
    }
}

static REGISTRY: std::sync::LazyLock<BreakerRegistry> =
    std::sync::LazyLock::new(BreakerRegistry::default);

/// The attribute's whole success path: its call site's cached breaker, the permit, the report.
#[circuit_breaker(service = "filesystem", registry = &REGISTRY)]
fn guarded(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

/// `#[retry]` alone, and with a budget named in the attribute (its call site's cached budget,
/// paid into on success): the difference is what the budget adds.
#[retry(max_attempts = 3, delay = 0, jitter = false)]
#[inline(never)]
fn retried(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

#[retry(max_attempts = 3, delay = 0, jitter = false, budget = "filesystem")]
#[inline(never)]
fn retried_within_budget(x: u64) -> Result<u64, Flaky> {
    succeed(x)
}

/// Fails for zero, which no bench passes, so the compiler keeps every error branch.
#[inline(never)]
fn succeed(x: u64) -> Result<u64, Flaky> {
    let x = black_box(x);
    if x == 0 {
        Err(Flaky)
    } else {
        Ok(x.wrapping_mul(31))
    }
}

fn through_breaker(breaker: &CircuitBreaker, x: u64) -> Result<u64, Flaky> {
    let Ok(permit) = breaker.try_acquire() else {
        return Err(Flaky);
    };
    let outcome = succeed(x);
    match &outcome {
        Ok(_) => permit.success(),
        Err(_) => permit.failure(None, None),
    }
    outcome
}

fn success_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_success_path");
    group.bench_function("plain", |b| b.iter(|| succeed(black_box(7))));

    let breaker = CircuitBreaker::new("fs", CircuitBreakerConfig::new());
    group.bench_function("closed_breaker", |b| {
        b.iter(|| through_breaker(&breaker, black_box(7)))
    });

    let timed = CircuitBreaker::new(
        "fs",
        CircuitBreakerConfig::new().window(SlidingWindow::Time {
            length: std::time::Duration::from_secs(10),
            buckets: 10,
        }),
    );
    group.bench_function("closed_breaker_time_window", |b| {
        b.iter(|| through_breaker(&timed, black_box(7)))
    });

    let budget = RetryBudget::new(RetryBudgetConfig::new().initial(100));
    group.bench_function("budget_deposit", |b| {
        b.iter(|| {
            let outcome = succeed(black_box(7));
            if outcome.is_ok() {
                budget.deposit();
            }
            outcome
        })
    });

    let budgets = RetryBudgets::new(RetryBudgetConfig::new().initial(100));
    budgets.budget("filesystem");
    group.bench_function("budget_lookup_and_deposit", |b| {
        b.iter(|| {
            let outcome = succeed(black_box(7));
            if outcome.is_ok() {
                budgets.budget(black_box("filesystem")).deposit();
            }
            outcome
        })
    });

    group.bench_function("closed_breaker_and_budget", |b| {
        b.iter(|| {
            let outcome = through_breaker(&breaker, black_box(7));
            if outcome.is_ok() {
                budget.deposit();
            }
            outcome
        })
    });

    let registry = BreakerRegistry::default();
    registry.breaker("filesystem");
    group.bench_function("registry_lookup_and_closed_breaker", |b| {
        b.iter(|| through_breaker(&registry.breaker(black_box("filesystem")), black_box(7)))
    });

    group.bench_function("attribute_closed_breaker", |b| {
        b.iter(|| guarded(black_box(7)))
    });
    group.bench_function("attribute_retry", |b| b.iter(|| retried(black_box(7))));
    group.bench_function("attribute_retry_named_budget", |b| {
        b.iter(|| retried_within_budget(black_box(7)))
    });
    group.finish();
}

criterion_group!(benches, success_path);
criterion_main!(benches);

//! Retry budgets: exact shares, capacity, timeout cost, the floor on virtual time,
//! concurrency, and the bounded per-service table.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use mcpstore_errors::{
    ErrorKind, ManualClock, RetryBudget, RetryBudgetConfig, RetryBudgets, retry_budgets,
};

fn without_floor() -> RetryBudgetConfig {
    RetryBudgetConfig::new()
        .min_retries_per_second(0)
        .capacity(1_000)
}

fn retries_allowed(budget: &RetryBudget) -> u32 {
    let mut allowed = 0;
    while budget.try_withdraw(Some(ErrorKind::Connection)) {
        allowed += 1;
    }
    allowed
}

#[test]
fn a_share_of_point_six_allows_sixty_percent_of_successes() {
    for (successes, expected) in [(10, 6), (5, 3), (100, 60), (1, 0)] {
        let budget = RetryBudget::new(without_floor().share(0.6));
        for _ in 0..successes {
            budget.deposit();
        }
        assert_eq!(retries_allowed(&budget), expected, "{successes} successes");
    }
}

#[test]
fn other_shares_are_exact_too() {
    for (share, successes, expected) in [(0.2, 10, 2), (0.25, 8, 2), (0.1, 30, 3), (2.0, 3, 6)] {
        let budget = RetryBudget::new(without_floor().share(share));
        for _ in 0..successes {
            budget.deposit();
        }
        assert_eq!(retries_allowed(&budget), expected, "share {share}");
    }
}

#[test]
fn a_zero_share_without_a_floor_allows_no_retry() {
    let budget = RetryBudget::new(without_floor().share(0.0));
    for _ in 0..1000 {
        budget.deposit();
    }
    assert!(!budget.try_withdraw(None));
    assert_eq!((budget.withdrawn(), budget.denied()), (0, 1));
}

#[test]
fn savings_stop_at_the_capacity_and_the_initial_balance_is_capped_by_it() {
    let budget = RetryBudget::new(without_floor().share(1.0).capacity(5));
    for _ in 0..100 {
        budget.deposit();
    }
    assert_eq!(budget.balance(), 5.0);
    assert_eq!(retries_allowed(&budget), 5);

    // A share that does not divide the capacity: the last deposit is cut to it.
    let budget = RetryBudget::new(without_floor().share(0.3).capacity(2));
    for _ in 0..7 {
        budget.deposit();
    }
    assert_eq!(budget.balance(), 2.0);

    let budget = RetryBudget::new(without_floor().capacity(3).initial(50));
    assert_eq!(retries_allowed(&budget), 3);
}

#[test]
fn a_floor_below_a_timeouts_cost_still_pays_for_one_now_and_then() {
    let clock = Arc::new(ManualClock::new());
    let budget = RetryBudget::new(
        RetryBudgetConfig::new()
            .initial(0)
            .min_retries_per_second(1)
            .clock(clock.clone()),
    );
    // A timeout costs 2; the floor earns 1 a second and saves the price of one.
    clock.advance(Duration::from_secs(10));
    assert!(budget.try_withdraw(Some(ErrorKind::ServiceTimeout)));
    assert!(!budget.try_withdraw(Some(ErrorKind::ServiceTimeout)));
    clock.advance(Duration::from_secs(1));
    assert!(
        !budget.try_withdraw(Some(ErrorKind::ServiceTimeout)),
        "1 earned of 2"
    );
    clock.advance(Duration::from_secs(1));
    assert!(budget.try_withdraw(Some(ErrorKind::ServiceTimeout)));
}

#[test]
fn retrying_a_timeout_costs_more() {
    let budget = RetryBudget::new(without_floor().initial(5).timeout_cost(2));
    assert!(budget.try_withdraw(Some(ErrorKind::ServiceTimeout)));
    assert!(budget.try_withdraw(Some(ErrorKind::ServiceTimeout)));
    assert!(!budget.try_withdraw(Some(ErrorKind::ServiceTimeout)));
    assert!(
        budget.try_withdraw(Some(ErrorKind::Connection)),
        "1 left for a cheaper retry"
    );
    assert_eq!(budget.balance(), 0.0);
}

#[test]
fn the_floor_allows_a_few_retries_a_second_without_successes() {
    let clock = Arc::new(ManualClock::new());
    let budget = RetryBudget::new(
        RetryBudgetConfig::new()
            .min_retries_per_second(2)
            .clock(clock.clone()),
    );
    assert_eq!(retries_allowed(&budget), 2);
    clock.advance(Duration::from_millis(499));
    assert!(!budget.try_withdraw(None));
    clock.advance(Duration::from_millis(1));
    assert!(budget.try_withdraw(None), "half a second earns one");
    assert!(!budget.try_withdraw(None));
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        retries_allowed(&budget),
        2,
        "at most a second's worth is saved"
    );
}

#[test]
fn the_floor_loses_no_fraction_between_calls() {
    let clock = Arc::new(ManualClock::new());
    let budget = RetryBudget::new(
        RetryBudgetConfig::new()
            .min_retries_per_second(3)
            .clock(clock.clone()),
    );
    assert_eq!(retries_allowed(&budget), 3);
    // 3 per second, asked every 100 ms for 10 s: 30 retries, not fewer.
    let mut allowed = 0;
    for _ in 0..100 {
        clock.advance(Duration::from_millis(100));
        allowed += u32::from(budget.try_withdraw(None));
    }
    assert_eq!(allowed, 30);
}

#[test]
fn eight_threads_withdraw_exactly_what_was_saved() {
    let budget = RetryBudget::new(without_floor().initial(100));
    let start = Barrier::new(8);
    let granted: u32 = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    (0..50).filter(|_| budget.try_withdraw(None)).count() as u32
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(granted, 100);
    assert_eq!((budget.withdrawn(), budget.denied()), (100, 300));
}

#[test]
fn concurrent_deposits_are_not_lost() {
    let budget = RetryBudget::new(without_floor().share(1.0).capacity(100_000));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| (0..1000).for_each(|_| budget.deposit()));
        }
    });
    assert_eq!(budget.balance(), 8000.0);
}

#[test]
fn a_nan_share_keeps_the_default() {
    let budget = RetryBudget::new(without_floor().share(f64::NAN));
    for _ in 0..10 {
        budget.deposit();
    }
    assert_eq!(retries_allowed(&budget), 2);
}

#[test]
fn the_table_keeps_one_budget_per_service_and_stays_bounded() {
    let budgets = RetryBudgets::new(without_floor().share(1.0)).max_services(3);
    budgets.budget("fs").deposit();
    budgets.budget("web");
    budgets.budget("db");
    assert_eq!(budgets.budget("fs").balance(), 1.0, "the same budget");
    budgets.budget("new"); // forgets the least recently used: web
    assert_eq!(budgets.len(), 3);
    assert_eq!(budgets.budget("fs").balance(), 1.0);
    for i in 0..10_000 {
        budgets.budget(&format!("outside-{i}"));
    }
    assert_eq!(budgets.len(), 3);
}

#[test]
fn a_budget_made_after_a_use_outranks_the_used_one() {
    // As for breakers: a tie between a use and a later insertion fell to the hash order, and
    // forgetting the new budget gives its service a fresh floor of retries.
    for _ in 0..64 {
        let budgets = RetryBudgets::new(without_floor().share(1.0)).max_services(2);
        budgets.budget("a");
        budgets.budget("b");
        budgets.budget("a"); // used after b was made
        budgets.budget("c").deposit(); // forgets b
        budgets.budget("d"); // must forget a, used before c was made
        assert_eq!(budgets.budget("c").balance(), 1.0, "c was kept");
        assert_eq!(budgets.len(), 2);
    }
}

#[test]
fn the_global_table_is_shared() {
    retry_budgets().budget("budget-test-global").deposit();
    assert!(retry_budgets().budget("budget-test-global").balance() > 0.0);
}

// ---- `#[retry(budget = "name")]`: the table's budget, cached per call site ----

static NAMED_CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[mcpstore_errors::retry(
    max_attempts = 3,
    delay = 0,
    jitter = false,
    budget = "budget-test-named"
)]
fn named_budget(fail: bool) -> Result<u32, mcpstore_errors::McpStoreError> {
    NAMED_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    match fail {
        true => Err(mcpstore_errors::McpStoreError::connection("refused")),
        false => Ok(1),
    }
}

#[test]
fn a_named_budget_is_the_tables_budget_of_that_service() {
    let budget = retry_budgets().budget("budget-test-named");
    assert_eq!(budget.balance(), 0.0);
    for _ in 0..10 {
        named_budget(false).unwrap();
    }
    // 20 % of ten successes, paid into the very budget the table holds.
    assert!(
        (budget.balance() - 2.0).abs() < 1e-9,
        "{}",
        budget.balance()
    );

    NAMED_CALLS.store(0, std::sync::atomic::Ordering::SeqCst);
    assert!(named_budget(true).is_err());
    assert_eq!(
        NAMED_CALLS.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "two retries, both paid from the table's budget"
    );
    assert_eq!(budget.withdrawn(), 2);
    assert!(budget.balance().abs() < 1e-9);
}

#[mcpstore_errors::retry(
    max_attempts = 2,
    delay = 0,
    jitter = false,
    budget = "budget-test-async"
)]
async fn named_budget_async() -> Result<u32, mcpstore_errors::McpStoreError> {
    Ok(1)
}

#[test]
fn a_named_budget_works_in_an_async_function_whose_future_is_send() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let future = assert_send(named_budget_async());
    let value = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future);
    assert_eq!(value.unwrap(), 1);
    assert!(retry_budgets().budget("budget-test-async").balance() > 0.0);
}

std::thread_local! {
    static SITE: mcpstore_errors::__private::BudgetSite =
        const { mcpstore_errors::__private::BudgetSite::new() };
}

#[test]
fn a_call_sites_cached_budget_is_dropped_once_the_table_forgets_it() {
    use mcpstore_errors::__private::site_budget;
    let budgets = RetryBudgets::new(without_floor().share(1.0)).max_services(1);
    site_budget(&SITE, &budgets, "a").deposit();
    site_budget(&SITE, &budgets, "a").deposit();
    assert_eq!(
        budgets.budget("a").balance(),
        2.0,
        "the table's budget, cached"
    );

    // A table of one: "b" makes it forget "a", so the site must not hand out its old "a".
    assert_eq!(budgets.budget("b").balance(), 0.0);
    let a = site_budget(&SITE, &budgets, "a");
    assert_eq!(a.balance(), 0.0, "a new budget, not the forgotten one");
    a.deposit();
    assert_eq!(budgets.budget("a").balance(), 1.0, "and it is the table's");

    // Another name through the same site is another budget.
    assert_eq!(site_budget(&SITE, &budgets, "b").balance(), 0.0);
}

#[test]
fn two_tables_never_share_a_sites_budget() {
    use mcpstore_errors::__private::site_budget;
    std::thread_local! {
        static OTHER_SITE: mcpstore_errors::__private::BudgetSite =
            const { mcpstore_errors::__private::BudgetSite::new() };
    }
    let one = RetryBudgets::new(without_floor().share(1.0));
    let two = RetryBudgets::new(without_floor().share(1.0));
    site_budget(&OTHER_SITE, &one, "fs").deposit();
    assert_eq!(site_budget(&OTHER_SITE, &two, "fs").balance(), 0.0);
    assert_eq!(site_budget(&OTHER_SITE, &one, "fs").balance(), 1.0);
}

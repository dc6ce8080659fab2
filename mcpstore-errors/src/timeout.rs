//! Attempt timeouts: an async attempt raced against a timer, dropped when the timer wins.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::{McpStoreError, SleepFuture, Sleeper};

/// An attempt that did not finish within its timeout; it was dropped (cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    /// The timeout that ran out.
    pub timeout: Duration,
}

impl Elapsed {
    /// The error an attempt of `operation` fails with: a `ServiceTimeout`,
    /// `'{operation}' timed out after {timeout:?}`, details `operation` and `timeout`
    /// (seconds, as a float). Not [`McpStoreError::service_timeout`]: the operation is a
    /// function or a name given to the plain API, not a service.
    #[cold]
    pub fn into_error(self, operation: &str) -> McpStoreError {
        McpStoreError::new(
            crate::ErrorKind::ServiceTimeout,
            format!("'{operation}' timed out after {:?}", self.timeout),
        )
        .with_detail("operation", operation)
        .with_detail("timeout", self.timeout.as_secs_f64())
    }
}

/// Runs `attempt` until it finishes or `timer(timeout)` completes, whichever is first; the
/// attempt is polled first, so one that finishes at once always wins, and the timer is only
/// started when the attempt has to wait (a virtual sleeper then records it). The timer has no
/// clock of its own here, so the timeout counts from the attempt's first wait: the time
/// its first poll took is not counted. [`race_timeout_with`] counts it, on a sleeper's clock.
///
/// ```
/// use std::time::Duration;
/// use mcpstore_errors::{Sleeper, VirtualSleeper, race_timeout};
///
/// let sleeper = VirtualSleeper::new();
/// let timer = |d| sleeper.sleep_async(d);
/// let never = std::future::pending::<u8>();
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let outcome = runtime.block_on(race_timeout(never, Duration::from_secs(2), timer));
/// assert_eq!(outcome.unwrap_err().timeout, Duration::from_secs(2));
/// ```
pub async fn race_timeout<F: Future>(
    attempt: F,
    timeout: Duration,
    timer: impl FnOnce(Duration) -> SleepFuture,
) -> Result<F::Output, Elapsed> {
    race(attempt, timeout, || None, timer).await
}

/// [`race_timeout`] on `sleeper`'s timer, the timeout counted from the attempt's start on
/// the sleeper's clock ([`Sleeper::now`]): an attempt that spends part of it before its
/// first wait (work done in its first poll) gets only what is left, and fails at that wait
/// if nothing is. What `#[timeout]` and attempt timeouts run.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcpstore_errors::{ManualClock, VirtualSleeper, race_timeout_with};
///
/// let clock = Arc::new(ManualClock::new());
/// let sleeper = VirtualSleeper::advancing(clock.clone());
/// // 1.5 s of work before the attempt first waits, under a 2 s timeout.
/// let attempt = async {
///     clock.advance(Duration::from_millis(1500));
///     std::future::pending::<u8>().await
/// };
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let outcome = runtime.block_on(race_timeout_with(attempt, Duration::from_secs(2), &sleeper));
/// assert_eq!(outcome.unwrap_err().timeout, Duration::from_secs(2));
/// assert_eq!(sleeper.delays(), [Duration::from_millis(500)], "the timer ran for what was left");
/// ```
pub async fn race_timeout_with<F: Future, S: Sleeper + ?Sized>(
    attempt: F,
    timeout: Duration,
    sleeper: &S,
) -> Result<F::Output, Elapsed> {
    race(
        attempt,
        timeout,
        || sleeper.now(),
        |left| sleeper.sleep_async(left),
    )
    .await
}

/// The race: the timeout counted from `now()` before the first poll, when the timer's clock
/// gives one.
pub(crate) async fn race<F: Future>(
    attempt: F,
    timeout: Duration,
    now: impl Fn() -> Option<Instant>,
    timer: impl FnOnce(Duration) -> SleepFuture,
) -> Result<F::Output, Elapsed> {
    let started = now();
    let mut attempt = pin!(attempt);
    let mut timer = Some(timer);
    let mut sleep: Option<SleepFuture> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = attempt.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let sleep = match &mut sleep {
            Some(sleep) => sleep,
            None => match timer.take() {
                Some(start) => {
                    let spent = started.zip(now()).map_or(Duration::ZERO, |(started, now)| {
                        now.saturating_duration_since(started)
                    });
                    let left = timeout.saturating_sub(spent);
                    if left.is_zero() && !timeout.is_zero() {
                        return Poll::Ready(Err(Elapsed { timeout }));
                    }
                    sleep.insert(start(left))
                }
                None => return Poll::Pending,
            },
        };
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed { timeout })),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// One attempt of a retried async call under its policy's attempt timeout: `attempt` raced
/// against the policy's timer, failing with what `timed_out` makes of the lapse (and `retry`
/// told the attempt lapsed). An error type that has no timeout error (`timed_out` gives
/// `None`) lets the attempt run on to its end, with a `warn` event. Without a timeout, the
/// attempt alone.
pub(crate) async fn attempt_within<T, E, F>(
    attempt: F,
    retry: &crate::__private::RetryLoop<'_>,
    timed_out: impl FnOnce(Elapsed, &str) -> Option<E>,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let (config, operation) = (retry.config(), retry.operation());
    let Some(timeout) = config.get_attempt_timeout() else {
        return attempt.await;
    };
    let mut attempt = pin!(attempt);
    match race_timeout_with(attempt.as_mut(), timeout, config.timer()).await {
        Ok(outcome) => outcome,
        Err(elapsed) => match timed_out(elapsed, operation) {
            Some(error) => {
                retry.lapsed();
                Err(error)
            }
            None => {
                tracing::warn!(
                    target: "mcpstore_errors::retry",
                    operation,
                    timeout = ?timeout,
                    error_type = std::any::type_name::<E>(),
                    "an attempt ran past its timeout, but its error type has no timeout error to fail with: it runs on"
                );
                attempt.await
            }
        },
    }
}

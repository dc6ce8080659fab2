use std::time::Duration;

use mcpstore_errors::{RetryConfig, fallback, retry};

struct Store;

impl Store {
    fn policy() -> RetryConfig {
        RetryConfig::new()
    }

    #[retry(config = Self::policy())]
    fn load(&self) -> Result<u32, String> {
        Ok(1)
    }

    // Reading `self`, evaluated on every call: fine.
    #[retry(delay = self.pause())]
    fn save(&self) -> Result<u32, String> {
        Ok(2)
    }

    // The same through a receiver the expansion renames.
    #[retry(delay = self.pause())]
    fn reset(&mut self) -> Result<u32, String> {
        Ok(4)
    }

    fn pause(&self) -> Duration {
        Duration::ZERO
    }

    // A module path through `self::` is fine.
    #[retry(config = self::policy())]
    fn ping(&self) -> Result<u32, String> {
        Ok(3)
    }
}

fn policy() -> RetryConfig {
    RetryConfig::new()
}

#[retry(max_attempts = N)]
fn with_const<const N: u32>() -> Result<u32, String> {
    Ok(N)
}

#[fallback(cache(ttl = T::ttl()))]
fn with_type<T: Ttl>() -> Result<u32, String> {
    Ok(4)
}

trait Ttl {
    fn ttl() -> Duration;
}

fn main() {
    let _ = Store.load();
    let _ = Store.save();
    let _ = Store.reset();
    let _ = Store.ping();
    let _ = with_const::<3>();
}

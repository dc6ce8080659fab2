use mcpstore_errors::{CircuitBreaker, CircuitBreakerConfig};

fn main() {
    let breaker = CircuitBreaker::new("fs", CircuitBreakerConfig::new());
    let _ = breaker.call(|| Err::<(), String>("boom".to_owned()));
}

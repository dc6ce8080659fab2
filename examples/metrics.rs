//! Metrics (feature `metrics`): retries, fallbacks, a circuit breaker and the error collector
//! recorded by the Prometheus exporter, served in the Prometheus text format on a loopback
//! port, then scraped and parsed back as a Prometheus server would.
//!
//! `cargo run --example metrics --features metrics` (add `-- --serve` to keep serving, for
//! `curl http://127.0.0.1:PORT/metrics`).

use std::collections::BTreeSet;

use mcpstore_errors_examples::prometheus;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let handle = prometheus::install()?;
    let address = prometheus::serve(handle).await?;
    println!("serving http://{address}/metrics\n");

    prometheus::run_calls().await;

    let text = prometheus::scrape(address).await?;
    println!("{text}");
    let scrape = prometheus::parse(&text)?;
    let families: BTreeSet<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    println!(
        "parsed {} samples in {} families:",
        scrape.samples.len(),
        families.len()
    );
    for family in families {
        println!("  {family}");
    }

    if std::env::args().any(|arg| arg == "--serve") {
        println!("\nserving until interrupted");
        std::future::pending::<()>().await;
    }
    Ok(())
}

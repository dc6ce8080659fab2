//! The one-minute tour: a client with `#[retry]`, `#[fallback]`, `#[collect_errors]` and
//! `#[circuit_breaker]` talks to a small tool server that starts late, fails some calls, goes
//! down and comes back. While it is down the breaker opens: calls fail at once without
//! connecting, and the tool list comes from the cache; once it is back, a probe closes the
//! breaker.
//!
//! `cargo run --example quickstart`
//!
//! The server and the client live in this crate's library (`examples/support/`), so a test runs
//! the same scenario.

use std::process::ExitCode;

use mcpstore_errors_examples::{narrate, scenario};

fn main() -> ExitCode {
    narrate::init();
    println!("What happened:");
    let export_dir = std::env::temp_dir().join("mcpstore-errors-quickstart");
    let report = match scenario::run(&export_dir) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("the scenario failed: {error} ({})", error.help());
            return ExitCode::FAILURE;
        }
    };
    println!("\nErrors collected in the last hour:");
    print!("{}", narrate::summary_table(&report.summary));
    println!(
        "\n{} rate alert(s). Every collected error, as JSON: {}",
        report.alerts.len(),
        report.export_path.display()
    );
    ExitCode::SUCCESS
}

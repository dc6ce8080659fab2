//! An MCP client on the official SDK, rmcp, with `#[retry]`, `#[fallback]` and
//! `#[collect_errors]`, against a real rmcp tool server run as a child process over stdio.
//! The story: a flaky tool is retried, the server is killed mid-session and respawned, an
//! unknown tool, bad arguments, a slow tool past its request timeout, and a server binary
//! that does not exist.
//!
//! `cargo run --example mcp_client --features rmcp`
//!
//! The server is this same program run with `--serve` (the code of the `mcp_tool_server`
//! binary), so the example needs no other build step.

use std::process::ExitCode;

use mcpstore_errors_examples::mcp::{self, ServerCommand};
use mcpstore_errors_examples::{mcp_server, narrate};

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        // Server mode: stdout is the MCP transport, so nothing else may print.
        let served = match mcp_server::flaky_failures_from_env() {
            Ok(failures) => mcp_server::serve_stdio(failures).await,
            Err(error) => Err(error.into()),
        };
        return match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("mcp server: {error}");
                ExitCode::FAILURE
            }
        };
    }
    narrate::init();
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(error) => {
            eprintln!("cannot find this program to run it as the server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let command = ServerCommand {
        program,
        args: vec!["--serve".into()],
        flaky_failures: 2,
    };
    println!("What happened:");
    let report = match mcp::run(command).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("the scenario failed: {error} ({})", error.help());
            return ExitCode::FAILURE;
        }
    };
    println!(
        "\n{} server processes started; the cache answered flaky after the restart: {}",
        report.spawns,
        report.flaky_served_from_cache()
    );
    println!("Errors collected, by type:");
    for (error_type, count) in &report.collected {
        println!("  {error_type:<22} {count}");
    }
    ExitCode::SUCCESS
}

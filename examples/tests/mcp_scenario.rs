//! The `mcp_client` example's story, checked: what `cargo run --example mcp_client --features
//! rmcp` shows must be what happens. Its own test binary, so the collector counts only it.

use std::path::PathBuf;
use std::time::Duration;

use mcpstore_errors::ErrorKind;
use mcpstore_errors_examples::mcp::{self, ServerCommand};

#[tokio::test]
async fn the_mcp_scenario_retries_reconnects_falls_back_and_collects() {
    let command = ServerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_mcp_tool_server")),
        args: Vec::new(),
        flaky_failures: 2,
    };
    let report = tokio::time::timeout(Duration::from_secs(60), mcp::run(command))
        .await
        .expect("the scenario hung")
        .expect("the scenario runs to the end");
    let tool_failure = Some(ErrorKind::ToolExecution);

    // flaky fails twice, the third attempt answers.
    assert_eq!(
        report.flaky_first.as_deref().unwrap(),
        "ok after 2 failures"
    );
    assert_eq!(
        report.flaky_first_attempts,
        [tool_failure, tool_failure, None]
    );

    // Killed: the first attempt finds the transport closed, the second respawns a server
    // whose flaky fails again twice; the cache answers with the first server's value.
    assert!(report.killed_pid > 0);
    assert_eq!(
        report.flaky_after_kill_attempts,
        [Some(ErrorKind::Connection), tool_failure, tool_failure]
    );
    assert_eq!(
        report.flaky_after_kill.as_deref().unwrap(),
        "ok after 2 failures"
    );
    assert!(report.flaky_served_from_cache());
    assert_eq!(report.spawns, 2, "one start, one restart after the kill");
    assert_eq!(report.echo.as_deref().unwrap(), "hello");

    // Bad arguments: a tool failure, not retried (echo retries Connection only).
    let bad = report.bad_arguments.as_ref().unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::ToolExecution);
    assert_eq!(report.bad_arguments_attempts, [tool_failure]);

    let unknown = report.unknown_tool.as_ref().unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::ToolNotFound);
    assert_eq!(
        report.unknown_tool_attempts,
        [Some(ErrorKind::ToolNotFound)]
    );

    // slow: both attempts hit the request timeout.
    let slow = report.slow.as_ref().unwrap_err();
    assert_eq!(slow.kind(), ErrorKind::ServiceTimeout);
    assert_eq!(
        report.slow_attempts,
        [
            Some(ErrorKind::ServiceTimeout),
            Some(ErrorKind::ServiceTimeout)
        ]
    );
    assert_eq!(slow.details()["timeout"], report.slow_timeout.as_secs_f64());

    let missing = report.missing_binary.as_ref().unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Configuration);
    assert_eq!(report.missing_binary_spawns, 1);

    // Only what escaped the attributes is collected: not the retried failures, not the
    // flaky call the cache answered.
    let collected: Vec<(&str, u64)> = report
        .collected
        .iter()
        .map(|(name, count)| (name.as_str(), *count))
        .collect();
    assert_eq!(
        collected,
        [
            ("ConfigurationError", 1),
            ("ServiceTimeoutError", 1),
            ("ToolExecutionError", 1),
            ("ToolNotFoundError", 1),
        ]
    );
}

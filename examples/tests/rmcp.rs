//! rmcp 3.11's real errors, seen through `mcpstore_errors::rmcp`: a client talks to the
//! `mcp_tool_server` binary as a child process over stdio and checks the kind each failure
//! maps to.
//!
//! The test lives in the examples crate because `CARGO_BIN_EXE_mcp_tool_server` (the path of
//! a binary cargo has just built) is only given to the integration tests of the package that
//! owns the binary; anywhere else the binary might not be built, or be stale.

use std::error::Error as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcpstore_errors::{ErrorKind, McpStoreError};
use mcpstore_errors_examples::mcp::{McpToolClient, ServerCommand, text};
use rmcp::ServiceError;
use serde_json::json;

/// No step of these tests may hang: each is cut off after this long.
const GUARD: Duration = Duration::from_secs(20);

fn server(flaky_failures: u32) -> ServerCommand {
    ServerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_mcp_tool_server")),
        args: Vec::new(),
        flaky_failures,
    }
}

async fn guarded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("an rmcp call hung")
}

fn rmcp_source(error: &McpStoreError) -> &ServiceError {
    error
        .source()
        .and_then(|source| source.downcast_ref::<ServiceError>())
        .unwrap_or_else(|| panic!("no rmcp::ServiceError behind {error:?}"))
}

#[tokio::test]
async fn an_unknown_tool_is_tool_not_found_from_json_rpc_invalid_params() {
    let client = McpToolClient::new("tools", server(0));
    let error = guarded(client.call_once("no_such_tool", json!({}), None))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ToolNotFound);
    assert!(!error.is_retryable());
    // Measured: rmcp's tool router answers -32602 "tool not found", not -32601.
    assert_eq!(error.details()["jsonrpc_code"], -32602);
    assert_eq!(error.details()["tool_name"], "no_such_tool");
    assert_eq!(error.details()["service_name"], "tools");
    assert!(matches!(rmcp_source(&error), ServiceError::McpError(_)));
    client.close().await;
}

#[tokio::test]
async fn bad_and_missing_arguments_are_tool_execution_from_an_is_error_result() {
    let client = McpToolClient::new("tools", server(0));
    for arguments in [json!({"text": 5}), json!(null), json!({"txt": "typo"})] {
        let error = guarded(client.call_once("echo", arguments.clone(), None))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ToolExecution, "{arguments}");
        // Measured: rmcp 3.11 answers a result with isError, not a JSON-RPC error.
        assert!(error.details().get("jsonrpc_code").is_none(), "{error:?}");
        let output = error.details()["output"].as_str().unwrap();
        assert!(
            output.starts_with("failed to deserialize parameters"),
            "{output}"
        );
    }
    let ok = guarded(client.call_once("echo", json!({"text": "fine"}), None)).await;
    assert_eq!(text(ok.unwrap()), "fine");
    client.close().await;
}

#[tokio::test]
async fn a_request_timeout_is_a_retryable_service_timeout() {
    let client = McpToolClient::new("tools", server(0));
    let timeout = Duration::from_millis(30);
    let error = guarded(client.call_once("slow", json!({"millis": 5_000}), Some(timeout)))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceTimeout);
    assert!(error.is_retryable());
    assert_eq!(error.details()["timeout"], 0.03);
    assert!(matches!(
        rmcp_source(&error),
        ServiceError::Timeout { timeout: t } if *t == timeout
    ));
    // The session survives a timeout: the next call on it works.
    let ok = guarded(client.call_once("slow", json!({"millis": 1}), Some(GUARD))).await;
    assert_eq!(text(ok.unwrap()), "slept 1 ms");
    assert_eq!(client.spawns(), 1);
    client.close().await;
}

#[tokio::test]
async fn a_server_killed_during_a_call_is_a_retryable_connection_error_then_respawned() {
    let client = McpToolClient::new("tools", server(0));
    guarded(client.connect()).await.unwrap();
    let call = client.call_once("slow", json!({"millis": 10_000}), None);
    let kill = async {
        // Give the request a moment to reach the server; the outcome is the same either way.
        tokio::time::sleep(Duration::from_millis(5)).await;
        client.kill_server().await.unwrap()
    };
    let (outcome, _) = guarded(async { tokio::join!(call, kill) }).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error:?}");
    assert!(error.is_retryable());
    assert!(
        matches!(
            rmcp_source(&error),
            ServiceError::TransportClosed | ServiceError::TransportSend(_)
        ),
        "{error:?}"
    );
    // The dead session was dropped: the next call starts a new server.
    let ok = guarded(client.call_once("echo", json!({"text": "back"}), None)).await;
    assert_eq!(text(ok.unwrap()), "back");
    assert_eq!(client.spawns(), 2);
    client.close().await;
}

#[tokio::test]
async fn a_call_after_the_server_died_between_calls_is_a_connection_error() {
    let client = McpToolClient::new("tools", server(0));
    guarded(client.connect()).await.unwrap();
    guarded(client.kill_server()).await.unwrap();
    let error = guarded(client.call_once("echo", json!({"text": "x"}), None))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error:?}");
    assert!(error.is_retryable());
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_after_a_kill_start_one_new_server() {
    let client = Arc::new(McpToolClient::new("tools", server(0)));
    guarded(client.connect()).await.unwrap();
    guarded(client.kill_server()).await.unwrap();
    // Each retries on Connection; a caller whose error belongs to the dead session must not
    // drop the new one another caller started.
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.echo(json!({"text": format!("call {i}")})).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(guarded(call).await.unwrap().unwrap(), format!("call {i}"));
    }
    assert_eq!(
        client.spawns(),
        2,
        "one server killed, exactly one started again"
    );
    client.close().await;
}

#[tokio::test]
async fn a_missing_server_binary_is_configuration_and_not_retried() {
    let client = McpToolClient::new(
        "missing",
        ServerCommand {
            program: PathBuf::from("/nonexistent/mcp-tool-server"),
            args: Vec::new(),
            flaky_failures: 0,
        },
    );
    let error = guarded(client.connect()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(!error.is_retryable());
    assert_eq!(error.details()["service_name"], "missing");
    let io = error
        .source()
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .expect("the io::Error of the spawn");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(client.spawns(), 1, "connect retries ServiceStart only");
}

#[test]
fn the_server_exits_when_its_stdin_closes() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp_tool_server"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A session is up (initialize, initialized), then the client goes away.
    let mut stdin = child.stdin.take().unwrap();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    writeln!(stdin, "{initialize}\n{initialized}").unwrap();
    drop(stdin);
    let deadline = std::time::Instant::now() + GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit after stdin closed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success(), "{status}");
}

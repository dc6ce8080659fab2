//! The quickstart's scenario, checked: what `cargo run --example quickstart` shows must be what
//! happens.

use std::error::Error;

use std::time::Duration;

use mcpstore_errors::ErrorKind;
use mcpstore_errors_examples::client::ToolClient;
use mcpstore_errors_examples::scenario::{self, BURST};
use mcpstore_errors_examples::server::{ServerPlan, ToolServer};
use serde_json::Value;

#[test]
fn quickstart_scenario_retries_falls_back_collects_and_exports() {
    let export_dir =
        std::env::temp_dir().join(format!("mcpstore-quickstart-{}", std::process::id()));
    let report = scenario::run(&export_dir).expect("the scenario runs to the end");

    // The server refused connections for 300 ms and the client retried every 100 ms.
    assert!(
        report.connect_attempts > 1,
        "connect needed {} attempts",
        report.connect_attempts
    );

    // Online, the server listed its tools and answered `echo`.
    let names: Vec<&str> = report
        .tools_online
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["echo", "read_file", "search"]);
    assert_eq!(report.echoed, "hello");

    // Once the server was down, the same list came from the cache (the default is empty).
    assert!(report.down_before_offline_list);
    assert_eq!(report.tools_offline, report.tools_online);

    // The failed calls, each with its kind, in order: read_file, an unknown tool, the burst of
    // searches, and echo after the server went down (with the io error as its source, or a
    // closed connection).
    let kinds: Vec<ErrorKind> = report.call_errors.iter().map(|e| e.kind()).collect();
    let mut expected = vec![ErrorKind::ToolExecution, ErrorKind::ToolNotFound];
    expected.extend(std::iter::repeat_n(
        ErrorKind::ToolExecution,
        BURST as usize,
    ));
    expected.push(ErrorKind::Connection);
    assert_eq!(kinds, expected);
    assert_eq!(
        report.call_errors[1].to_string(),
        "Tool 'translate' not found in service 'demo-tools'"
    );
    assert_eq!(
        report.call_errors[2].details()["reason"],
        "index is rebuilding"
    );

    // The collector saw every escaping error, and the burst raised one alert.
    let types = &report.summary.error_types;
    assert_eq!(types["ToolExecutionError"], BURST as usize + 1);
    assert_eq!(types["ToolNotFoundError"], 1);
    assert!(types["ConnectionError"] >= 1);
    assert_eq!(report.alerts.len(), 1, "alerts: {:?}", report.alerts);

    // The export is JSON with the keys MCPStore's tools read.
    let text = std::fs::read_to_string(&report.export_path).expect("the export file exists");
    let export: Value = serde_json::from_str(&text).expect("the export is JSON");
    for key in ["export_time", "total_errors", "errors", "statistics"] {
        assert!(export.get(key).is_some(), "missing key {key}");
    }
    let errors = export["errors"].as_array().expect("errors is an array");
    assert_eq!(export["total_errors"], errors.len());
    let first = &errors[0];
    for key in [
        "timestamp",
        "datetime",
        "error_type",
        "error_message",
        "error_code",
        "details",
        "context",
    ] {
        assert!(first.get(key).is_some(), "an exported error lacks {key}");
    }
    assert!(
        errors
            .iter()
            .any(|e| e["context"]["operation"] == "call_tool"),
        "the context of #[collect_errors] is exported"
    );
    let _ = std::fs::remove_dir_all(&export_dir);
}

#[test]
fn a_refused_connection_is_a_connection_error_caused_by_the_io_error() {
    let server = ToolServer::start(ServerPlan {
        refuse_for: Duration::from_secs(60),
        requests_before_down: 1,
    })
    .expect("the server starts");
    let client = ToolClient::new("demo-tools", server.address());
    let error = client
        .connect_once()
        .expect_err("the server refuses for a minute");
    assert_eq!(error.kind(), ErrorKind::Connection);
    assert!(
        error
            .to_string()
            .starts_with("Cannot connect to service 'demo-tools' at 127.0.0.1:")
    );
    let io = error
        .source()
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .expect("the source is the io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn the_server_moves_to_another_port_when_its_own_was_taken_and_the_client_follows() {
    let server = ToolServer::start(ServerPlan {
        refuse_for: Duration::from_millis(20),
        requests_before_down: 1,
    })
    .expect("the server starts");
    let reserved = server.address().get();
    // Someone else takes the port while the server is refusing connections.
    let squatter = std::net::TcpListener::bind(reserved).expect("the reserved port is free");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.address().get() == reserved {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never moved"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let client = ToolClient::new("demo-tools", server.address());
    client
        .connect_once()
        .expect("the client connects to the new port");
    let echoed = client
        .call_tool("echo", serde_json::json!({"text": "here"}))
        .expect("the server answers there");
    assert_eq!(echoed, "here");
    drop(squatter);
}

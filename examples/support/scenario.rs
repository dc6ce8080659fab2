//! The quickstart's story, run by the example (which prints it) and by a test (which checks it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use mcpstore_errors::{ErrorSummary, McpStoreError, RateAlert, global_collector};

use crate::client::{ToolClient, ToolInfo};
use crate::server::{ServerPlan, ToolServer};

/// The name the demo service goes by in messages.
pub const SERVICE: &str = "demo-tools";

/// How many failing `search` calls make the burst; one more than the collector's default
/// threshold of 10 per 5 minutes, so the rate alert fires.
pub const BURST: u32 = 11;

/// What happened, for the example to print and the test to check.
#[derive(Debug)]
pub struct ScenarioReport {
    /// How many times the client tried to connect.
    pub connect_attempts: u32,
    /// The tool list while the service was up.
    pub tools_online: Vec<ToolInfo>,
    /// What `echo` returned.
    pub echoed: Value,
    /// The errors of the calls that failed, in order.
    pub call_errors: Vec<McpStoreError>,
    /// Whether the service was down when the tools were listed again.
    pub down_before_offline_list: bool,
    /// The tool list asked for after the service went down.
    pub tools_offline: Vec<ToolInfo>,
    /// The rate alerts the collector raised.
    pub alerts: Vec<RateAlert>,
    /// The collector's summary of the last hour.
    pub summary: ErrorSummary,
    /// Where the collector's export was written.
    pub export_path: PathBuf,
}

/// Requests the server answers before it goes down: the tool list, `echo`, `read_file`, an
/// unknown tool, and the burst.
const REQUESTS_BEFORE_DOWN: u32 = 4 + BURST;

/// Starts the demo server, talks to it through a [`ToolClient`] until it goes down, then
/// exports what the global collector (where the client's `#[collect_errors]` reports) saw into
/// `export_dir`.
///
/// Registers an alert callback on the global collector: run it once per process.
pub fn run(export_dir: &Path) -> Result<ScenarioReport, McpStoreError> {
    let collector = global_collector();
    let alerts = Arc::new(Mutex::new(Vec::new()));
    collector.on_alert({
        let alerts = Arc::clone(&alerts);
        move |alert: &RateAlert| {
            alerts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(alert.clone())
        }
    });

    let plan = ServerPlan {
        refuse_for: Duration::from_millis(300),
        requests_before_down: REQUESTS_BEFORE_DOWN,
    };
    let server = ToolServer::start(plan.clone())?;
    let client = ToolClient::new(SERVICE, server.address());
    step(format!(
        "connecting to '{SERVICE}' at {}; it refuses connections for its first {:?}",
        server.address().get(),
        plan.refuse_for
    ));
    client.connect()?;
    step(format!(
        "connected after {} attempts",
        client.connect_attempts()
    ));

    let tools_online = client.list_tools()?;
    let names: Vec<&str> = tools_online.iter().map(|t| t.name.as_str()).collect();
    step(format!("tools: {}", names.join(", ")));
    let echoed = client.call_tool("echo", json!({"text": "hello"}))?;
    step(format!("echo returned {echoed}"));

    let mut call_errors = Vec::new();
    let mut call = |tool: &str, arguments: Value, tell: bool| {
        if let Err(error) = client.call_tool(tool, arguments) {
            if tell {
                step(format!("{tool} failed: {error}"));
            }
            call_errors.push(error);
        }
    };
    call("read_file", json!({"path": "/etc/motd"}), true);
    call("translate", json!({"text": "hello"}), true);
    step(format!("{BURST} searches while the index rebuilds"));
    for n in 0..BURST {
        call("search", json!({"query": format!("query {n}")}), false);
    }

    let down_before_offline_list = server.is_down();
    step("listing tools again, now that the service is down".to_owned());
    let tools_offline = client.list_tools()?;
    step(format!("got {} tools", tools_offline.len()));
    call("echo", json!({"text": "anyone there?"}), true);
    drop(server);

    let summary = collector.summary(Duration::from_secs(3600));
    std::fs::create_dir_all(export_dir)?;
    let export_path = collector.export_default(export_dir)?;
    let alerts = std::mem::take(&mut *alerts.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(ScenarioReport {
        connect_attempts: client.connect_attempts(),
        tools_online,
        echoed,
        call_errors,
        down_before_offline_list,
        tools_offline,
        alerts,
        summary,
        export_path,
    })
}

fn step(message: String) {
    tracing::info!(target: "demo::quickstart", "{message}");
}

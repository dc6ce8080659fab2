//! The quickstart's story, run by the example (which prints it) and by a test (which checks it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use mcpstore_errors::{
    BreakerMetrics, CircuitState, ErrorKind, ErrorSummary, McpStoreError, RateAlert,
    global_collector,
};

use crate::client::{BREAKER_OPEN_FOR, ToolClient, ToolInfo};
use crate::server::{ServerPlan, ToolServer};

/// The name the demo service goes by in messages.
pub const SERVICE: &str = "demo-tools";

/// How many failing `search` calls make the burst; one more than the collector's default
/// threshold of 10 per 5 minutes, so the rate alert fires.
pub const BURST: u32 = 11;

/// What happened, for the example to print and the test to check.
#[derive(Debug)]
pub struct ScenarioReport {
    /// How many times the client tried to connect before it was connected the first time.
    pub connect_attempts: u32,
    /// Whether the client's first attempt came while the server still refused connections (a
    /// machine stalled for the whole refusal leaves nothing to retry).
    pub first_attempt_refused: bool,
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
    /// What the circuit breaker did while the service was down and after it came back.
    pub breaker: BreakerReport,
    /// The rate alerts the collector raised.
    pub alerts: Vec<RateAlert>,
    /// The collector's summary of the last hour.
    pub summary: ErrorSummary,
    /// Where the collector's export was written.
    pub export_path: PathBuf,
}

/// One call made through the client's circuit breaker, with what it cost the service.
#[derive(Debug)]
pub struct GuardedCall {
    /// `list_tools`, or the name of the tool called.
    pub what: String,
    /// The call's error; `None` when it returned a value (maybe the fallback's).
    pub error: Option<McpStoreError>,
    /// Connection attempts the client made during the call.
    pub connect_attempts: u32,
    /// Requests the server answered during the call.
    pub requests_served: u32,
}

/// The breaker's part of the story.
#[derive(Debug)]
pub struct BreakerReport {
    /// Calls made once the breaker had opened, while the service was down: `list_tools`
    /// then `echo`.
    pub while_open: Vec<GuardedCall>,
    /// What `list_tools` returned while the breaker was open.
    pub tools_while_open: Vec<ToolInfo>,
    /// The first call after the service came back and the open period ended: `list_tools`,
    /// let through as the half-open probe.
    pub probe: GuardedCall,
    /// What the probe returned.
    pub tools_after_return: Vec<ToolInfo>,
    /// What `echo` returned once the breaker had closed.
    pub echoed_after_return: Value,
    /// The breaker's counts at the end.
    pub metrics: BreakerMetrics,
}

/// How long the scenario waits, at most, for the breaker's open period to end: far longer
/// than it takes, so a loaded machine cannot fail it.
const OPEN_PERIOD_WAIT: Duration = Duration::from_secs(10);

/// Requests the server answers before it goes down: the tool list, `echo`, `read_file`, an
/// unknown tool, and the burst.
const REQUESTS_BEFORE_DOWN: u32 = 4 + BURST;

/// Starts the demo server, talks to it through a [`ToolClient`] until it goes down, keeps
/// calling while the client's breaker is open, restarts the server and waits for the breaker
/// to close, then exports what the global collector (where the client's `#[collect_errors]`
/// reports) saw into `export_dir`.
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
    let mut server = ToolServer::start(plan.clone())?;
    let client = ToolClient::new(SERVICE, server.address());
    step(format!(
        "connecting to '{SERVICE}' at {}; it refuses connections for its first {:?}",
        server.address().get(),
        plan.refuse_for
    ));
    client.connect()?;
    let connect_attempts = client.connect_attempts();
    let first_attempt_refused = match (client.first_connect_attempt(), server.refused_until()) {
        (Some(first), Some(refused_until)) => first < refused_until,
        _ => false,
    };
    step(format!("connected after {connect_attempts} attempts"));

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
    call("echo", json!({"text": "anyone there?"}), true);
    step("listing tools again, now that the service is down".to_owned());
    let tools_offline = client.list_tools()?;
    step(format!("got {} tools", tools_offline.len()));

    step("while the breaker is open, calls fail at once, without connecting:".to_owned());
    let mut tools_while_open = Vec::new();
    let listed = guarded(&client, &server, "list_tools", || {
        client.list_tools().map(|tools| tools_while_open = tools)
    });
    step(format!(
        "  list_tools got {} tools from the cache ({} connection attempts)",
        tools_while_open.len(),
        listed.connect_attempts
    ));
    let echo = guarded(&client, &server, "echo", || {
        client
            .call_tool("echo", json!({"text": "still there?"}))
            .map(drop)
    });
    if let Some(error) = &echo.error {
        step(format!(
            "  echo failed ({} connection attempts): {error}",
            echo.connect_attempts
        ));
    }
    let while_open = vec![listed, echo];

    server.restart()?;
    step("waiting for the breaker's open period to end".to_owned());
    wait_until_probing(&client)?;
    let mut tools_after_return = Vec::new();
    let probe = guarded(&client, &server, "list_tools", || {
        client.list_tools().map(|tools| tools_after_return = tools)
    });
    step(format!(
        "the probe listed {} tools from the server; the breaker is {}",
        tools_after_return.len(),
        client.breaker().state()
    ));
    let echoed_after_return = client.call_tool("echo", json!({"text": "welcome back"}))?;
    step(format!("echo returned {echoed_after_return}"));
    let breaker = BreakerReport {
        while_open,
        tools_while_open,
        probe,
        tools_after_return,
        echoed_after_return,
        metrics: client.breaker().metrics(),
    };
    drop(server);

    let summary = collector.summary(Duration::from_secs(3600));
    std::fs::create_dir_all(export_dir)?;
    let export_path = collector.export_default(export_dir)?;
    let alerts = std::mem::take(&mut *alerts.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(ScenarioReport {
        connect_attempts,
        first_attempt_refused,
        tools_online,
        echoed,
        call_errors,
        down_before_offline_list,
        tools_offline,
        breaker,
        alerts,
        summary,
        export_path,
    })
}

/// Runs `call` and counts what it cost the service.
fn guarded(
    client: &ToolClient,
    server: &ToolServer,
    what: &str,
    call: impl FnOnce() -> Result<(), McpStoreError>,
) -> GuardedCall {
    let (attempts, served) = (client.connect_attempts(), server.requests_served());
    let error = call().err();
    GuardedCall {
        what: what.to_owned(),
        error,
        connect_attempts: client.connect_attempts() - attempts,
        requests_served: server.requests_served() - served,
    }
}

/// Waits until the client's breaker would let a probe through; an `Err` if it does not
/// within [`OPEN_PERIOD_WAIT`].
fn wait_until_probing(client: &ToolClient) -> Result<(), McpStoreError> {
    let breaker = client.breaker();
    let deadline = Instant::now() + OPEN_PERIOD_WAIT;
    while breaker.state() == CircuitState::Open {
        if Instant::now() >= deadline {
            return Err(McpStoreError::new(
                ErrorKind::CircuitOpen,
                format!("the breaker stayed open for more than {OPEN_PERIOD_WAIT:?}"),
            ));
        }
        std::thread::sleep(BREAKER_OPEN_FOR / 30);
    }
    Ok(())
}

fn step(message: String) {
    tracing::info!(target: "demo::quickstart", "{message}");
}

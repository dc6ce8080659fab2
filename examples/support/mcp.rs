//! A client of the rmcp tool server ([`crate::mcp_server`]) written as a user of rmcp would,
//! with the attributes on its methods, and the `mcp_client` scenario run by the example (which
//! prints it) and by a test (which checks it).
//!
//! The server is a child process over stdio. When its transport closes, rmcp's session is
//! dead for good, so a call that sees [`ErrorKind::Connection`] drops the session and the next
//! attempt spawns a new server: retrying on `Connection` means reconnecting.

use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use mcpstore_errors::rmcp::{McpCall, check_tool_result};
use mcpstore_errors::{
    CacheIdentity, ErrorCollector, ErrorKind, McpStoreError, circuit_breaker, collect_errors,
    fallback, retry,
};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientRequest, Request, ServerResult};
use rmcp::service::{PeerRequestOptions, RunningService, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::{TokioChildProcess, Transport};
use rmcp::{Peer, RoleClient, ServiceError, ServiceExt};
use serde_json::Value;
use tokio::process::Command;
use tokio::sync::watch;

use crate::mcp_server::FLAKY_FAILURES_VAR;

/// Where the client's `#[collect_errors]` records, apart from the global collector so the
/// scenario's figures are its own.
pub static MCP_COLLECTOR: LazyLock<ErrorCollector> = LazyLock::new(|| ErrorCollector::new(1000));

/// The name the demo service goes by.
pub const SERVICE: &str = "rmcp-tools";

/// How long a new server has to answer `initialize`. The session lock is held meanwhile, so
/// a server that never answers must not keep every caller waiting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerCommand {
    /// The program (the `mcp_tool_server` binary, or the example itself with `--serve`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// How many `flaky` calls fail in each server process.
    pub flaky_failures: u32,
}

/// The outcome of one attempt: `None` when it succeeded, else the kind of its error.
pub type Attempt = Option<ErrorKind>;

/// A connection to the tool server, respawned when it is lost.
pub struct McpToolClient {
    service: String,
    command: ServerCommand,
    // A tokio mutex: held across the spawn so two callers never start two servers.
    session: tokio::sync::Mutex<Option<Session>>,
    generation: AtomicU64,
    spawns: AtomicU32,
    attempts: Mutex<Vec<(&'static str, Attempt)>>,
}

/// Cached answers belong to the service, whichever client fetched them.
impl CacheIdentity for McpToolClient {
    type Id = String;
    fn cache_identity(&self) -> String {
        self.service.clone()
    }
}

struct Session {
    generation: u64,
    pid: Option<u32>,
    running: RunningService<RoleClient, ()>,
    ended: watch::Receiver<()>,
}

/// The child process transport, telling [`Session::ended`] when rmcp's service loop is done
/// with it (it is dropped when the loop ends, however it ends).
///
/// A request handed to the session as its loop ends may never complete: rmcp's channel can
/// take it after the loop stopped reading (a send that reserved its slot before the receiver
/// closed), and the request's handle keeps that channel, and the request's responder in it,
/// alive. Waiting for the loop's end as well as for the response bounds every request.
struct WatchedTransport {
    inner: TokioChildProcess,
    _alive: watch::Sender<()>,
}

impl Transport<RoleClient> for WatchedTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.inner.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

impl fmt::Debug for McpToolClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpToolClient")
            .field("service", &self.service)
            .field("command", &self.command)
            .field("spawns", &self.spawns)
            .finish_non_exhaustive()
    }
}

impl McpToolClient {
    /// A client of `service`, started with `command`, not connected yet.
    pub fn new(service: impl Into<String>, command: ServerCommand) -> Self {
        McpToolClient {
            service: service.into(),
            command,
            session: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            spawns: AtomicU32::new(0),
            attempts: Mutex::new(Vec::new()),
        }
    }

    /// How many server processes were started (or tried).
    pub fn spawns(&self) -> u32 {
        self.spawns.load(Ordering::SeqCst)
    }

    /// The attempts made so far by the annotated method `operation`, oldest first.
    pub fn attempts(&self, operation: &str) -> Vec<Attempt> {
        self.lock_attempts()
            .iter()
            .filter(|(op, _)| *op == operation)
            .map(|(_, attempt)| *attempt)
            .collect()
    }

    /// Forgets the attempts recorded so far.
    pub fn clear_attempts(&self) {
        self.lock_attempts().clear();
    }

    fn lock_attempts(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, Attempt)>> {
        self.attempts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record<T>(&self, operation: &'static str, outcome: &Result<T, McpStoreError>) {
        let attempt = outcome.as_ref().err().map(McpStoreError::kind);
        self.lock_attempts().push((operation, attempt));
    }

    /// Starts the server and the MCP session unless one is running. A missing server binary is
    /// [`ErrorKind::Configuration`] (not retried); a failed handshake is
    /// [`ErrorKind::ServiceStart`] (retried).
    #[collect_errors(collector = &MCP_COLLECTOR, context = {"operation": "connect"})]
    #[retry(max_attempts = 3, delay = "5ms", jitter = false, on = [ServiceStart])]
    pub async fn connect(&self) -> Result<(), McpStoreError> {
        self.session().await.map(|_| ())
    }

    /// The current session's generation, peer and end signal, starting one when there is none.
    async fn session(&self) -> Result<(u64, Peer<RoleClient>, watch::Receiver<()>), McpStoreError> {
        let mut slot = self.session.lock().await;
        if slot.is_none() {
            *slot = Some(self.spawn().await?);
        }
        let session = slot.as_ref().expect("just filled");
        Ok((
            session.generation,
            session.running.peer().clone(),
            session.ended.clone(),
        ))
    }

    async fn spawn(&self) -> Result<Session, McpStoreError> {
        self.spawns.fetch_add(1, Ordering::SeqCst);
        let mut command = Command::new(&self.command.program);
        command
            .args(&self.command.args)
            .env(FLAKY_FAILURES_VAR, self.command.flaky_failures.to_string());
        let (transport, _stderr) = TokioChildProcess::builder(command)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|io| {
                // NotFound or PermissionDenied: Configuration, from `From<io::Error>`.
                McpStoreError::from(io).with_detail("service_name", self.service.clone())
            })?;
        let pid = transport.id();
        let (alive, ended) = watch::channel(());
        let transport = WatchedTransport {
            inner: transport,
            _alive: alive,
        };
        // On a timeout the transport is dropped, which kills the child.
        let running = tokio::time::timeout(HANDSHAKE_TIMEOUT, ().serve(transport))
            .await
            .map_err(|_elapsed| {
                McpStoreError::service_start_failed(
                    &self.service,
                    format!("no answer to initialize within {HANDSHAKE_TIMEOUT:?}"),
                )
            })?
            .map_err(|error| McpStoreError::from_rmcp_initialize(error, Some(&self.service)))?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Session {
            generation,
            pid,
            running,
            ended,
        })
    }

    /// Drops the session of `generation` (not a newer one another caller already started).
    async fn forget_session(&self, generation: u64) {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_some_and(|s| s.generation == generation) {
            *slot = None;
        }
    }

    /// Kills the server process with `SIGKILL`, without telling the session: the next call
    /// finds the transport closed. Returns the killed process id.
    pub async fn kill_server(&self) -> Result<u32, McpStoreError> {
        let pid = {
            let slot = self.session.lock().await;
            slot.as_ref().and_then(|s| s.pid)
        };
        let pid = pid.ok_or_else(|| McpStoreError::connection("no server process to kill"))?;
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .await?;
        match status.success() {
            true => Ok(pid),
            false => Err(McpStoreError::new(
                ErrorKind::ServiceStop,
                format!("kill -KILL {pid} failed: {status}"),
            )),
        }
    }

    /// Closes the session: the server sees its stdin close and exits.
    pub async fn close(&self) {
        let session = self.session.lock().await.take();
        if let Some(session) = session {
            let _ = session.running.cancel().await;
        }
    }

    /// One `tools/call` of `tool`, unannotated: rmcp's errors mapped with
    /// [`McpStoreError::from_rmcp`], a result flagged `is_error` checked with
    /// [`check_tool_result`], and the session dropped when the connection is lost.
    /// `timeout` is rmcp's per-request timeout.
    pub async fn call_once(
        &self,
        tool: &str,
        arguments: Value,
        timeout: Option<Duration>,
    ) -> Result<CallToolResult, McpStoreError> {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        match arguments {
            Value::Object(map) => params = params.with_arguments(map),
            Value::Null => {}
            other => {
                return Err(McpStoreError::configuration(format!(
                    "tool arguments must be a JSON object, not {other}"
                )));
            }
        }
        let (generation, peer, mut ended) = self.session().await?;
        let options = timeout.map_or_else(PeerRequestOptions::no_options, |timeout| {
            PeerRequestOptions::with_timeout(timeout)
        });
        let request = ClientRequest::CallToolRequest(Request::new(params));
        let exchange = async {
            match peer.send_request_with_option(request, options).await {
                Ok(handle) => handle.await_response().await,
                Err(error) => Err(error),
            }
        };
        let response = tokio::select! {
            // An answer that came before the session ended wins.
            biased;
            response = exchange => response,
            // Never sends, so this only returns when the service loop dropped the transport:
            // nothing will answer now (see `WatchedTransport`).
            _ = ended.changed() => Err(ServiceError::TransportClosed),
        };
        let result = match response {
            Ok(ServerResult::CallToolResult(result)) => Ok(result),
            Ok(_) => Err(ServiceError::UnexpectedResponse),
            Err(error) => Err(error),
        };
        let result = result
            .map_err(|error| McpStoreError::from_rmcp(error, McpCall::tool(&self.service, tool)));
        if result
            .as_ref()
            .is_err_and(|e| e.kind() == ErrorKind::Connection)
        {
            self.forget_session(generation).await;
        }
        check_tool_result(result?, &self.service, tool)
    }

    /// `flaky`, which is safe to repeat, so retried on tool failures too; when the retries run
    /// out, the last good answer (for ten minutes).
    #[collect_errors(collector = &MCP_COLLECTOR, context = {"operation": "flaky"})]
    #[fallback(cache(ttl = "10m"))]
    #[retry(max_attempts = 3, delay = "5ms", jitter = false, on = [Connection, ServiceTimeout, ToolExecution])]
    #[circuit_breaker(service = self.service)]
    pub async fn flaky(&self) -> Result<String, McpStoreError> {
        let outcome = self.call_once("flaky", Value::Null, None).await.map(text);
        self.record("flaky", &outcome);
        outcome
    }

    /// `echo`: retried only when the connection was lost, which reconnects.
    #[collect_errors(collector = &MCP_COLLECTOR, context = {"operation": "echo"})]
    #[retry(max_attempts = 3, delay = "5ms", jitter = false, on = [Connection])]
    #[circuit_breaker(service = self.service)]
    pub async fn echo(&self, arguments: Value) -> Result<String, McpStoreError> {
        let outcome = self.call_once("echo", arguments, None).await.map(text);
        self.record("echo", &outcome);
        outcome
    }

    /// `slow`, with rmcp's per-request `timeout`; a timeout is retried once.
    #[collect_errors(collector = &MCP_COLLECTOR, context = {"operation": "slow"})]
    #[retry(max_attempts = 2, delay = "5ms", jitter = false, on = [Connection, ServiceTimeout])]
    #[circuit_breaker(service = self.service)]
    pub async fn slow(&self, millis: u64, timeout: Duration) -> Result<String, McpStoreError> {
        let arguments = serde_json::json!({ "millis": millis });
        let outcome = self
            .call_once("slow", arguments, Some(timeout))
            .await
            .map(text);
        self.record("slow", &outcome);
        outcome
    }

    /// Any tool by name. Not retried: an unknown tool stays unknown.
    #[collect_errors(collector = &MCP_COLLECTOR, context = {"operation": "call_tool"})]
    pub async fn call_tool(&self, tool: &str, arguments: Value) -> Result<String, McpStoreError> {
        let outcome = self.call_once(tool, arguments, None).await.map(text);
        self.record("call_tool", &outcome);
        outcome
    }
}

/// The text content of a tool result, joined by newlines.
pub fn text(result: CallToolResult) -> String {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|block| block.as_text())
        .map(|text| text.text.as_str())
        .collect();
    texts.join("\n")
}

/// What the scenario saw, for the example to print and the test to check.
#[derive(Debug)]
pub struct McpReport {
    /// `flaky` on the first server: fails twice, then answers.
    pub flaky_first: Result<String, McpStoreError>,
    /// Its attempts.
    pub flaky_first_attempts: Vec<Attempt>,
    /// The process id of the server killed mid-session.
    pub killed_pid: u32,
    /// `flaky` after the kill: the closed transport, then a new server that fails twice, so the
    /// cache answers.
    pub flaky_after_kill: Result<String, McpStoreError>,
    /// Its attempts.
    pub flaky_after_kill_attempts: Vec<Attempt>,
    /// `echo` on the new server.
    pub echo: Result<String, McpStoreError>,
    /// `echo` with a number where a string is expected.
    pub bad_arguments: Result<String, McpStoreError>,
    /// Its attempts.
    pub bad_arguments_attempts: Vec<Attempt>,
    /// A tool the server does not have.
    pub unknown_tool: Result<String, McpStoreError>,
    /// Its attempts.
    pub unknown_tool_attempts: Vec<Attempt>,
    /// `slow` sleeping longer than the request timeout.
    pub slow: Result<String, McpStoreError>,
    /// Its attempts.
    pub slow_attempts: Vec<Attempt>,
    /// The request timeout given to `slow`.
    pub slow_timeout: Duration,
    /// Server processes started by the client.
    pub spawns: u32,
    /// Connecting with a server binary that does not exist.
    pub missing_binary: Result<(), McpStoreError>,
    /// Spawn attempts for the missing binary.
    pub missing_binary_spawns: u32,
    /// The collector's counts per error type over the scenario.
    pub collected: std::collections::BTreeMap<String, u64>,
}

impl McpReport {
    /// Whether `flaky` after the kill was answered by the cache: it succeeded although its
    /// last attempt failed.
    pub fn flaky_served_from_cache(&self) -> bool {
        self.flaky_after_kill.is_ok() && self.flaky_after_kill_attempts.last() != Some(&None)
    }
}

/// Runs the story against the server started by `command` (with `flaky_failures` 2),
/// narrating each step as a `tracing` event. Clears [`MCP_COLLECTOR`] first.
pub async fn run(command: ServerCommand) -> Result<McpReport, McpStoreError> {
    MCP_COLLECTOR.clear();
    let client = McpToolClient::new(SERVICE, command.clone());
    step(format!(
        "starting '{SERVICE}' ({}) as a child process over stdio",
        command.program.display()
    ));
    client.connect().await?;

    let flaky_first = client.flaky().await;
    let flaky_first_attempts = client.attempts("flaky");
    step(format!(
        "flaky: {} after {} attempts",
        show(&flaky_first),
        flaky_first_attempts.len()
    ));

    let killed_pid = client.kill_server().await?;
    step(format!("killed the server (pid {killed_pid}) mid-session"));
    client.clear_attempts();
    let flaky_after_kill = client.flaky().await;
    let flaky_after_kill_attempts = client.attempts("flaky");
    step(format!(
        "flaky again: attempts {:?}, then {}",
        flaky_after_kill_attempts,
        show(&flaky_after_kill)
    ));

    let echo = client.echo(serde_json::json!({"text": "hello"})).await;
    step(format!("echo on the new server: {}", show(&echo)));

    let bad_arguments = client.echo(serde_json::json!({"text": 5})).await;
    let bad_arguments_attempts = client.attempts("echo")[1..].to_vec();
    step(format!("echo with a number: {}", show(&bad_arguments)));

    let unknown_tool = client
        .call_tool("does_not_exist", serde_json::json!({}))
        .await;
    let unknown_tool_attempts = client.attempts("call_tool");
    step(format!("an unknown tool: {}", show(&unknown_tool)));

    let slow_timeout = Duration::from_millis(50);
    let slow = client.slow(1_000, slow_timeout).await;
    let slow_attempts = client.attempts("slow");
    step(format!(
        "slow (1 s) with a {slow_timeout:?} request timeout: {} after {} attempts",
        show(&slow),
        slow_attempts.len()
    ));
    let spawns = client.spawns();
    client.close().await;

    let missing = McpToolClient::new(
        "missing",
        ServerCommand {
            program: PathBuf::from("/nonexistent/mcp-server-that-is-not-installed"),
            args: Vec::new(),
            flaky_failures: 0,
        },
    );
    let missing_binary = missing.connect().await;
    step(format!(
        "a server binary that does not exist: {}",
        show(&missing_binary)
    ));

    Ok(McpReport {
        flaky_first,
        flaky_first_attempts,
        killed_pid,
        flaky_after_kill,
        flaky_after_kill_attempts,
        echo,
        bad_arguments,
        bad_arguments_attempts,
        unknown_tool,
        unknown_tool_attempts,
        slow,
        slow_attempts,
        slow_timeout,
        spawns,
        missing_binary,
        missing_binary_spawns: missing.spawns(),
        collected: MCP_COLLECTOR.statistics(),
    })
}

fn show<T: fmt::Debug>(outcome: &Result<T, McpStoreError>) -> String {
    match outcome {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("{} ({})", error.kind(), error),
    }
}

fn step(message: String) {
    tracing::info!(target: "demo::mcp", "{message}");
}

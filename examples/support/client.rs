//! A client of the demo tool server, with the attributes on its methods as a user would put them.
//!
//! The methods that talk to the service go through its circuit breaker, kept in the client's
//! own [`BreakerRegistry`] (so two clients, or two tests, never share a breaker's window).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use mcpstore_errors::{
    BreakerRegistry, CacheIdentity, CircuitBreaker, CircuitBreakerConfig, ErrorKind, McpStoreError,
    SlidingWindow, circuit_breaker, collect_errors, fallback, retry,
};

use crate::server::ServerAddress;

/// Every socket operation gives up after this long, so nothing can hang.
const IO_TIMEOUT: Duration = Duration::from_secs(1);

/// A tool as listed by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// The tool's name, used in `call_tool`.
    pub name: String,
    /// What it does.
    pub description: String,
}

/// How long the demo's breaker stays open after it trips, before it lets a probe through.
pub const BREAKER_OPEN_FOR: Duration = Duration::from_millis(200);

/// The demo's breaker: it opens when at least half of the last four calls failed to reach the
/// service, and probes again after [`BREAKER_OPEN_FOR`] (doubled after a failed probe, up to
/// a second). Short periods keep the demo fast; a real service would use seconds.
pub fn breaker_config() -> CircuitBreakerConfig {
    CircuitBreakerConfig::new()
        .window(SlidingWindow::Count(4))
        .minimum_calls(4)
        .failure_rate(0.5)
        .open_duration(BREAKER_OPEN_FOR)
        .max_open_duration(Duration::from_secs(1))
        .jitter(0.0)
}

/// A connection to one tool service, made again on demand after it was lost.
#[derive(Debug)]
pub struct ToolClient {
    service: String,
    address: ServerAddress,
    connection: Mutex<Option<Connection>>,
    connect_attempts: AtomicU32,
    first_connect_attempt: OnceLock<Instant>,
    next_id: AtomicU64,
    breakers: BreakerRegistry,
}

/// `list_tools`'s cached answers belong to the service, whichever client fetched them.
impl CacheIdentity for ToolClient {
    type Id = String;
    fn cache_identity(&self) -> String {
        self.service.clone()
    }
}

#[derive(Debug)]
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl ToolClient {
    /// A client of `service` at `address`, not connected yet, with a breaker made from
    /// [`breaker_config`].
    pub fn new(service: impl Into<String>, address: ServerAddress) -> Self {
        ToolClient {
            service: service.into(),
            address,
            connection: Mutex::new(None),
            connect_attempts: AtomicU32::new(0),
            first_connect_attempt: OnceLock::new(),
            next_id: AtomicU64::new(1),
            breakers: BreakerRegistry::new(breaker_config()),
        }
    }

    /// The circuit breaker that guards [`list_tools`](Self::list_tools) and
    /// [`call_tool`](Self::call_tool).
    pub fn breaker(&self) -> CircuitBreaker {
        self.breakers.breaker(&self.service)
    }

    /// Connects, retrying refused connections every 100 ms for up to two seconds.
    ///
    /// Not behind the breaker: a service that is still starting refuses a few connections by
    /// design, and the breaker would open on them.
    #[collect_errors(context = {"operation": "connect"})]
    #[retry(max_attempts = 20, strategy = fixed, delay = "100ms", jitter = false, on = [Connection])]
    pub fn connect(&self) -> Result<(), McpStoreError> {
        self.connect_once()
    }

    /// One connection attempt: a refused connection is a [`ErrorKind::Connection`] error with
    /// the `io::Error` as its source.
    pub fn connect_once(&self) -> Result<(), McpStoreError> {
        let connection = self.open()?;
        *self.lock() = Some(connection);
        Ok(())
    }

    fn open(&self) -> Result<Connection, McpStoreError> {
        self.connect_attempts.fetch_add(1, Ordering::Relaxed);
        self.first_connect_attempt.get_or_init(Instant::now);
        let address = self.address.get();
        let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT).map_err(|io| {
            McpStoreError::connection(format!(
                "Cannot connect to service '{}' at {address}",
                self.service
            ))
            .with_source(io)
        })?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let writer = stream.try_clone()?;
        Ok(Connection {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// How many connection attempts were made.
    pub fn connect_attempts(&self) -> u32 {
        self.connect_attempts.load(Ordering::Relaxed)
    }

    /// When the first connection attempt was made, if one was.
    pub fn first_connect_attempt(&self) -> Option<Instant> {
        self.first_connect_attempt.get().copied()
    }

    /// The service's tools. A lost connection is retried (on a new one); while the service is
    /// unreachable or its breaker is open, the list comes from the cache for ten minutes, and
    /// is empty when there is no cache either.
    #[collect_errors(context = {"operation": "list_tools"})]
    #[fallback(cache(ttl = "10m"), default)]
    #[retry(max_attempts = 3, strategy = fixed, delay = "20ms", jitter = false, on = [Connection])]
    #[circuit_breaker(service = self.service, registry = &self.breakers)]
    pub fn list_tools(&self) -> Result<Vec<ToolInfo>, McpStoreError> {
        let result = self
            .request("list_tools", Value::Null)
            .map_err(|error| self.service_error(error))?;
        serde_json::from_value(result).map_err(|e| {
            McpStoreError::tool_execution_failed("list_tools", "malformed tool list", None)
                .with_source(e)
        })
    }

    /// Calls `tool` with `arguments`; fails at once with [`ErrorKind::CircuitOpen`] while the
    /// breaker is open. Not retried: a tool call may have side effects.
    #[collect_errors(context = {"operation": "call_tool"})]
    #[circuit_breaker(service = self.service, registry = &self.breakers)]
    pub fn call_tool(&self, tool: &str, arguments: Value) -> Result<Value, McpStoreError> {
        self.request("call_tool", json!({"name": tool, "arguments": arguments}))
            .map_err(|error| self.tool_error(tool, error))
    }

    fn service_error(&self, error: ServerError) -> McpStoreError {
        match error {
            ServerError::Transport(error) => error,
            ServerError::Reply(reply) => McpStoreError::new(
                ErrorKind::Service,
                format!("Service '{}' replied with an error: {reply}", self.service),
            ),
        }
    }

    fn tool_error(&self, tool: &str, error: ServerError) -> McpStoreError {
        match error {
            ServerError::Transport(error) => error,
            ServerError::Reply(reply) => match reply["code"].as_str() {
                Some("TOOL_NOT_FOUND") => McpStoreError::tool_not_found(tool, Some(&self.service)),
                _ => McpStoreError::tool_execution_failed(
                    tool,
                    reply["reason"].as_str().unwrap_or("unknown reason"),
                    reply["output"].as_str(),
                ),
            },
        }
    }

    /// Sends one request and reads its response line, connecting first if the last
    /// connection was lost.
    fn request(&self, method: &str, params: Value) -> Result<Value, ServerError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut guard = self.lock();
        let mut connection = match guard.take() {
            Some(connection) => connection,
            None => self.open()?,
        };
        // One write per request: split writes would wait on Nagle's algorithm.
        let line = format!(
            "{}\n",
            json!({"id": id, "method": method, "params": params})
        );
        let mut response = String::new();
        let exchanged = connection
            .writer
            .write_all(line.as_bytes())
            .and_then(|()| connection.reader.read_line(&mut response));
        let lost = match exchanged {
            Ok(0) => Some(McpStoreError::connection(format!(
                "Service '{}' closed the connection",
                self.service
            ))),
            Ok(_) => None,
            Err(io) => Some(
                McpStoreError::connection(format!("Lost connection to service '{}'", self.service))
                    .with_source(io),
            ),
        };
        if let Some(lost) = lost {
            // The connection is gone: the next request opens a new one.
            return Err(ServerError::Transport(lost));
        }
        *guard = Some(connection);
        let mut reply: Value = serde_json::from_str(&response).map_err(McpStoreError::from)?;
        match reply.get_mut("error") {
            Some(error) => Err(ServerError::Reply(error.take())),
            None => Ok(reply["result"].take()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a request can fail with: the transport, or an error reply of the server.
enum ServerError {
    Transport(McpStoreError),
    Reply(Value),
}

impl From<McpStoreError> for ServerError {
    fn from(error: McpStoreError) -> Self {
        ServerError::Transport(error)
    }
}

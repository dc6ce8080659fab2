//! A tiny line-based JSON-RPC tool server on 127.0.0.1, MCP in spirit: it refuses connections
//! for its first moments, serves `list_tools` and `call_tool`, fails some calls, goes down
//! after a fixed number of requests, and comes back on the same address when told to
//! ([`ToolServer::restart`]).
//!
//! One request per line, one response per line:
//!
//! ```text
//! → {"id":1,"method":"list_tools"}
//! ← {"id":1,"result":[{"name":"echo","description":"…"}, …]}
//! → {"id":2,"method":"call_tool","params":{"name":"search","arguments":{"query":"x"}}}
//! ← {"id":2,"error":{"code":"TOOL_EXECUTION_FAILED","reason":"index is rebuilding","output":null}}
//! ```

use std::io::{BufRead, BufReader, ErrorKind as IoErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use mcpstore_errors::McpStoreError;

/// How often the server's loops look at the stop flag.
const POLL: Duration = Duration::from_millis(10);

/// How the demo server behaves over its short life.
#[derive(Debug, Clone)]
pub struct ServerPlan {
    /// How long connections are refused after start.
    pub refuse_for: Duration,
    /// The server goes down right after answering this many requests, and stays down until
    /// [`ToolServer::restart`]; once restarted, it stays up.
    pub requests_before_down: u32,
}

/// Where the server listens. The port can change once, if the first one was taken while the
/// server was refusing connections; clients read it on every connection attempt.
#[derive(Debug, Clone)]
pub struct ServerAddress(Arc<AtomicU16>);

impl ServerAddress {
    /// The current address.
    pub fn get(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.0.load(Ordering::Acquire)))
    }
}

/// A running demo server; stopped and joined when dropped.
#[derive(Debug)]
pub struct ToolServer {
    address: ServerAddress,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    down: AtomicBool,
    /// Requests answered, over every life of the server.
    served: AtomicU32,
    /// Connections accepted, over every life of the server.
    accepted: AtomicU32,
    /// The server goes down when `served` reaches this.
    down_at: AtomicU32,
    /// Taken just before the first life binds its port: connections before it were refused.
    refused_until: OnceLock<Instant>,
}

impl ToolServer {
    /// Reserves a free port, starts refusing connections on it, and serves after
    /// `plan.refuse_for`.
    pub fn start(plan: ServerPlan) -> Result<ToolServer, McpStoreError> {
        let reserved = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = reserved.local_addr()?.port();
        // Dropping the listener frees the port: connecting now is refused.
        drop(reserved);
        let address = ServerAddress(Arc::new(AtomicU16::new(port)));
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            down: AtomicBool::new(false),
            served: AtomicU32::new(0),
            accepted: AtomicU32::new(0),
            down_at: AtomicU32::new(plan.requests_before_down),
            refused_until: OnceLock::new(),
        });
        let thread = std::thread::Builder::new()
            .name("demo-tool-server".into())
            .spawn({
                let (address, shared) = (address.clone(), Arc::clone(&shared));
                move || run(plan, address, shared)
            })?;
        Ok(ToolServer {
            address,
            shared,
            thread: Some(thread),
        })
    }

    /// Where clients connect.
    pub fn address(&self) -> ServerAddress {
        self.address.clone()
    }

    /// How many requests were answered.
    pub fn requests_served(&self) -> u32 {
        self.shared.served.load(Ordering::Acquire)
    }

    /// How many connections were accepted.
    pub fn connections_accepted(&self) -> u32 {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// Until when connections were surely refused (the port not yet bound), once the server
    /// has started listening.
    pub fn refused_until(&self) -> Option<Instant> {
        self.shared.refused_until.get().copied()
    }

    /// Whether the server has gone down.
    pub fn is_down(&self) -> bool {
        self.shared.down.load(Ordering::Acquire)
    }

    /// Brings a server that went down back up, on the same address if it is still free (else
    /// on another port, published through [`address`](Self::address)). It is listening when
    /// this returns, and stays up until dropped. An `Err` if it is not down.
    pub fn restart(&mut self) -> Result<(), McpStoreError> {
        if !self.is_down() {
            return Err(McpStoreError::configuration(
                "the demo server is not down: nothing to restart",
            ));
        }
        // The old life has ended (or is ending: its connections close within a poll).
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let listener = listen(&self.address)
            .ok_or_else(|| McpStoreError::connection("the demo server could not listen again"))?;
        self.shared.down_at.store(u32::MAX, Ordering::Release);
        self.shared.down.store(false, Ordering::Release);
        tracing::info!(target: "demo::server", "tool server is back on {}", self.address.get());
        self.thread = Some(
            std::thread::Builder::new()
                .name("demo-tool-server".into())
                .spawn({
                    let shared = Arc::clone(&self.shared);
                    move || accept_loop(listener, &shared)
                })?,
        );
        Ok(())
    }
}

impl Drop for ToolServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(plan: ServerPlan, address: ServerAddress, shared: Arc<Shared>) {
    let started = Instant::now();
    while started.elapsed() < plan.refuse_for {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        std::thread::sleep(POLL);
    }
    shared.refused_until.get_or_init(Instant::now);
    let Some(listener) = listen(&address) else {
        shared.down.store(true, Ordering::Release);
        return;
    };
    tracing::info!(target: "demo::server", "tool server is up on {}", address.get());
    accept_loop(listener, &shared);
}

/// Accepts connections, one thread each, until the server stops or goes down.
fn accept_loop(listener: TcpListener, shared: &Arc<Shared>) {
    let mut connections = Vec::new();
    while !shared.stop.load(Ordering::Acquire) && !shared.down.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.accepted.fetch_add(1, Ordering::AcqRel);
                let shared = Arc::clone(shared);
                connections.push(std::thread::spawn(move || serve(stream, &shared)));
            }
            Err(e) if e.kind() == IoErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                tracing::warn!(target: "demo::server", "accept failed: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
    // Going down: new connections are refused, open ones are closed by their threads.
    drop(listener);
    shared.down.store(true, Ordering::Release);
    for connection in connections {
        let _ = connection.join();
    }
}

/// Binds the reserved port again; if something took it meanwhile, any free port, published
/// through `address` so clients follow.
fn listen(address: &ServerAddress) -> Option<TcpListener> {
    let listener = match TcpListener::bind(address.get()) {
        Ok(listener) => listener,
        Err(taken) => {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
            let port = listener.local_addr().ok()?.port();
            tracing::warn!(target: "demo::server", "port {} was taken ({taken}); moved to {port}", address.get().port());
            address.0.store(port, Ordering::Release);
            listener
        }
    };
    // Non-blocking accept, so the loop notices when it must stop.
    listener.set_nonblocking(true).ok()?;
    Some(listener)
}

fn serve(stream: TcpStream, shared: &Shared) {
    // Short read timeouts let the loop notice a stop; writes never wait long.
    if stream.set_nonblocking(false).is_err()
        || stream.set_nodelay(true).is_err()
        || stream.set_read_timeout(Some(POLL * 5)).is_err()
        || stream
            .set_write_timeout(Some(Duration::from_secs(1)))
            .is_err()
    {
        return;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while !shared.stop.load(Ordering::Acquire) && !shared.down.load(Ordering::Acquire) {
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {
                let response = respond(&line);
                line.clear();
                // Marked down before the last answer leaves, so a client that has it knows.
                let served = shared.served.fetch_add(1, Ordering::AcqRel) + 1;
                if served >= shared.down_at.load(Ordering::Acquire) {
                    tracing::info!(target: "demo::server", "tool server goes down after {served} requests");
                    shared.down.store(true, Ordering::Release);
                }
                if writer
                    .write_all(format!("{response}\n").as_bytes())
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

fn respond(line: &str) -> Value {
    let request: Value = match serde_json::from_str(line) {
        Ok(request) => request,
        Err(e) => {
            return json!({"id": null, "error": {"code": "INVALID_REQUEST", "reason": e.to_string()}});
        }
    };
    let id = request["id"].clone();
    match request["method"].as_str() {
        Some("list_tools") => json!({"id": id, "result": tool_list()}),
        Some("call_tool") => match call_tool(&request["params"]) {
            Ok(result) => json!({"id": id, "result": result}),
            Err(error) => json!({"id": id, "error": error}),
        },
        other => {
            json!({"id": id, "error": {"code": "INVALID_REQUEST", "reason": format!("unknown method {other:?}")}})
        }
    }
}

fn tool_list() -> Value {
    json!([
        {"name": "echo", "description": "Returns its `text` argument"},
        {"name": "read_file", "description": "Reads a file (there are none)"},
        {"name": "search", "description": "Searches the index (always rebuilding)"},
    ])
}

fn call_tool(params: &Value) -> Result<Value, Value> {
    let name = params["name"].as_str().unwrap_or_default();
    let arguments = &params["arguments"];
    match name {
        "echo" => Ok(arguments["text"].clone()),
        "read_file" => Err(json!({
            "code": "TOOL_EXECUTION_FAILED",
            "reason": "no such file",
            "output": format!("open {}: not found", arguments["path"].as_str().unwrap_or("?")),
        })),
        "search" => Err(json!({
            "code": "TOOL_EXECUTION_FAILED",
            "reason": "index is rebuilding",
            "output": null,
        })),
        _ => Err(json!({"code": "TOOL_NOT_FOUND"})),
    }
}

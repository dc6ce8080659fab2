//! A real MCP tool server over stdio, built with rmcp's server macros, for the `mcp_client`
//! example and the rmcp tests.
//!
//! Tools:
//! - `flaky`: fails its first `MCP_FLAKY_FAILURES` calls (default 2) in this process, then
//!   answers `"ok after N failures"`. The failure is a tool result flagged `is_error`.
//! - `slow {millis}`: sleeps `millis` (at most 60 000), then answers `"slept N ms"`.
//! - `echo {text}`: answers `text`; anything but a string is an argument error.
//!
//! There is no other tool, so any other name is rmcp's "tool not found". The server exits
//! when its standard input closes.
//!
//! `cargo run -p mcpstore-errors-examples --features rmcp --bin mcp_tool_server`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{ServiceExt, schemars, tool, tool_router};
use serde::Deserialize;

/// Longest sleep `slow` accepts, so a caller cannot park the server for ever.
const MAX_SLEEP_MS: u64 = 60_000;

#[derive(Debug)]
struct ToolServer {
    flaky_failures: u32,
    flaky_calls: AtomicU32,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct SlowArgs {
    /// How long to sleep, in milliseconds.
    millis: u64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

#[tool_router(server_handler)]
impl ToolServer {
    #[tool(description = "Fails its first calls in each server process, then succeeds")]
    fn flaky(&self) -> Result<String, String> {
        let call = self.flaky_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call <= self.flaky_failures {
            Err(format!(
                "flaky: failure {call} of {}, try again",
                self.flaky_failures
            ))
        } else {
            Ok(format!("ok after {} failures", self.flaky_failures))
        }
    }

    #[tool(description = "Sleeps for the given number of milliseconds")]
    async fn slow(&self, Parameters(SlowArgs { millis }): Parameters<SlowArgs>) -> String {
        let millis = millis.min(MAX_SLEEP_MS);
        tokio::time::sleep(Duration::from_millis(millis)).await;
        format!("slept {millis} ms")
    }

    #[tool(description = "Sends the text back")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flaky_failures = match std::env::var("MCP_FLAKY_FAILURES") {
        Ok(value) => value.parse()?,
        Err(_) => 2,
    };
    let server = ToolServer {
        flaky_failures,
        flaky_calls: AtomicU32::new(0),
    };
    // Ends when the client closes our stdin (or the session otherwise ends).
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

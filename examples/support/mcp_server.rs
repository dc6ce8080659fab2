//! A real MCP tool server over stdio, built with rmcp's server macros: the other end of the
//! `mcp_client` example and of the rmcp tests (binary `mcp_tool_server`).
//!
//! Tools:
//! - `flaky`: fails its first `flaky_failures` calls in this process, then answers
//!   `"ok after N failures"`. A failure is a tool result flagged `is_error`.
//! - `slow {millis}`: sleeps `millis` (at most 60 000), then answers `"slept N ms"`.
//! - `echo {text}`: answers `text`; anything but a string is an argument error.
//!
//! There is no other tool, so any other name is rmcp's "tool not found".

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServiceExt, schemars, tool, tool_router};
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
    async fn slow(
        &self,
        Parameters(SlowArgs { millis }): Parameters<SlowArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        let millis = millis.min(MAX_SLEEP_MS);
        // A client that timed out sends `notifications/cancelled`; stop sleeping then, or
        // rmcp's shutdown waits for this answer when the client goes away.
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(millis)) => Ok(format!("slept {millis} ms")),
            () = context.ct.cancelled() => Err("cancelled by the client".to_owned()),
        }
    }

    #[tool(description = "Sends the text back")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }
}

/// The environment variable that sets how many `flaky` calls fail (default 2).
pub const FLAKY_FAILURES_VAR: &str = "MCP_FLAKY_FAILURES";

/// Serves the tools on stdin and stdout until stdin closes, `flaky` failing its first
/// `flaky_failures` calls. Nothing else may write to stdout meanwhile.
pub async fn serve_stdio(flaky_failures: u32) -> Result<(), Box<dyn std::error::Error>> {
    let server = ToolServer {
        flaky_failures,
        flaky_calls: AtomicU32::new(0),
    };
    let running = server.serve(rmcp::transport::stdio()).await?;
    // Returns when the client closes our stdin or the session otherwise ends.
    running.waiting().await?;
    Ok(())
}

/// `flaky`'s failure count from [`FLAKY_FAILURES_VAR`], 2 when unset.
pub fn flaky_failures_from_env() -> Result<u32, std::num::ParseIntError> {
    std::env::var(FLAKY_FAILURES_VAR).map_or(Ok(2), |value| value.parse())
}

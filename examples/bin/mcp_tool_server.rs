//! A real MCP tool server over stdio (see `mcpstore_errors_examples::mcp_server`): `flaky`
//! fails its first `MCP_FLAKY_FAILURES` calls (default 2), `slow {millis}` sleeps, `echo
//! {text}` answers its text. Exits when stdin closes.
//!
//! `cargo run -p mcpstore-errors-examples --features rmcp --bin mcp_tool_server`

use mcpstore_errors_examples::mcp_server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    mcp_server::serve_stdio(mcp_server::flaky_failures_from_env()?).await
}

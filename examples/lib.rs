//! Shared pieces of the `mcpstore-errors` examples: a demo tool server, a client of it with the
//! attributes on its methods, the quickstart scenario, a readable rendering of the crate's
//! `tracing` events, and the Prometheus demo.
#![deny(missing_docs)]

#[path = "support/client.rs"]
pub mod client;
#[cfg(feature = "rmcp")]
#[path = "support/mcp.rs"]
pub mod mcp;
#[cfg(feature = "rmcp")]
#[path = "support/mcp_server.rs"]
pub mod mcp_server;
#[path = "support/narrate.rs"]
pub mod narrate;
#[cfg(feature = "metrics")]
#[path = "support/prometheus.rs"]
pub mod prometheus;
#[path = "support/scenario.rs"]
pub mod scenario;
#[path = "support/server.rs"]
pub mod server;

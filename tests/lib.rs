//! Shared helpers for the integration tests of `mcpstore-errors`.

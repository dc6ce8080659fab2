//! Shared pieces of the `mcpstore-errors` benchmarks.

//! Pieces shared by the examples of `mcpstore-errors`.

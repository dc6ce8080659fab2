//! Placeholder; filled by the foundation tests.

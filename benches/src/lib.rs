//! Shared helpers for the tickcast criterion benches.

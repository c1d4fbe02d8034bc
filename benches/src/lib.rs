//! Benchmarks comparing ringlet with tokio; see `benches/` and docs/benchmarks.md.

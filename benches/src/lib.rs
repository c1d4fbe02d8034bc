//! Benchmarks comparing ringlet with tokio; see `benches/` and docs/benchmarks.md.
//!
//! This library holds what the benchmark binaries share: running the same body on both
//! runtimes, interleaved, and reporting medians and ratios.

use std::time::Duration;

pub mod adapter;
pub mod load;
pub mod tokio_server;

/// Runs per runtime; the median is reported.
pub const REPEATS: usize = 5;

/// The median of `samples`.
///
/// # Panics
///
/// If `samples` is empty.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Whether the binary runs as a benchmark (`cargo bench`) rather than as a quick check
/// (`cargo test --benches` passes no `--bench`).
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Runs `ringlet` and `tokio` interleaved (A B A B ...), [`REPEATS`] times each, on `ops`
/// operations, and prints the per-operation medians and the ratio tokio/ringlet (above 1:
/// ringlet is faster).
pub fn compare(name: &str, ops: u64, ringlet: fn(u64) -> Duration, tokio: fn(u64) -> Duration) {
    let (mut r, mut t) = (Vec::new(), Vec::new());
    for _ in 0..REPEATS {
        r.push(ringlet(ops));
        t.push(tokio(ops));
    }
    let per_op = |d: Duration| d.as_nanos() as f64 / ops as f64;
    let (r, t) = (per_op(median(r)), per_op(median(t)));
    println!(
        "{name:<28} ringlet: {r:>9.1} ns/op   tokio: {t:>9.1} ns/op   tokio/ringlet {:.2}x",
        t / r
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(median(ms(&[5, 1, 3])), Duration::from_millis(3));
        assert_eq!(median(ms(&[4, 1, 3, 2])), Duration::from_millis(3));
    }
}

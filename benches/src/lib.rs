//! Benchmarks comparing ringlet with tokio; see `benches/` and docs/benchmarks.md.
//!
//! This library holds what the benchmark binaries share: the adapter every body is
//! written against ([`adapter`]), the harness that measures a body on each runtime
//! ([`Bench`], criterion) and the load generator's measurements ([`load`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;

pub mod adapter;
pub mod load;
pub mod tokio_server;

/// The micro-benchmarks' harness: criterion, one group per benchmark and one function per
/// runtime, each measured on the same generic body; after each group, the ratio of every
/// runtime's median time to the first one's.
///
/// A body measures `n` operations and returns the time they took (setup excluded);
/// criterion's iteration count is met by running it on batches of at most `batch`
/// operations, so a benchmark with a fixed cost per run (a 100 ms sleep) or a setup (a
/// connection) is measured on realistic batches. `cargo test --benches` runs every body
/// once (criterion's test mode); `cargo bench` measures.
pub struct Bench {
    criterion: Criterion,
    dir: PathBuf,
}

/// A body: `n` operations, their time.
pub type Body = fn(u64) -> Duration;

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Default for Bench {
    fn default() -> Self {
        Self::new()
    }
}

impl Bench {
    /// The harness, configured from the command line (`cargo bench -- --help`).
    pub fn new() -> Bench {
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("criterion");
        let criterion = Criterion::default()
            .output_directory(&dir)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .configure_from_args();
        Bench { criterion, dir }
    }

    /// Measures `bodies` (named) one after the other, and prints each one's median time
    /// per operation and its ratio to the first (`tokio/ringlet 2.40x`: ringlet is 2.4
    /// times faster).
    pub fn compare(&mut self, name: &str, batch: u64, bodies: &[(&str, Body)]) {
        let mut group = self.criterion.benchmark_group(name);
        for &(runtime, body) in bodies {
            group.bench_function(runtime, |b| {
                b.iter_custom(|iters| {
                    let (mut left, mut total) = (iters.max(1), Duration::ZERO);
                    while left > 0 {
                        let n = left.min(batch.max(1));
                        total += body(n);
                        left -= n;
                    }
                    total
                })
            });
        }
        group.finish();
        let medians: Vec<Option<f64>> = bodies
            .iter()
            .map(|(runtime, _)| median_ns(&self.dir.join(name).join(runtime)))
            .collect();
        if let Some(first) = medians[0] {
            let mut line = format!("{name:<28} {}: {first:>10.1} ns/op", bodies[0].0);
            for ((runtime, _), m) in bodies.iter().zip(&medians).skip(1) {
                if let Some(m) = m {
                    let _ = write!(
                        line,
                        "   {runtime}: {m:>10.1} ns/op  {runtime}/{} {:.2}x",
                        bodies[0].0,
                        m / first
                    );
                }
            }
            println!("{line}");
        }
    }
}

/// The median point estimate (ns per iteration) criterion saved for one benchmark, if it
/// measured one (not in test mode).
fn median_ns(dir: &Path) -> Option<f64> {
    let json = std::fs::read_to_string(dir.join("new").join("estimates.json")).ok()?;
    let after = &json[json.find("\"median\"")?..];
    let value = &after[after.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

/// Runs `f` on this thread, then restores the thread's CPU affinity to what it was: for
/// runtimes that pin the thread that builds them (ringlet's `pin_cores`), so that the next
/// benchmark starts unpinned.
pub fn keep_affinity<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: cpu_set_t is plain old data; all zeroes is the empty set.
    let mut saved: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `saved` is a live cpu_set_t of the size passed; 0 is the calling thread.
    let ok = unsafe { libc::sched_getaffinity(0, size, &mut saved) } == 0;
    let out = f();
    if ok {
        // SAFETY: as above; restoring the mask read before.
        unsafe { libc::sched_setaffinity(0, size, &saved) };
    }
    out
}

/// Pins the calling thread to CPU `cpu` modulo the CPU count (best effort: a benchmark on a
/// machine that forbids it runs unpinned).
pub fn pin_to_cpu(cpu: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    // SAFETY: cpu_set_t is plain old data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu % cpus` is below CPU_SETSIZE on any machine with fewer CPUs than that.
    unsafe { libc::CPU_SET(cpu % cpus, &mut set) };
    // SAFETY: `set` is a live cpu_set_t of the size passed; 0 is the calling thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

/// Whether the binary runs as a benchmark (`cargo bench`) rather than as a quick check
/// (`cargo test --benches` passes no `--bench`).
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The median of `samples`.
///
/// # Panics
///
/// If `samples` is empty.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
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

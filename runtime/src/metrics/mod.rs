//! What the runtime is doing, in numbers: per-worker counters of tasks, polls, parking,
//! remote work and the worker's ring (ops by kind, kernel entries by purpose, a full SQ,
//! CQ overflow, buffer-pool exhaustion), always on and cheap (each written only by its
//! own worker, without atomic read-modify-writes; read when a snapshot is taken). What
//! each counter means and costs: docs/architecture.md, "Metrics".
//!
//! ```
//! let rt = ringlet::Runtime::builder().workers(1).build()?;
//! let before = rt.metrics();
//! rt.block_on(async {
//!     for _ in 0..10 {
//!         ringlet::spawn(async {}).await.unwrap();
//!     }
//! });
//! let delta = rt.metrics().since(&before);
//! assert_eq!(delta.total(|w| w.tasks_spawned), 10);
//! assert_eq!(delta.total(|w| w.tasks_completed), 10);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Owns: the public face of the counters (`executor/metrics.rs` keeps them).

use crate::executor::context;
pub use crate::executor::metrics::{IoStats, OpStats, RuntimeMetrics, WorkerMetrics};

/// A snapshot of every worker of the current runtime, from inside it (as
/// [`Runtime::metrics`](crate::Runtime::metrics)); `None` outside a runtime.
pub fn snapshot() -> Option<RuntimeMetrics> {
    context::with_current(|core| core.set.metrics())
}

/// A snapshot of the current worker; `None` outside a runtime.
pub fn this_worker() -> Option<WorkerMetrics> {
    context::with_current(|core| core.shared.metrics(core.index))
}

mod prometheus;

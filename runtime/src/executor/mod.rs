//! The executor: tasks, run queues, wakers, and the worker loop that alternates between
//! running ready tasks and one trip into the kernel.
//!
//! Arrows point down only, in this order (each file uses only those listed after it):
//! `worker.rs` (the loop, worker threads) → `context.rs` (the current worker: spawn, its
//! ring, its timers) → `raw.rs` (the task cell) and `waker.rs` (the `block_on` waker) →
//! `queue.rs` (what other threads reach: remote queue, eventfd) → `local.rs` (the ready
//! queue, the registry, the owner thread), with `join.rs`, `inbox.rs`, `timers.rs` and
//! `stall.rs` (the stall detector), `metrics.rs` (the counters) and `task_info.rs` (task
//! ids, names, spawn locations) as leaves. Nothing here imports a module above `executor/`.
//!
//! Owns: nothing itself. Must not import from above `executor/`.

pub(crate) mod context;
mod inbox;
pub(crate) mod join;
mod local;
pub(crate) mod metrics;
pub(crate) mod queue;
mod raw;
pub(crate) mod stall;
pub(crate) mod task_info;
pub(crate) mod timers;
mod waker;
pub(crate) mod worker;

//! Per-worker counters, always on: tasks, polls, parking. Each is written by its worker's
//! thread only, with a relaxed load and store (no atomic read-modify-write on the hot
//! path), and read from any thread when a snapshot is asked for.
//!
//! Owns: [`Counters`] and the snapshot types. Must not make a counted event cost a
//! syscall or a contended cache line: only the owner writes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use uring_driver::{OpStats, Stats as IoStats};

/// One worker's counters, on cache lines of their own: other threads write the rest of
/// the worker's shared state (its remote queue), and must not bounce these.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Counters {
    started: Instant,
    spawned: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    panicked: AtomicU64,
    polls: AtomicU64,
    parks: AtomicU64,
    parked_ns: AtomicU64,
    /// While the worker sleeps: when it began, in ns since `started`, plus 1; else 0.
    parking_since: AtomicU64,
    jobs: AtomicU64,
    rearms: AtomicU64,
    /// As of the worker's last trip into the kernel.
    ready: AtomicU64,
    timers: AtomicU64,
}

/// Adds `n` to a counter only its owner thread writes (nothing when built with
/// `--cfg ringlet_no_metrics`, the build the counters' cost is measured against).
#[inline(always)]
fn add(counter: &AtomicU64, n: u64) {
    if cfg!(not(ringlet_no_metrics)) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
}

/// How a task ended, for the counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ended {
    Completed,
    Cancelled,
    Panicked,
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            started: Instant::now(),
            spawned: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            parked_ns: AtomicU64::new(0),
            parking_since: AtomicU64::new(0),
            jobs: AtomicU64::new(0),
            rearms: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            timers: AtomicU64::new(0),
        }
    }

    pub(crate) fn spawned(&self) {
        add(&self.spawned, 1);
    }

    pub(crate) fn ended(&self, how: Ended) {
        add(
            match how {
                Ended::Completed => &self.completed,
                Ended::Cancelled => &self.cancelled,
                Ended::Panicked => &self.panicked,
            },
            1,
        );
    }

    pub(crate) fn polled(&self, polls: u64) {
        add(&self.polls, polls);
    }

    /// The worker is about to sleep in the kernel: returns the time, for
    /// [`parked`](Counters::parked), and publishes it, so that a snapshot taken during the
    /// sleep counts it (an idle worker's sleep may last as long as the program). Nothing,
    /// not even a clock read, without metrics.
    pub(crate) fn parking(&self) -> Option<Instant> {
        if cfg!(ringlet_no_metrics) {
            return None;
        }
        let now = Instant::now();
        let since_start = now.saturating_duration_since(self.started).as_nanos() as u64;
        self.parking_since.store(since_start + 1, Ordering::Relaxed);
        Some(now)
    }

    /// The sleep that began at `since` (from [`parking`](Counters::parking)) ended.
    pub(crate) fn parked(&self, since: Option<Instant>) {
        if let Some(since) = since {
            add(&self.parks, 1);
            // Cleared before the total grows, and the total published with Release: a
            // snapshot that sees the new total (Acquire) sees the sleep as over, and
            // never counts it twice.
            self.parking_since.store(0, Ordering::Relaxed);
            self.parked_ns.store(
                self.parked_ns.load(Ordering::Relaxed) + since.elapsed().as_nanos() as u64,
                Ordering::Release,
            );
        }
    }

    pub(crate) fn jobs(&self, n: usize) {
        add(&self.jobs, n as u64);
    }

    pub(crate) fn rearmed(&self) {
        add(&self.rearms, 1);
    }

    /// The ready-queue depth and pending timers, as of a trip into the kernel.
    pub(crate) fn publish_queues(&self, ready: usize, timers: usize) {
        if cfg!(not(ringlet_no_metrics)) {
            self.ready.store(ready as u64, Ordering::Relaxed);
            self.timers.store(timers as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(
        &self,
        index: usize,
        remote_wakes: u64,
        io: IoStats,
        cpu: Option<Duration>,
    ) -> WorkerMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let uptime = self.started.elapsed();
        // The sleep in progress counts as parked so far (see `parked` for the order).
        let mut parked_ns = self.parked_ns.load(Ordering::Acquire);
        let sleeping = get(&self.parking_since);
        if sleeping > 0 {
            parked_ns += (uptime.as_nanos() as u64).saturating_sub(sleeping - 1);
        }
        let (spawned, completed) = (get(&self.spawned), get(&self.completed));
        let (cancelled, panicked) = (get(&self.cancelled), get(&self.panicked));
        WorkerMetrics {
            worker: index,
            uptime,
            cpu: cpu.unwrap_or_default(),
            tasks_spawned: spawned,
            tasks_completed: completed,
            tasks_cancelled: cancelled,
            tasks_panicked: panicked,
            tasks_alive: spawned.saturating_sub(completed + cancelled + panicked),
            polls: get(&self.polls),
            parks: get(&self.parks),
            parked: Duration::from_nanos(parked_ns),
            remote_wakes,
            remote_jobs: get(&self.jobs),
            multishot_rearms: get(&self.rearms),
            ready_depth: get(&self.ready),
            timers_pending: get(&self.timers),
            io,
        }
    }
}

/// A snapshot of one worker's counters ([`Runtime::metrics`](crate::Runtime::metrics)).
/// Counters only grow: subtract an earlier snapshot's ([`since`](WorkerMetrics::since))
/// for what happened in between.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// The worker's index.
    pub worker: usize,
    /// Time since the worker started.
    pub uptime: Duration,
    /// CPU time the worker's thread has used, user and kernel — including the kernel's
    /// work for the ring done inside `io_uring_enter` while the worker waited, which
    /// `parked` counts as asleep (with `DEFER_TASKRUN` that is where received data is
    /// copied). Read from `/proc/self/task/TID/schedstat` when the snapshot is taken;
    /// zero if that cannot be read.
    pub cpu: Duration,
    /// Tasks spawned on this worker (locally or sent from elsewhere).
    pub tasks_spawned: u64,
    /// Tasks that ran to completion.
    pub tasks_completed: u64,
    /// Tasks cancelled (by a handle, a group, a dropped server, or the runtime's end).
    pub tasks_cancelled: u64,
    /// Tasks that panicked.
    pub tasks_panicked: u64,
    /// Tasks spawned and not yet ended.
    pub tasks_alive: u64,
    /// Task polls (not counting the `block_on` future's).
    pub polls: u64,
    /// Times the worker slept in the kernel with nothing to run.
    pub parks: u64,
    /// Time spent asleep in the kernel, the sleep in progress included; `uptime - parked`
    /// is the time busy.
    pub parked: Duration,
    /// Wake-ups other threads sent to this worker (a completion posted to its ring, or an
    /// eventfd write).
    pub remote_wakes: u64,
    /// Jobs other threads sent this worker and it ran (a `Handle::spawn` from outside the
    /// runtime, a `spawn_on` from another worker: each is one job that spawns the task).
    pub remote_jobs: u64,
    /// Multishot receives armed again after they ended: after the buffer pool ran dry
    /// (`io.enobufs`) once a buffer came back, or after the kernel ended one by itself.
    pub multishot_rearms: u64,
    /// Tasks ready to run, as of the worker's last trip into the kernel.
    pub ready_depth: u64,
    /// Sleeps and timeouts pending, as of the worker's last trip into the kernel.
    pub timers_pending: u64,
    /// The worker's ring: ops by kind, kernel entries by purpose, SQ full, CQ overflow,
    /// buffer-pool exhaustion.
    pub io: IoStats,
}

impl WorkerMetrics {
    /// What happened between `earlier` (a snapshot of the same worker) and this one: the
    /// counters' differences (the gauges — alive, ready depth, timers — are this
    /// snapshot's).
    pub fn since(&self, earlier: &WorkerMetrics) -> WorkerMetrics {
        WorkerMetrics {
            worker: self.worker,
            uptime: self.uptime.saturating_sub(earlier.uptime),
            cpu: self.cpu.saturating_sub(earlier.cpu),
            tasks_spawned: self.tasks_spawned - earlier.tasks_spawned,
            tasks_completed: self.tasks_completed - earlier.tasks_completed,
            tasks_cancelled: self.tasks_cancelled - earlier.tasks_cancelled,
            tasks_panicked: self.tasks_panicked - earlier.tasks_panicked,
            tasks_alive: self.tasks_alive,
            polls: self.polls - earlier.polls,
            parks: self.parks - earlier.parks,
            parked: self.parked.saturating_sub(earlier.parked),
            remote_wakes: self.remote_wakes - earlier.remote_wakes,
            remote_jobs: self.remote_jobs - earlier.remote_jobs,
            multishot_rearms: self.multishot_rearms - earlier.multishot_rearms,
            ready_depth: self.ready_depth,
            timers_pending: self.timers_pending,
            io: self.io.since(&earlier.io),
        }
    }

    /// The share of `uptime` the worker's thread was on a CPU, from 0 to 1 (`cpu /
    /// uptime`): how loaded the core is, kernel work for the ring included.
    pub fn cpu_ratio(&self) -> f64 {
        let up = self.uptime.as_secs_f64();
        if up == 0.0 {
            return 0.0;
        }
        (self.cpu.as_secs_f64() / up).clamp(0.0, 1.0)
    }

    /// The share of `uptime` spent busy (not asleep in the kernel), from 0 to 1. Kernel
    /// work done for the ring during a wait counts as asleep: see
    /// [`cpu_ratio`](WorkerMetrics::cpu_ratio) for the load on the core.
    pub fn busy_ratio(&self) -> f64 {
        let up = self.uptime.as_secs_f64();
        if up == 0.0 {
            return 0.0;
        }
        (1.0 - self.parked.as_secs_f64() / up).clamp(0.0, 1.0)
    }
}

/// Snapshots of every worker's counters, worker 0 first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// One per worker, by index.
    pub workers: Vec<WorkerMetrics>,
}

impl RuntimeMetrics {
    /// What happened between `earlier` and this snapshot, worker by worker (as
    /// [`WorkerMetrics::since`]).
    pub fn since(&self, earlier: &RuntimeMetrics) -> RuntimeMetrics {
        RuntimeMetrics {
            workers: self
                .workers
                .iter()
                .zip(&earlier.workers)
                .map(|(now, then)| now.since(then))
                .collect(),
        }
    }

    /// The sum of a counter over the workers, e.g. `m.total(|w| w.polls)`.
    pub fn total(&self, counter: impl Fn(&WorkerMetrics) -> u64) -> u64 {
        self.workers.iter().map(counter).sum()
    }

    /// Every worker's ring counters added up.
    pub fn io(&self) -> IoStats {
        IoStats::sum(self.workers.iter().map(|w| &w.io))
    }
}

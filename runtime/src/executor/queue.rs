//! The part of a worker other threads can reach: its remote run queue and how to wake it,
//! and the set of a runtime's workers.
//!
//! A parked worker is woken in one of two ways. From a thread that runs a ring of its own
//! (another worker, of this runtime or any other), a CQE is posted straight into the
//! sleeper's ring with `IORING_OP_MSG_RING`: no file, no poll wait queue, no read to
//! re-arm. From any other thread, or where the kernel lacks MSG_RING, or if the post is
//! refused, the worker's eventfd is written; the worker keeps a read armed on it always.
//! Which thread runs which ring is the `POSTER` thread local, set while a worker is
//! current.
//!
//! Owns: [`Shared`] (`Send + Sync`: held by every waker of the worker's tasks),
//! [`WorkerSet`], [`PosterGuard`]. Must not touch what is local to the worker's thread
//! except through `local.rs`'s checked push.

use super::metrics::{Counters, RuntimeMetrics, WorkerMetrics};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use uring_driver::{Handle, RingTarget};

use super::inbox::Inbox;
use super::local::{self, TaskRef};

/// Work sent to a worker from another thread; runs on the worker, inside its runtime
/// (it typically spawns a task there).
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// What other threads send a worker.
enum Remote {
    Task(TaskRef),
    Job(Job),
}

thread_local! {
    /// The ring of the worker running on this thread, if any: wakes sent from here are
    /// posted through it.
    static POSTER: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Makes `ring` the one wakes from this thread are posted through, until dropped.
pub(crate) struct PosterGuard {
    previous: Option<Handle>,
}

impl PosterGuard {
    pub(crate) fn new(ring: Handle) -> PosterGuard {
        PosterGuard {
            previous: POSTER.with(|p| p.borrow_mut().replace(ring)),
        }
    }
}

impl Drop for PosterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let left = POSTER.try_with(|p| std::mem::replace(&mut *p.borrow_mut(), previous));
        drop(left);
    }
}

/// Shared between a worker and every waker of its tasks.
pub(crate) struct Shared {
    id: usize,
    /// The remote run queue and its wake-up flag (see [`Inbox`] for the protocol).
    remote: Inbox<Remote>,
    /// A duplicate of the worker's ring fd, when wakes may be posted to it: it keeps the
    /// fd number naming that ring for as long as any waker (or a message in flight, which
    /// holds an `Arc` of this) may post to it, whatever the worker does meanwhile.
    ring: Option<OwnedFd>,
    eventfd: File,
    /// Whether the worker ever spins before parking (`Builder::spin_before_park`); without
    /// it wakes skip the look at `spinning` and its cost.
    spins: bool,
    /// Set while the worker busy-polls before parking: it looks at the remote queue
    /// itself then, so a pusher need not wake it. Only RMWs touch it, on both sides (see
    /// [`Shared::wake`]).
    spinning: AtomicBool,
    /// Wakes delivered by a CQE posted into the ring, and by an eventfd write.
    posted: AtomicU64,
    written: AtomicU64,
    /// Set when the runtime asks this worker's thread to stop; the waker of the future
    /// that thread blocks on is woken then.
    stop: AtomicBool,
    stop_waker: Mutex<Option<std::task::Waker>>,
    /// The worker's live tasks as of its last trip into the kernel: what
    /// `Handle::spawn` compares to pick the least-loaded worker.
    load: AtomicUsize,
    /// The worker's counters (written by its thread only).
    counters: Counters,
    /// The worker's ring's counters, if it has a ring.
    io: Option<uring_driver::StatsReader>,
    /// The worker thread's id (0 until the worker records it), for its CPU time.
    tid: std::sync::atomic::AtomicI32,
}

impl Shared {
    /// Returns the shared state and the fd the worker reads to be woken. `ring`: a
    /// duplicate of the worker's ring fd, if other rings may post wakes to it; `spins`:
    /// whether the worker busy-polls before it parks.
    pub(crate) fn new(
        ring: Option<OwnedFd>,
        spins: bool,
        io: Option<uring_driver::StatsReader>,
    ) -> io::Result<(Arc<Shared>, File)> {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let eventfd = File::from(crate::sys::eventfd()?);
        let reader = eventfd.try_clone()?;
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote: Inbox::new(),
            ring,
            eventfd,
            spins,
            spinning: AtomicBool::new(false),
            posted: AtomicU64::new(0),
            written: AtomicU64::new(0),
            counters: Counters::new(),
            io,
            tid: std::sync::atomic::AtomicI32::new(0),
            stop: AtomicBool::new(false),
            stop_waker: Mutex::new(None),
            load: AtomicUsize::new(0),
        });
        Ok((shared, reader))
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Queues `task` to run on its worker: a plain push on the worker's own thread, the
    /// remote queue and a wake-up of the ring from anywhere else.
    pub(crate) fn schedule(self: &Arc<Self>, task: TaskRef) {
        if let Err(task) = local::push_local(self.id, task) {
            match self.remote.push(Remote::Task(task)) {
                Ok(true) => self.wake(),
                Ok(false) => {}
                // The runtime is gone; its tasks were shut down already.
                Err(task) => drop(task),
            }
        }
    }

    /// Wakes the worker's ring unless a wake-up is pending already.
    pub(crate) fn notify(self: &Arc<Self>) {
        if self.remote.flag() {
            self.wake();
        }
    }

    /// Wakes the worker: a CQE posted into its ring from this thread's ring if there is
    /// one, its eventfd otherwise; nothing while it spins.
    ///
    /// The spinning handshake: the caller has flagged the remote queue (an RMW) before
    /// this reads `spinning` (an RMW); the worker clears `spinning` (an RMW) before it
    /// looks at the queue's flag one last time and parks. The two RMWs on `spinning` are
    /// ordered: if this one came first and read `true`, the worker's clear read it and
    /// synchronized with it, so its last look sees the flag and it does not park; if the
    /// clear came first, this reads `false` and wakes the worker as usual.
    fn wake(self: &Arc<Self>) {
        if self.spins && self.spinning.fetch_or(false, Ordering::SeqCst) {
            return;
        }
        if self.ring.is_some() {
            let poster = POSTER
                .try_with(|p| p.try_borrow().ok().and_then(|p| p.clone()))
                .ok()
                .flatten();
            if let Some(poster) = poster
                && poster.post_wake(Wake(self.clone())).is_ok()
            {
                self.posted.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.write_eventfd();
    }

    /// How many wakes reached this worker by a CQE posted into its ring, and how many by
    /// its eventfd.
    pub(crate) fn wake_counts(&self) -> (u64, u64) {
        (
            self.posted.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
        )
    }

    fn write_eventfd(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
        // The only possible failure is a counter overflow, which needs 2^64 pending
        // wakes; a lost write then cannot matter because the counter is non-zero.
        let _ = (&self.eventfd).write(&1u64.to_ne_bytes());
    }

    /// Sends `job` to run on this worker.
    ///
    /// # Errors
    ///
    /// Gives the job back if the worker has shut down.
    pub(crate) fn send_job(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        match self.remote.push(Remote::Job(job)) {
            Ok(true) => self.wake(),
            Ok(false) => {}
            Err(Remote::Job(job)) => return Err(job),
            Err(Remote::Task(_)) => unreachable!("pushed a job"),
        }
        Ok(())
    }

    /// Records the calling thread as the worker's, for its CPU time in snapshots.
    pub(crate) fn set_thread(&self) {
        self.tid.store(crate::sys::thread_id(), Ordering::Relaxed);
    }

    /// The worker's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A snapshot of the worker's counters; `index` is its place in the runtime.
    pub(crate) fn metrics(&self, index: usize) -> WorkerMetrics {
        let (posted, written) = self.wake_counts();
        let io = self.io.as_ref().map(|io| io.snapshot()).unwrap_or_default();
        let cpu = match self.tid.load(Ordering::Relaxed) {
            0 => None,
            tid => crate::sys::thread_cpu_time(tid),
        };
        self.counters.snapshot(index, posted + written, io, cpu)
    }

    /// Publishes the worker's count of live tasks (its own thread, once per turn).
    pub(crate) fn publish_load(&self, tasks: usize) {
        self.load.store(tasks, Ordering::Relaxed);
    }

    /// The count of live tasks last published.
    pub(crate) fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// Whether tasks or jobs were sent since the worker last drained its remote queue.
    pub(crate) fn has_remote(&self) -> bool {
        self.remote.is_flagged()
    }

    /// Announces that the worker busy-polls (`true`) or may park (`false`); see
    /// [`Shared::wake`]. After announcing `false` the worker must look at
    /// [`has_remote`](Shared::has_remote) again before it parks.
    pub(crate) fn set_spinning(&self, spinning: bool) {
        self.spinning.swap(spinning, Ordering::SeqCst);
    }

    /// Moves the remote tasks into `local` and returns the jobs sent (see
    /// [`Inbox::take`]: a push this misses writes the eventfd again).
    pub(crate) fn drain_into(&self, local: &mut VecDeque<TaskRef>) -> Vec<Job> {
        let mut jobs = Vec::new();
        self.remote.take(|item| match item {
            Remote::Task(task) => local.push_back(task),
            Remote::Job(job) => jobs.push(job),
        });
        jobs
    }

    /// Asks the worker's thread to stop (its loop checks this after every wake-up).
    pub(crate) fn request_stop(self: &Arc<Self>) {
        self.stop.store(true, Ordering::SeqCst);
        let waker = self
            .stop_waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match waker {
            Some(waker) => waker.wake(),
            None => self.notify(),
        }
    }

    /// Resolves once [`request_stop`](Shared::request_stop) was called.
    pub(crate) async fn stopped(&self) {
        std::future::poll_fn(|cx| {
            let mut slot = self.stop_waker.lock().unwrap_or_else(|e| e.into_inner());
            if self.stop.load(Ordering::SeqCst) {
                return std::task::Poll::Ready(());
            }
            *slot = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await
    }

    /// Refuses further remote pushes and returns what was queued.
    pub(crate) fn close(&self) -> (Vec<TaskRef>, Vec<Job>) {
        let mut tasks = Vec::new();
        let mut jobs = Vec::new();
        for item in self.remote.close() {
            match item {
                Remote::Task(task) => tasks.push(task),
                Remote::Job(job) => jobs.push(job),
            }
        }
        (tasks, jobs)
    }
}

/// A wake posted to a worker's ring: keeps the worker's [`Shared`] (and so its ring fd)
/// alive until the sending ring's CQE.
#[derive(Clone)]
struct Wake(Arc<Shared>);

// SAFETY: the fd is `Shared::ring`, an `OwnedFd` the `Shared` owns and never replaces,
// and `Wake` holds an `Arc` of that `Shared`: the fd stays open, naming the same ring,
// while any `Wake` lives. (`wake` posts only where `ring` is set; -1 otherwise names no
// file, which the kernel refuses.)
unsafe impl RingTarget for Wake {
    fn ring_fd(&self) -> RawFd {
        self.0.ring.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    fn undelivered(&self, _error: io::Error) {
        self.0.write_eventfd();
    }
}

/// Every worker of a runtime, by index; filled once all worker threads have started.
#[derive(Default)]
pub(crate) struct WorkerSet {
    workers: OnceLock<Vec<Arc<Shared>>>,
}

impl WorkerSet {
    pub(crate) fn init(&self, workers: Vec<Arc<Shared>>) {
        assert!(
            self.workers.set(workers).is_ok(),
            "worker set initialized twice"
        );
    }

    pub(crate) fn get(&self, index: usize) -> Option<&Arc<Shared>> {
        self.workers.get().and_then(|w| w.get(index))
    }

    pub(crate) fn len(&self) -> usize {
        self.workers.get().map_or(0, Vec::len)
    }

    /// A snapshot of every worker's counters.
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let workers = self.workers.get().map(Vec::as_slice).unwrap_or_default();
        RuntimeMetrics {
            workers: workers
                .iter()
                .enumerate()
                .map(|(index, w)| w.metrics(index))
                .collect(),
        }
    }
}

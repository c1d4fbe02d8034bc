//! The part of a worker other threads can reach: its remote run queue and its wake-up fd,
//! and the set of a runtime's workers.
//!
//! Owns: [`Shared`] (`Send + Sync`: held by every waker of the worker's tasks) and
//! [`WorkerSet`]. Must not touch what is local to the worker's thread except through
//! `local.rs`'s checked push.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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

/// Shared between a worker and every waker of its tasks.
pub(crate) struct Shared {
    id: usize,
    /// The remote run queue and its wake-up flag (see [`Inbox`] for the protocol).
    remote: Inbox<Remote>,
    eventfd: File,
    /// Set when the runtime asks this worker's thread to stop; the waker of the future
    /// that thread blocks on is woken then.
    stop: AtomicBool,
    stop_waker: Mutex<Option<std::task::Waker>>,
}

impl Shared {
    /// Returns the shared state and the fd the worker reads to be woken.
    pub(crate) fn new() -> io::Result<(Arc<Shared>, File)> {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let eventfd = File::from(crate::sys::eventfd()?);
        let reader = eventfd.try_clone()?;
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote: Inbox::new(),
            eventfd,
            stop: AtomicBool::new(false),
            stop_waker: Mutex::new(None),
        });
        Ok((shared, reader))
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Queues `task` to run on its worker: a plain push on the worker's own thread, the
    /// remote queue and a wake-up of the ring from anywhere else.
    pub(crate) fn schedule(&self, task: TaskRef) {
        if let Err(task) = local::push_local(self.id, task) {
            match self.remote.push(Remote::Task(task)) {
                Ok(true) => self.write_eventfd(),
                Ok(false) => {}
                // The runtime is gone; its tasks were shut down already.
                Err(task) => drop(task),
            }
        }
    }

    /// Wakes the worker's ring unless a wake-up is pending already.
    pub(crate) fn notify(&self) {
        if self.remote.flag() {
            self.write_eventfd();
        }
    }

    fn write_eventfd(&self) {
        // The only possible failure is a counter overflow, which needs 2^64 pending
        // wakes; a lost write then cannot matter because the counter is non-zero.
        let _ = (&self.eventfd).write(&1u64.to_ne_bytes());
    }

    /// Sends `job` to run on this worker.
    ///
    /// # Errors
    ///
    /// Gives the job back if the worker has shut down.
    pub(crate) fn send_job(&self, job: Job) -> Result<(), Job> {
        match self.remote.push(Remote::Job(job)) {
            Ok(true) => self.write_eventfd(),
            Ok(false) => {}
            Err(Remote::Job(job)) => return Err(job),
            Err(Remote::Task(_)) => unreachable!("pushed a job"),
        }
        Ok(())
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
    pub(crate) fn request_stop(&self) {
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
}

//! A `Send` handle to a runtime: spawning onto its workers from any thread, and waiting
//! for the result on a thread that is not a worker.
//!
//! Owns: [`Handle`], the choice of the least-loaded worker, and [`SpawnError`]. Must not
//! run tasks: it sends their factories to the workers.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::executor::context;
use crate::executor::queue::{Job, WorkerSet};
use crate::task::{RemoteJoinHandle, TaskInfo, remote_job};

/// A handle to a [`Runtime`](crate::Runtime) that any thread can hold: cheap to clone,
/// `Send` and `Sync`. It spawns tasks onto the runtime's workers from outside them — a
/// std thread, [`spawn_blocking`](crate::task::spawn_blocking) work, a callback of a
/// C library — and waits for their results there.
///
/// Get one with [`Runtime::handle`](crate::Runtime::handle), or [`Handle::current`] on a
/// worker. It keeps no worker alive: once the runtime is dropped, spawning fails with
/// [`SpawnError::Shutdown`].
///
/// ```
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// let handle = rt.handle();
/// let from_thread = std::thread::spawn(move || {
///     let task = handle.spawn_on(1, || async { ringlet::worker_index() }).unwrap();
///     handle.block_on(task).unwrap()
/// });
/// assert_eq!(from_thread.join().unwrap(), Some(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    set: Arc<WorkerSet>,
    /// Where the search for the least-loaded worker starts: turns, so ties spread.
    next: Arc<AtomicUsize>,
}

impl Handle {
    pub(crate) fn new(set: Arc<WorkerSet>) -> Handle {
        Handle {
            set,
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The handle of the runtime whose worker runs the caller, or `None` outside one.
    pub fn current() -> Option<Handle> {
        context::with_current(|core| Handle::new(core.set.clone()))
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.set.len()
    }

    /// A snapshot of every worker's counters, from any thread (as
    /// [`Runtime::metrics`](crate::Runtime::metrics)): what a reporter thread or a
    /// metrics endpoint outside the runtime reads.
    pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
        self.set.metrics()
    }

    /// Runs a task on worker `index`: `make` is sent there, called there, and the future
    /// it returns runs there as a task (it need not be `Send`). As
    /// [`spawn_on`](crate::spawn_on), from any thread.
    ///
    /// Worker 0 is the thread that calls [`Runtime::block_on`](crate::Runtime::block_on):
    /// a task sent to it runs while that call runs.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoSuchWorker`] for an index out of range, [`SpawnError::Shutdown`]
    /// once the runtime (or that worker) has stopped.
    #[track_caller]
    pub fn spawn_on<M, F>(
        &self,
        index: usize,
        make: M,
    ) -> Result<RemoteJoinHandle<F::Output>, SpawnError>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let workers = self.workers();
        if index >= workers {
            return Err(SpawnError::NoSuchWorker { index, workers });
        }
        let (job, handle) = remote_job(make, TaskInfo::here());
        self.send(index, job).map_err(|_| SpawnError::Shutdown)?;
        Ok(handle)
    }

    /// Runs a task on the least-loaded worker: the one with the fewest live tasks as of
    /// its last trip into the kernel (ties taken in turn). Otherwise as
    /// [`spawn_on`](Handle::spawn_on).
    ///
    /// # Errors
    ///
    /// [`SpawnError::Shutdown`] once the runtime has stopped.
    #[track_caller]
    pub fn spawn<M, F>(&self, make: M) -> Result<RemoteJoinHandle<F::Output>, SpawnError>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let workers = self.workers();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let in_turn = move || (0..workers).map(move |i| (start + i) % workers);
        // The first of the least loaded in turn order (so equal loads take turns); should
        // it have stopped, the others in turn. No allocation on the way.
        let load = |index: usize| self.set.get(index).map_or(usize::MAX, |w| w.load());
        let best = in_turn().min_by_key(|&index| load(index));
        let order = best
            .into_iter()
            .chain(in_turn().filter(move |&index| Some(index) != best));
        let (mut job, handle) = remote_job(make, TaskInfo::here());
        for index in order {
            match self.send(index, job) {
                Ok(()) => return Ok(handle),
                Err(refused) => job = refused, // that worker stopped: try the next
            }
        }
        Err(SpawnError::Shutdown)
    }

    /// Runs `future` to completion on the calling thread, which sleeps while it waits:
    /// for a thread outside the runtime to wait for a task's [`RemoteJoinHandle`], or for
    /// any future that needs no worker (ringlet's I/O and timers do: run those as tasks).
    ///
    /// # Panics
    ///
    /// On a worker of any ringlet runtime: blocking there would stall every task of that
    /// worker (possibly the one awaited). Await the future instead.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            context::current_index().is_none(),
            "Handle::block_on called on a ringlet worker, which it would block: await the \
             future instead"
        );
        let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            thread::park();
        }
    }

    /// Hands `job` to worker `index`: run here if that is the calling worker, queued
    /// otherwise. Gives it back if the worker has stopped.
    fn send(&self, index: usize, job: Job) -> Result<(), Job> {
        let here =
            context::with_current(|core| Arc::ptr_eq(&core.set, &self.set) && core.index == index);
        if here == Some(true) {
            job();
            return Ok(());
        }
        match self.set.get(index) {
            Some(worker) => worker.send_job(job),
            None => Err(job),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.workers())
            .finish()
    }
}

/// Wakes a thread parked in [`Handle::block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Why a [`Handle`] could not spawn a task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// The runtime has no worker `index`.
    NoSuchWorker {
        /// The worker asked for.
        index: usize,
        /// How many the runtime has.
        workers: usize,
    },
    /// The runtime has been dropped (or the worker has stopped).
    Shutdown,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NoSuchWorker { index, workers } => write!(
                f,
                "cannot spawn on worker {index}: the runtime has {workers} (0 to {})",
                workers.saturating_sub(1)
            ),
            SpawnError::Shutdown => {
                f.write_str("cannot spawn: the runtime has shut down (its Runtime was dropped)")
            }
        }
    }
}

impl Error for SpawnError {}

//! The runtime users create: `Runtime`, its `Builder`, `run`, and the worker threads it
//! starts and stops.
//!
//! Owns: the configuration (workers, ring size, pinning, coalescing) and the order of
//! start-up and shutdown. Must not run tasks itself: each worker does (`executor/`).

use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle as ThreadHandle;

use uring_driver::Driver;

use crate::executor::context;
use crate::executor::queue::{Shared, WorkerSet};
use crate::executor::stall::{StallHook, StallWatch};
use crate::executor::worker::{self, ThreadConfig, Worker};
use crate::handle::Handle;
use crate::sys::{allowed_cpus, pin_current_thread};
use crate::task::{JoinError, gather, spawn_made_on};

/// A ringlet runtime: one worker per core, each with its own io_uring ring and run queue.
///
/// Worker 0 runs on the thread that calls [`block_on`](Runtime::block_on); workers 1..n
/// run on threads of their own. Tasks never move between workers: [`spawn`](crate::spawn)
/// runs a (`!Send`) future on the current worker, [`spawn_on`](crate::spawn_on) sends a
/// `Send` future to a chosen one, and [`block_on_all`](Runtime::block_on_all) runs one
/// future per worker — the way to serve one port from every core.
///
/// ```
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// let answer = rt.block_on(async { ringlet::spawn(async { 42 }).await.unwrap() });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Dropping the runtime stops the worker threads, drops every task that has not finished
/// (their destructors run and their in-flight ops are cancelled), then the rings, which
/// wait for the kernel to finish with every buffer they hold.
pub struct Runtime {
    worker: Rc<Worker>,
    driver: Option<Driver>,
    /// Workers 1..n: the thread, and its shared half once it started.
    threads: Vec<(Option<Arc<Shared>>, ThreadHandle<()>)>,
    set: Arc<WorkerSet>,
}

/// Configures a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    pin_cores: bool,
    ring: uring_driver::Builder,
    spin: Option<std::time::Duration>,
    stall_threshold: Option<std::time::Duration>,
    stall_hook: Option<StallHook>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            pin_cores: false,
            ring: uring_driver::Builder::default(),
            spin: None,
            stall_threshold: None,
            stall_hook: None,
        }
    }
}

/// A kernel feature ringlet uses where the kernel has it, with a fallback where it does
/// not. [`Builder::without`] forces the fallback.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelFeature {
    /// `IORING_OP_MSG_RING` (Linux 5.18): a worker wakes another, parked one by posting a
    /// completion straight into its ring. Fallback: writing the parked worker's eventfd,
    /// on which it keeps a read armed (the way threads outside the runtime always wake it).
    MsgRing,
    /// `IORING_SETUP_NO_SQARRAY` (Linux 6.6): the kernel takes submissions in ring order,
    /// without the index array between the SQ and its entries. Fallback: the array.
    NoSqArray,
    /// Receive bundles (`IORING_RECVSEND_BUNDLE`; used from Linux 6.16): a multishot
    /// receive fills as many ring buffers as the waiting data needs and reports them in
    /// one completion. Fallback: one buffer per completion.
    RecvBundle,
}

impl Builder {
    /// Runs as if the kernel lacked `feature`: its fallback is used instead. For testing
    /// the fallbacks on a new kernel, comparing the two, or working around a kernel bug.
    pub fn without(mut self, feature: KernelFeature) -> Self {
        self.ring = match feature {
            KernelFeature::MsgRing => self
                .ring
                .disable_opcode(uring_driver::opcode::MsgRingData::CODE),
            KernelFeature::NoSqArray => self.ring.no_sqarray(false),
            KernelFeature::RecvBundle => self.ring.recv_bundles(false),
        };
        self
    }

    /// Number of workers (default: one per available core; at least 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Pins worker `i` to the `i`-th CPU the building thread may use, wrapping around if
    /// there are more workers than CPUs (default `false`). Worker 0 is the thread that
    /// builds the runtime, which stays pinned afterwards.
    pub fn pin_cores(mut self, pin: bool) -> Self {
        self.pin_cores = pin;
        self
    }

    /// Submission queue entries of each worker's ring (default 256). More entries batch
    /// more ops per syscall; a full queue is submitted early, never an error.
    pub fn ring_entries(mut self, entries: u32) -> Self {
        self.ring = self.ring.entries(entries);
        self
    }

    /// Completion queue entries of each worker's ring (default 4096: 64 KiB per worker;
    /// never less than twice the SQ). Size it for the
    /// completions that can arrive while a worker runs tasks, about one per busy
    /// connection: the kernel holds the rest back (or, without `DEFER_TASKRUN`, lets them
    /// overflow into a list), and each extra batch costs an extra `io_uring_enter`.
    pub fn cq_entries(mut self, entries: u32) -> Self {
        self.ring = self.ring.cq_entries(entries);
        self
    }

    /// Gives each worker's ring a kernel thread that polls its submissions
    /// (`IORING_SETUP_SQPOLL`; default: off), spinning for `idle` after the last one before
    /// it sleeps. Ops and cross-worker wakes then reach the kernel without a syscall
    /// while the thread is awake, which cuts latency under steady load, at the price of
    /// up to one more busy core per worker (measured in docs/benchmarks.md): for
    /// latency-critical servers with cores to spare. Completions run cooperatively (the
    /// kernel refuses `DEFER_TASKRUN` with it). The poll thread may run where its worker
    /// may: with [`pin_cores`](Builder::pin_cores) it shares the worker's core, which
    /// leaves it little to gain. Kernels that refuse SQPOLL get rings without it.
    pub fn sqpoll(mut self, idle: std::time::Duration) -> Self {
        self.ring = self.ring.sqpoll(idle);
        self
    }

    /// Lets a worker with nothing to run busy-poll for up to `spin` before it sleeps
    /// (default: off): it keeps reaping completions without blocking and watching its
    /// remote queue, so a completion or a wake from another worker that arrives within
    /// `spin` is picked up in well under a microsecond instead of after a wake-up of a
    /// sleeping thread (several microseconds; docs/benchmarks.md, "Core to core"). The
    /// price is CPU: an idle worker burns up to `spin` of its core each time it runs out
    /// of work. Timers are never delayed by it. For latency-critical servers whose
    /// workers hand work to each other; a zero duration turns it off.
    pub fn spin_before_park(mut self, spin: std::time::Duration) -> Self {
        self.spin = (!spin.is_zero()).then_some(spin);
        self
    }

    /// Reports every task poll that keeps its worker longer than `threshold` (default:
    /// off; e.g. 10 ms): a task that blocks (a blocking syscall, a long computation, a
    /// `std` lock held while another thread works) stalls every other task of its worker.
    /// Each report ([`Stall`](crate::task::Stall)) names the task's id, name and spawn
    /// location and how long it ran; it goes to [`on_stall`](Builder::on_stall)'s hook, by
    /// default one line on stderr (at most one a second). Timing a poll costs two clock
    /// reads through the vDSO, no syscall; a zero threshold turns it off.
    pub fn detect_stalls(mut self, threshold: std::time::Duration) -> Self {
        self.stall_threshold = (!threshold.is_zero()).then_some(threshold);
        self
    }

    /// Sends stall reports to `hook` instead of stderr (it runs on the stalled worker,
    /// right after the poll: keep it short). Takes effect with
    /// [`detect_stalls`](Builder::detect_stalls).
    pub fn on_stall(mut self, hook: impl Fn(&crate::task::Stall) + Send + Sync + 'static) -> Self {
        self.stall_hook = Some(StallHook(std::sync::Arc::new(hook)));
        self
    }

    /// Coalesces completions when a worker sleeps in the kernel (default: off): it wakes
    /// once `batch` completions are ready, or `max_delay` after the first one. Under
    /// moderate load this trades up to `max_delay` of latency for fewer wake-ups and less
    /// CPU per operation; under full load workers do not sleep and nothing changes. Timers
    /// due sooner than `max_delay` are not delayed. Needs Linux 6.12
    /// (`IORING_FEAT_MIN_TIMEOUT`); older kernels ignore it.
    pub fn coalesce_completions(mut self, batch: u32, max_delay: std::time::Duration) -> Self {
        self.ring = self.ring.coalesce_completions(batch, max_delay);
        self
    }

    /// Builds the runtime and starts its worker threads.
    ///
    /// # Errors
    ///
    /// If io_uring is unavailable (kernel too old, disabled by sysctl, blocked by seccomp,
    /// memlock limit too low), an error naming io_uring, the errno and the remedy; or the
    /// error of pinning a thread or starting one.
    pub fn build(self) -> io::Result<Runtime> {
        let set = Arc::new(WorkerSet::default());
        // Read the CPUs before pinning anything: threads inherit their parent's mask.
        let cpus = if self.pin_cores {
            allowed_cpus()?
        } else {
            Vec::new()
        };
        let cpu_of = |index: usize| (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
        if let Some(cpu) = cpu_of(0) {
            pin_current_thread(cpu)?;
        }
        let driver = self.ring.clone().build()?;
        let stall = self
            .stall_threshold
            .map(|threshold| StallWatch::new(threshold, self.stall_hook.clone()));
        let worker = Worker::new(
            driver.handle().clone(),
            0,
            set.clone(),
            self.spin,
            stall.clone(),
        )?;
        let mut runtime = Runtime {
            worker,
            driver: Some(driver),
            threads: Vec::new(),
            set: set.clone(),
        };
        let mut shared = vec![runtime.worker.shared().clone()];
        for index in 1..self.workers {
            let (started_tx, started_rx) = mpsc::channel();
            let config = ThreadConfig {
                index,
                ring: self.ring.clone(),
                pin_cpu: cpu_of(index),
                set: set.clone(),
                spin: self.spin,
                stall: stall.clone(),
            };
            let thread = worker::spawn_thread(config, started_tx)?;
            let started = started_rx.recv().unwrap_or_else(|_| {
                Err(io::Error::other(format!(
                    "ringlet worker {index} died while starting"
                )))
            });
            runtime
                .threads
                .push((started.as_ref().ok().cloned(), thread));
            // On error, dropping `runtime` stops the workers started so far; the failed
            // one has exited already.
            shared.push(started?);
        }
        set.init(shared);
        Ok(runtime)
    }
}

impl Runtime {
    /// A runtime with the default configuration: one worker per available core.
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::default().build()
    }

    /// Configures a runtime.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A snapshot of every worker's counters (tasks, polls, parking, wakes; always
    /// counted, each by its own worker without atomic read-modify-writes). Subtract an
    /// earlier snapshot ([`RuntimeMetrics::since`](crate::metrics::RuntimeMetrics::since))
    /// for rates. From inside a task, [`metrics::snapshot`](crate::metrics::snapshot).
    pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
        self.set.metrics()
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.set.len()
    }

    /// A cloneable, `Send` handle for spawning onto this runtime's workers from any thread
    /// (see [`Handle`]).
    pub fn handle(&self) -> Handle {
        Handle::new(self.set.clone())
    }

    /// Runs `future` to completion on worker 0 (this thread), with the tasks it spawns.
    ///
    /// Tasks still running when it returns stay in the runtime: a later `block_on`
    /// continues them, dropping the runtime cancels them.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime (a task would block its own worker), or if the ring
    /// itself fails (`io_uring_enter` returning an error other than an interruption).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.worker.block_on(future)
    }

    /// Runs one future per worker, each made by `factory` on that worker (it is given the
    /// worker's index), and waits for them all; returns their results in worker order.
    /// This is how a server runs on every core: e.g. each worker binds its own
    /// `SO_REUSEPORT` listener and the kernel spreads the connections. To hand each worker
    /// a value of its own (a listener bound beforehand, a shard), see
    /// [`block_on_each`](Runtime::block_on_each).
    ///
    /// ```
    /// let rt = ringlet::Runtime::builder().workers(2).build()?;
    /// let ids = rt.block_on_all(|index| async move {
    ///     assert_eq!(ringlet::worker_index(), Some(index));
    ///     index * 10
    /// });
    /// let ids: Vec<usize> = ids.into_iter().map(Result::unwrap).collect();
    /// assert_eq!(ids, [0, 10]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// As [`block_on`](Runtime::block_on).
    pub fn block_on_all<M, F>(&self, factory: M) -> Vec<Result<F::Output, JoinError>>
    where
        M: Fn(usize) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let values = vec![(); self.workers()];
        self.block_on_each(values, move |index, ()| factory(index))
    }

    /// Runs one future per worker, made on that worker by `make` from the worker's index
    /// and the value of `values` at that index (moved there), and waits for them all;
    /// returns their results in worker order. Listeners bound before the runtime starts,
    /// or the shards of a sharded state, go to their workers this way.
    ///
    /// ```
    /// use ringlet::net::{ListenOptions, TcpListener};
    ///
    /// let rt = ringlet::Runtime::builder().workers(2).build()?;
    /// let options = ListenOptions::new().reuse_port(true);
    /// let first = std::net::TcpListener::from(TcpListener::bind_with("127.0.0.1:0", &options)?
    ///     .into_std().unwrap());
    /// let addr = first.local_addr()?;
    /// let second = TcpListener::bind_with(addr, &options)?.into_std().unwrap();
    /// let ports = rt.block_on_each(vec![first, second], |index, listener| async move {
    ///     let listener = TcpListener::from(listener);
    ///     (index, listener.local_addr().unwrap().port())
    /// });
    /// let ports: Vec<_> = ports.into_iter().map(Result::unwrap).collect();
    /// assert_eq!(ports, [(0, addr.port()), (1, addr.port())]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `values` does not hold exactly one value per worker; as
    /// [`block_on`](Runtime::block_on).
    pub fn block_on_each<T, M, F>(
        &self,
        values: Vec<T>,
        make: M,
    ) -> Vec<Result<F::Output, JoinError>>
    where
        T: Send + 'static,
        M: Fn(usize, T) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        assert_eq!(
            values.len(),
            self.workers(),
            "Runtime::block_on_each: one value per worker"
        );
        let make = Arc::new(make);
        let handles: Vec<_> = values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let make = make.clone();
                (index, move || make(index, value))
            })
            .collect();
        self.block_on(async move {
            gather(
                handles
                    .into_iter()
                    .map(|(index, make)| spawn_made_on(index, make)),
            )
            .await
        })
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.workers())
            .field("driver", &self.driver)
            .finish()
    }
}

impl Drop for Runtime {
    /// Every worker drops its tasks, then drains its ring, all at the same time: a task
    /// or a cancelled op on one worker may hold the peer that an op in flight on another
    /// waits on (a zero-copy send completes only once its data is acknowledged or
    /// dropped), and each ring releases what its cancelled ops held as their final
    /// completions arrive. So the other workers are asked to stop (each drops its tasks,
    /// then its ring), worker 0 does the same meanwhile, and only then are the threads
    /// joined.
    fn drop(&mut self) {
        for (shared, _) in &self.threads {
            if let Some(shared) = shared {
                shared.request_stop();
            }
        }
        self.worker.shutdown();
        drop(self.driver.take());
        for (_, thread) in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Runs `future` on a new runtime and returns its output: asyncio's `asyncio.run`.
///
/// ```
/// let greeting = ringlet::run(async {
///     ringlet::time::sleep(std::time::Duration::from_millis(1)).await;
///     "hello"
/// })?;
/// assert_eq!(greeting, "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The runtime has one worker per core; `future` and the tasks it [`spawn`](crate::spawn)s
/// run on worker 0, [`spawn_on`](crate::spawn_on) reaches the others.
///
/// # Errors
///
/// If the runtime cannot start: see [`Builder::build`].
///
/// # Panics
///
/// As [`Runtime::block_on`].
#[track_caller]
pub fn run<F: Future>(future: F) -> io::Result<F::Output> {
    Ok(Runtime::new()?.block_on(future))
}

/// The index of the worker running the caller (0-based), or `None` outside a runtime.
pub fn worker_index() -> Option<usize> {
    context::current_index().map(|(index, _)| index)
}

/// The number of workers of the caller's runtime, or `None` outside a runtime.
pub fn worker_count() -> Option<usize> {
    context::current_index().map(|(_, count)| count)
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;

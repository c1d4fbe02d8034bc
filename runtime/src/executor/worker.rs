//! One worker's loop: run ready tasks, fire due timers, make one trip into the kernel,
//! repeat; and the thread a worker runs on.
//!
//! Owns: [`Worker`] (its core plus the wake-up read armed on its eventfd), `block_on`, the
//! task budget between kernel trips, shutdown, and starting worker threads. Must not be
//! reached by tasks: they see their worker only through `context.rs`.

use std::cell::RefCell;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use uring_driver::op::Read;
use uring_driver::{Handle, Op, SharedFd};

use super::context::{Core, Enter};
use super::local::OwnerGuard;
use super::metrics::Counters;
use super::queue::{Shared, WorkerSet};
use super::stall::StallWatch;
use super::task_info::TaskInfo;
use super::waker::MainWaker;

/// How many task polls may run between two trips into the kernel, so that a flood of
/// ready tasks cannot keep completions waiting. While tasks are ready and the budget
/// lasts, the worker does not enter the kernel at all: tasks that wake each other (a
/// channel ping-pong) cost no syscall, and the SQEs they queue go in one submission.
const TASK_BUDGET: usize = 256;

/// The read armed on the wake-up eventfd: 8 bytes, the eventfd counter.
type WakeRead = Op<Read<Box<[u8; 8]>>>;

pub(crate) struct Worker {
    core: Rc<Core>,
    /// Read side of the wake-up eventfd and the read op armed on it.
    wake_fd: SharedFd,
    wake_read: RefCell<Option<WakeRead>>,
    /// Scratch list for the wakers of due sleeps.
    due: RefCell<Vec<Waker>>,
    /// How long an idle worker busy-polls before it sleeps (`Builder::spin_before_park`).
    spin: Option<Duration>,
    /// The stall detector, if the runtime was built with one.
    stall: Option<StallWatch>,
}

impl Worker {
    pub(crate) fn new(
        driver: Handle,
        index: usize,
        set: Arc<WorkerSet>,
        spin: Option<Duration>,
        stall: Option<StallWatch>,
    ) -> std::io::Result<Rc<Worker>> {
        let ring = match driver.can_post_wake() {
            true => Some(driver.clone_ring_fd()?),
            false => None,
        };
        let (shared, reader) = Shared::new(ring, spin.is_some(), Some(driver.stats_reader()))?;
        // Worker::new runs on the worker's own thread.
        shared.set_thread();
        Ok(Rc::new(Worker {
            core: Core::new(driver, index, set, shared),
            wake_fd: SharedFd::new(OwnedFd::from(reader)),
            wake_read: RefCell::new(None),
            due: RefCell::new(Vec::new()),
            spin,
            stall,
        }))
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.core.shared
    }

    /// Runs `future` to completion on this thread, running spawned tasks meanwhile.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(self: &Rc<Self>, future: F) -> F::Output {
        // Who the future is, for stall reports (read here: a closure would not track it).
        let location = std::panic::Location::caller();
        let info = self.stall.as_ref().map(|_| TaskInfo::new(location, None));
        let _enter = Enter::new(self.core.clone(), true);
        let local = &self.core.local;
        let main = MainWaker::new(self.core.shared.clone());
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut polls = 0;
        #[cfg(feature = "tracing")]
        let span = tracing::trace_span!(
            target: "ringlet::task",
            "runtime.block_on",
            loc.file = location.file(),
            loc.line = location.line(),
            loc.col = location.column(),
        );
        loop {
            if main.take() {
                polls += 1;
                let start = self.stall.as_ref().map(|_| Instant::now());
                #[cfg(feature = "tracing")]
                let entered = span.enter();
                let poll = future.as_mut().poll(&mut cx);
                #[cfg(feature = "tracing")]
                drop(entered);
                if let (Some(watch), Some(info), Some(start)) = (&self.stall, &info, start) {
                    watch.check(self.core.index, info, start);
                }
                if let Poll::Ready(output) = poll {
                    return output;
                }
            }
            polls += self.run_tasks();
            let jobs = local.with_ready(|ready| self.core.shared.drain_into(ready));
            self.core.shared.counters().jobs(jobs.len());
            for job in jobs {
                // A job is the runtime's own code (it resolves its handle itself, panics
                // included); a panic escaping it anyway must not take the worker down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            self.fire_timers();
            let idle = local.is_idle() && !main.is_woken();
            if idle || polls >= TASK_BUDGET {
                self.turn(idle, &|| local.is_idle() && !main.is_woken());
                polls = 0;
                self.fire_timers();
            }
        }
    }

    /// Wakes every sleep whose deadline has passed.
    fn fire_timers(&self) {
        let mut due = self.due.borrow_mut();
        {
            let mut timers = self.core.timers.borrow_mut();
            if timers.next_deadline().is_none() {
                return;
            }
            timers.expire(Instant::now(), &mut due);
        }
        for waker in due.drain(..) {
            waker.wake();
        }
    }

    /// Runs up to [`TASK_BUDGET`] ready tasks; returns how many ran.
    fn run_tasks(&self) -> usize {
        for ran in 0..TASK_BUDGET {
            let task = self.core.local.pop();
            match (task, &self.stall) {
                (Some(task), None) => task.run(),
                (Some(task), Some(watch)) => {
                    let start = Instant::now();
                    let this = task.clone();
                    task.run();
                    watch.check(self.core.index, this.info(), start);
                }
                (None, _) => return ran,
            }
        }
        TASK_BUDGET
    }

    /// One trip into the kernel: blocking when nothing is ready to run. `still_idle` is
    /// asked again after the wake-up read is armed: pushing it may submit a full SQ and
    /// reap completions, waking tasks (driver rule 9), and sleeping then would lose them.
    fn turn(&self, idle: bool, still_idle: &dyn Fn() -> bool) {
        let driver = &self.core.driver;
        self.core.shared.publish_load(self.core.local.task_count());
        let counters = self.core.shared.counters();
        let ready = self.core.local.with_ready(|ready| ready.len());
        counters.publish_queues(ready, self.core.timers.borrow().pending());
        let mut wake_read = self.wake_read.borrow_mut();
        let read =
            wake_read.get_or_insert_with(|| Op::read(driver, &self.wake_fd, Box::new([0u8; 8])));
        let idle = idle && still_idle();
        let result = if idle {
            let next = self.core.timers.borrow_mut().next_deadline();
            match self.spin {
                Some(spin) => match self.spin_for_work(spin, next, still_idle) {
                    Ok(true) => Ok(0),
                    Ok(false) => Self::park(driver, next, counters),
                    Err(e) => Err(e),
                },
                None => Self::park(driver, next, counters),
            }
        } else {
            driver.submit()
        };
        if let Err(e) = result {
            // The ring itself failed (not an op): nothing can make progress any more.
            panic!("ringlet: io_uring_enter failed, the worker cannot continue: {e}");
        }
        let mut cx = Context::from_waker(Waker::noop());
        if pin!(read).poll(&mut cx).is_ready() {
            // Woken by another thread; the next turn re-arms the read.
            *wake_read = None;
        }
    }

    /// Sleeps in the kernel until a completion, a remote wake, or the timer due at `next`.
    fn park(driver: &Handle, next: Option<Instant>, counters: &Counters) -> std::io::Result<usize> {
        let start = counters.parking();
        let timeout = next.map(|d| d.saturating_duration_since(start.unwrap_or_else(Instant::now)));
        let woken = driver.park(timeout);
        counters.parked(start);
        woken
    }

    /// Busy-polls for up to `spin`, never past the timer due at `next`: non-blocking trips
    /// into the kernel that reap completions (and run their wakers), and looks at the
    /// remote queue. `true` as soon as there is work, `false` once the time is up with
    /// none. The remote queue is only looked at, not taken, so a wake-up owed by a pusher
    /// stays owed and the loop drains the queue as usual.
    fn spin_for_work(
        &self,
        spin: Duration,
        next: Option<Instant>,
        still_idle: &dyn Fn() -> bool,
    ) -> std::io::Result<bool> {
        let start = Instant::now();
        let deadline = next.map_or(start + spin, |t| t.min(start + spin));
        let shared = &self.core.shared;
        // While this is set, pushers to the remote queue do not wake this worker: it looks
        // at the queue itself.
        shared.set_spinning(true);
        let found = loop {
            if let Err(e) = self.core.driver.submit() {
                shared.set_spinning(false);
                return Err(e);
            }
            // Looked at after every reap, the last one included: the reap may have eaten
            // the CQE of a wake (MSG_RING or the eventfd read), and the park that follows
            // a `false` would then sleep through it. A pusher flags the queue before it
            // wakes, and the main waker marks itself woken before it does, so whatever
            // wake was eaten shows here.
            if shared.has_remote() || !still_idle() {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
            std::hint::spin_loop();
        };
        shared.set_spinning(false);
        // A pusher that saw `spinning` set skipped its wake: one last look, after the
        // clear, finds what it pushed (the handshake of `Shared::wake`).
        Ok(found || shared.has_remote())
    }

    /// Drops every task's future (running their destructors and cancelling their ops),
    /// then refuses further wakes. Run before the driver is dropped.
    pub(crate) fn shutdown(self: &Rc<Self>) {
        let _enter = Enter::new(self.core.clone(), false);
        // Destructors may spawn; a few rounds settle that, a spawn loop is cut off.
        for _ in 0..64 {
            let tasks = self.core.local.registered();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                task.shutdown();
            }
        }
        self.core.local.clear_ready();
        drop(self.core.shared.close()); // unrun jobs resolve their handles as cancelled
        self.wake_read.borrow_mut().take();
    }
}

impl Drop for Worker {
    /// Rule 6 of the task cell: whatever way the worker goes (shut down, or unwound by a
    /// panic on its thread), every future still registered is dropped here, in place, on
    /// the worker's own thread, and the worker refuses remote work from then on.
    fn drop(&mut self) {
        let _owner = OwnerGuard::new(self.core.shared.id());
        loop {
            let tasks = self.core.local.take_registered();
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.shutdown();
            }
        }
        self.core.local.clear_ready();
        drop(self.core.shared.close());
    }
}

/// How a worker thread sets itself up.
pub(crate) struct ThreadConfig {
    pub(crate) index: usize,
    pub(crate) ring: uring_driver::Builder,
    pub(crate) pin_cpu: Option<usize>,
    pub(crate) set: Arc<WorkerSet>,
    pub(crate) spin: Option<Duration>,
    pub(crate) stall: Option<StallWatch>,
}

/// Starts worker `config.index` on its own thread: its ring is created there (a
/// `SINGLE_ISSUER` ring belongs to the thread that made it). Sends back the worker's shared
/// half, or why it could not start; then serves until asked to stop.
pub(crate) fn spawn_thread(
    config: ThreadConfig,
    started: std::sync::mpsc::Sender<std::io::Result<Arc<Shared>>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("ringlet-worker-{}", config.index))
        .spawn(move || {
            let setup = || -> std::io::Result<(uring_driver::Driver, Rc<Worker>)> {
                if let Some(cpu) = config.pin_cpu {
                    crate::sys::pin_current_thread(cpu)?;
                }
                let driver = config.ring.build()?;
                let worker = Worker::new(
                    driver.handle().clone(),
                    config.index,
                    config.set,
                    config.spin,
                    config.stall,
                )?;
                Ok((driver, worker))
            };
            let (driver, worker) = match setup() {
                Ok(ok) => ok,
                Err(e) => {
                    let _ = started.send(Err(e));
                    return;
                }
            };
            let shared = worker.shared().clone();
            if started.send(Ok(shared.clone())).is_err() {
                return;
            }
            worker.block_on(shared.stopped());
            worker.shutdown();
            drop(driver);
        })
}

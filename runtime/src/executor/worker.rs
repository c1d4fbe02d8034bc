//! One worker: a thread's run queues, its task registry and its ring.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use slab::Slab;
use uring_driver::op::Read;
use uring_driver::{Handle, Op, SharedFd};

use super::queue::{Job, Shared, TaskRef};
use super::raw::TaskCell;
use super::waker::MainWaker;
use crate::task::JoinHandle;
use crate::time::timers::Timers;

/// How many task polls may run between two trips into the kernel, so that a flood of
/// ready tasks cannot keep completions waiting. While tasks are ready and the budget
/// lasts, the worker does not enter the kernel at all: tasks that wake each other (a
/// channel ping-pong) cost no syscall, and the SQEs they queue go in one submission.
const TASK_BUDGET: usize = 256;

/// The read armed on the wake-up eventfd: 8 bytes, the eventfd counter.
type WakeRead = Op<Read<Box<[u8; 8]>>>;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Worker>>> = const { RefCell::new(None) };
    /// The id of the worker whose tasks this thread may poll and drop right now (0:
    /// none). The task cell checks it before touching a task's `!Send` parts.
    static OWNER: Cell<usize> = const { Cell::new(0) };
}

/// Makes worker `id` the owner on this thread until the guard drops.
pub(crate) struct OwnerGuard {
    previous: usize,
}

impl OwnerGuard {
    pub(crate) fn new(id: usize) -> OwnerGuard {
        OwnerGuard {
            previous: OWNER.with(|o| o.replace(id)),
        }
    }
}

impl Drop for OwnerGuard {
    fn drop(&mut self) {
        let _ = OWNER.try_with(|o| o.set(self.previous));
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

pub(crate) struct Worker {
    index: usize,
    set: Arc<WorkerSet>,
    shared: Arc<Shared>,
    driver: Handle,
    local: RefCell<VecDeque<TaskRef>>,
    /// Every task not yet complete, so shutdown can drop their futures.
    tasks: RefCell<Slab<TaskRef>>,
    /// Read side of the wake-up eventfd and the read op armed on it.
    wake_fd: SharedFd,
    wake_read: RefCell<Option<WakeRead>>,
    /// Sleeps pending on this worker, and a scratch list for the wakers of due ones.
    timers: RefCell<Timers>,
    due: RefCell<Vec<Waker>>,
}

impl Worker {
    pub(crate) fn new(
        driver: Handle,
        index: usize,
        set: Arc<WorkerSet>,
    ) -> std::io::Result<Rc<Worker>> {
        let (shared, reader) = Shared::new()?;
        Ok(Rc::new(Worker {
            index,
            set,
            shared,
            driver,
            local: RefCell::new(VecDeque::with_capacity(256)),
            tasks: RefCell::new(Slab::new()),
            wake_fd: SharedFd::new(OwnedFd::from(reader)),
            wake_read: RefCell::new(None),
            timers: RefCell::new(Timers::default()),
            due: RefCell::new(Vec::new()),
        }))
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs `future` to completion on this thread, running spawned tasks meanwhile.
    pub(crate) fn block_on<F: Future>(self: &Rc<Self>, future: F) -> F::Output {
        let _enter = Enter::new(self.clone(), true);
        let main = MainWaker::new(self.shared.clone());
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut polls = 0;
        loop {
            if main.take() {
                polls += 1;
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            polls += self.run_tasks();
            let jobs = self.shared.drain_into(&mut self.local.borrow_mut());
            for job in jobs {
                // A job is the runtime's own code (it resolves its handle itself, panics
                // included); a panic escaping it anyway must not take the worker down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            self.fire_timers();
            let idle = self.local.borrow().is_empty() && !main.is_woken();
            if idle || polls >= TASK_BUDGET {
                self.turn(idle, &|| self.local.borrow().is_empty() && !main.is_woken());
                polls = 0;
                self.fire_timers();
            }
        }
    }

    /// Wakes every sleep whose deadline has passed.
    fn fire_timers(&self) {
        let mut due = self.due.borrow_mut();
        {
            let mut timers = self.timers.borrow_mut();
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
            let task = self.local.borrow_mut().pop_front();
            match task {
                Some(task) => task.run(),
                None => return ran,
            }
        }
        TASK_BUDGET
    }

    /// One trip into the kernel: blocking when nothing is ready to run. `still_idle` is
    /// asked again after the wake-up read is armed: pushing it may submit a full SQ and
    /// reap completions, waking tasks (driver rule 9), and sleeping then would lose them.
    fn turn(&self, idle: bool, still_idle: &dyn Fn() -> bool) {
        let mut wake_read = self.wake_read.borrow_mut();
        let read = wake_read
            .get_or_insert_with(|| Op::read(&self.driver, &self.wake_fd, Box::new([0u8; 8])));
        let idle = idle && still_idle();
        let result = if idle {
            // Sleep in the kernel until a completion, a remote wake, or the next timer.
            let next = self.timers.borrow_mut().next_deadline();
            let timeout = next.map(|d| d.saturating_duration_since(Instant::now()));
            self.driver.park(timeout)
        } else {
            self.driver.submit()
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

    /// Drops every task's future (running their destructors and cancelling their ops),
    /// then refuses further wakes. Run before the driver is dropped.
    pub(crate) fn shutdown(self: &Rc<Self>) {
        let _enter = Enter::new(self.clone(), false);
        // Destructors may spawn; a few rounds settle that, a spawn loop is cut off.
        for _ in 0..64 {
            let tasks: Vec<TaskRef> = self.tasks.borrow().iter().map(|(_, t)| t.clone()).collect();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                task.shutdown();
            }
        }
        self.local.borrow_mut().clear();
        drop(self.shared.close()); // unrun jobs resolve their handles as cancelled
        self.wake_read.borrow_mut().take();
    }
}

/// Makes a worker current on this thread for the guard's lifetime.
struct Enter {
    previous: Option<Rc<Worker>>,
    _owner: OwnerGuard,
}

impl Enter {
    fn new(worker: Rc<Worker>, exclusive: bool) -> Enter {
        let owner = OwnerGuard::new(worker.shared.id());
        let previous = CURRENT.with(|c| c.borrow_mut().replace(worker));
        if exclusive && previous.is_some() {
            CURRENT.with(|c| *c.borrow_mut() = previous);
            panic!(
                "ringlet: block_on called from inside a runtime; \
                 await the future or spawn it instead"
            );
        }
        Enter {
            previous,
            _owner: owner,
        }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let left = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
        drop(left); // outside the borrow: it may be the worker's last reference
    }
}

impl Drop for Worker {
    /// Rule 6 of the task cell: whatever way the worker goes (shut down, or unwound by a
    /// panic on its thread), every future still registered is dropped here, in place, on
    /// the worker's own thread, and the worker refuses remote work from then on.
    fn drop(&mut self) {
        let _owner = OwnerGuard::new(self.shared.id());
        loop {
            let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.shutdown();
            }
        }
        self.local.get_mut().clear();
        drop(self.shared.close());
    }
}

fn with_current<R>(f: impl FnOnce(&Rc<Worker>) -> R) -> Option<R> {
    // A clone, so that `f` may run code (wakes, destructors) that enters or leaves a
    // worker; `None` while the slot itself is being replaced.
    let worker = CURRENT
        .try_with(|c| c.try_borrow().ok().and_then(|w| w.clone()))
        .ok()
        .flatten()?;
    Some(f(&worker))
}

/// Pushes `task` to the local queue if worker `id` is current on this thread.
pub(crate) fn push_local(id: usize, task: TaskRef) -> Result<(), TaskRef> {
    if !is_current(id) {
        return Err(task);
    }
    let mut task = Some(task);
    with_current(|w| {
        if w.shared.id() == id {
            w.local
                .borrow_mut()
                .push_back(task.take().expect("pushed once"));
        }
    });
    task.map_or(Ok(()), Err)
}

/// Whether this thread runs worker `id`'s tasks now: the check behind the task cell's
/// owner-thread rule.
pub(crate) fn is_current(id: usize) -> bool {
    OWNER.try_with(|o| o.get() == id).unwrap_or(false)
}

/// Releases the registry's hold on task `key` of worker `id`, if that worker is current.
pub(crate) fn unregister(id: usize, key: usize) {
    with_current(|w| {
        if w.shared.id() == id {
            let task = w.tasks.borrow_mut().try_remove(key);
            drop(task); // after the borrow: it may be the last reference
        }
    });
}

/// The driver of the current worker, if there is one.
pub(crate) fn current_driver() -> Option<Handle> {
    with_current(|w| w.driver.clone())
}

/// Spawns `future` on the current worker.
pub(crate) fn spawn<F>(future: F) -> Option<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current(|w| {
        let mut tasks = w.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let cell = TaskCell::new(future, w.shared.clone(), entry.key());
        entry.insert(cell.clone());
        drop(tasks);
        cell.schedule();
        JoinHandle::new(cell)
    })
}

/// Index and count of the current worker.
pub(crate) fn current_index() -> Option<(usize, usize)> {
    with_current(|w| (w.index, w.set.len().max(1)))
}

/// Runs `job` on worker `index` of the current runtime: right here if that is this
/// worker, through its job queue otherwise.
///
/// # Errors
///
/// Gives the job back if there is no current runtime, no such worker, or it has stopped.
pub(crate) fn run_job_on(index: usize, job: Job) -> Result<(), Job> {
    let target = with_current(|w| {
        if w.index == index {
            None
        } else {
            Some(w.set.get(index).cloned())
        }
    });
    match target {
        Some(None) => {
            job();
            Ok(())
        }
        Some(Some(Some(shared))) => shared.send_job(job),
        Some(Some(None)) | None => Err(job),
    }
}

/// How a worker thread sets itself up.
pub(crate) struct ThreadConfig {
    pub(crate) index: usize,
    pub(crate) ring: uring_driver::Builder,
    pub(crate) pin_cpu: Option<usize>,
    pub(crate) set: Arc<WorkerSet>,
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
                    super::raw::pin_current_thread(cpu)?;
                }
                let driver = config.ring.build()?;
                let worker = Worker::new(driver.handle().clone(), config.index, config.set)?;
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

/// A sleep's registration: which worker's timers, and the key there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimerKey {
    worker: usize,
    key: usize,
}

/// Registers a timer with the current worker; `None` outside a runtime.
pub(crate) fn insert_timer(deadline: Instant, waker: Waker) -> Option<TimerKey> {
    with_current(|w| TimerKey {
        worker: w.shared.id(),
        key: w.timers.borrow_mut().insert(deadline, waker),
    })
}

/// Updates the waker of a timer of the current worker; `false` if `timer` belongs to
/// another worker (the caller registers anew).
pub(crate) fn update_timer(timer: TimerKey, waker: &Waker) -> bool {
    with_current(|w| {
        let mine = w.shared.id() == timer.worker;
        if mine {
            w.timers.borrow_mut().set_waker(timer.key, waker);
        }
        mine
    })
    .unwrap_or(false)
}

/// Releases a timer. A timer of a worker that is not current here (its runtime is gone,
/// or another runtime runs on this thread now) dies with that worker.
pub(crate) fn remove_timer(timer: TimerKey) {
    with_current(|w| {
        if w.shared.id() == timer.worker {
            w.timers.borrow_mut().remove(timer.key);
        }
    });
}

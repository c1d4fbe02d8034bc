//! The current worker: what code running on a worker's thread reaches without being told.
//!
//! Owns: the `CURRENT` thread local (the [`Core`] of the worker running here), entering and
//! leaving it ([`Enter`]), spawning onto it, its ring ([`driver`], [`with_driver`], the one
//! way every I/O wrapper gets a driver), its timers (for `time/`), and sending jobs to the
//! other workers of its runtime. Must not run the worker loop (`worker.rs`) or poll tasks
//! (`raw.rs`).

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use uring_driver::{BufResult, Handle};

use super::join::JoinHandle;
use super::local::{Local, LocalGuard, OwnerGuard};
use super::queue::{Job, PosterGuard, Shared, WorkerSet};
use super::raw::TaskCell;
use super::task_info::TaskInfo;
use super::timers::Timers;
use crate::error::named_buf;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// A worker's state as the code running on it sees it.
pub(crate) struct Core {
    pub(crate) index: usize,
    pub(crate) set: Arc<WorkerSet>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) driver: Handle,
    pub(crate) local: Rc<Local>,
    /// Sleeps pending on this worker.
    pub(crate) timers: RefCell<Timers>,
    /// The ring's table of registered files, made on first use.
    files: RefCell<Option<uring_driver::FileTable>>,
}

impl Core {
    pub(crate) fn new(
        driver: Handle,
        index: usize,
        set: Arc<WorkerSet>,
        shared: Arc<Shared>,
    ) -> Rc<Core> {
        Rc::new(Core {
            index,
            set,
            local: Local::new(shared.id()),
            shared,
            driver,
            timers: RefCell::new(Timers::default()),
            files: RefCell::new(None),
        })
    }
}

/// Makes a worker current on this thread for the guard's lifetime: its tasks may be
/// polled here, wakes here push to its ready queue, and I/O uses its ring.
pub(crate) struct Enter {
    previous: Option<Rc<Core>>,
    _poster: PosterGuard,
    _local: LocalGuard,
    _owner: OwnerGuard,
}

impl Enter {
    /// Enters `core`. `exclusive`: refuse (panic) if a worker is current already, as
    /// `block_on` inside a runtime must.
    pub(crate) fn new(core: Rc<Core>, exclusive: bool) -> Enter {
        let owner = OwnerGuard::new(core.shared.id());
        let local = LocalGuard::new(core.local.clone());
        let poster = PosterGuard::new(core.driver.clone());
        let previous = CURRENT.with(|c| c.borrow_mut().replace(core));
        if exclusive && previous.is_some() {
            CURRENT.with(|c| *c.borrow_mut() = previous);
            panic!(
                "ringlet: block_on called from inside a runtime; \
                 await the future or spawn it instead"
            );
        }
        Enter {
            previous,
            _poster: poster,
            _local: local,
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

/// Runs `f` on the current worker; `None` outside a runtime.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    // A clone, so that `f` may run code (wakes, destructors) that enters or leaves a
    // worker; `None` while the slot itself is being replaced.
    let core = CURRENT
        .try_with(|c| c.try_borrow().ok().and_then(|w| w.clone()))
        .ok()
        .flatten()?;
    Some(f(&core))
}

/// Spawns `future` on the current worker; `None` outside a runtime.
pub(crate) fn spawn<F>(future: F, info: TaskInfo) -> Option<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current(|core| {
        let cell = core
            .local
            .register(|key| TaskCell::new(future, core.shared.clone(), key, info));
        core.shared.counters().spawned();
        cell.schedule();
        JoinHandle::new(cell)
    })
}

/// The error of I/O attempted outside a runtime.
fn no_runtime() -> io::Error {
    io::Error::other("ringlet I/O used outside a ringlet runtime (call it from run/block_on)")
}

/// The current worker's ring.
///
/// # Errors
///
/// Outside a runtime, an error that says so.
pub(crate) fn driver() -> io::Result<Handle> {
    with_current(|core| core.driver.clone()).ok_or_else(no_runtime)
}

/// Slots in each worker's table of registered files.
pub(crate) const REGISTERED_FILES: u32 = 4096;

/// The current worker's table of registered files, registered with its ring on first use
/// ([`REGISTERED_FILES`] slots).
///
/// # Errors
///
/// Outside a runtime; or the table's registration error (`Unsupported` before Linux
/// 5.19).
pub(crate) fn file_table() -> io::Result<uring_driver::FileTable> {
    with_current(|core| {
        let mut files = core.files.borrow_mut();
        if let Some(table) = &*files {
            return Ok(table.clone());
        }
        let table = uring_driver::FileTable::new(&core.driver, REGISTERED_FILES)?;
        Ok(files.insert(table).clone())
    })
    .unwrap_or_else(|| Err(no_runtime()))
}

/// Runs the owned-buffer op `op` builds on the current worker's ring, and names its error
/// after `what` (`"recv: connection reset"`). Outside a runtime nothing is submitted and
/// the buffer comes back with the error. The one shape every I/O wrapper shares.
///
/// A plain function returning [`WithDriver`], not an `async fn`: the future of every read
/// and write is the op's own plus a name, with no generator state around it (an `async`
/// layer here kept the buffer, the closure and the handle beside the op, 70-90 bytes more
/// in every connection's task).
pub(crate) fn with_driver<B, T, Fut>(
    what: &'static str,
    buf: B,
    op: impl FnOnce(&Handle, B) -> Fut,
) -> WithDriver<Fut, B>
where
    Fut: Future<Output = BufResult<T, B>>,
{
    let state = match driver() {
        Ok(driver) => Started::Op {
            op: op(&driver, buf),
        },
        Err(e) => Started::Failed {
            failed: Some((e, buf)),
        },
    };
    WithDriver { what, state }
}

pin_project_lite::pin_project! {
    /// The future of [`with_driver`]: the op, or the error of not reaching a ring.
    pub(crate) struct WithDriver<Fut, B> {
        what: &'static str,
        #[pin]
        state: Started<Fut, B>,
    }
}

pin_project_lite::pin_project! {
    #[project = StartedProj]
    enum Started<Fut, B> {
        Op { #[pin] op: Fut },
        Failed { failed: Option<(io::Error, B)> },
    }
}

impl<B, T, Fut> Future for WithDriver<Fut, B>
where
    Fut: Future<Output = BufResult<T, B>>,
{
    type Output = BufResult<T, B>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let out = match this.state.project() {
            StartedProj::Op { op } => std::task::ready!(op.poll(cx)),
            StartedProj::Failed { failed } => {
                let (e, buf) = failed.take().expect("polled after completion");
                (Err(e), buf)
            }
        };
        std::task::Poll::Ready(named_buf(this.what, out))
    }
}

/// Index and count of the current worker.
pub(crate) fn current_index() -> Option<(usize, usize)> {
    with_current(|core| (core.index, core.set.len().max(1)))
}

/// Runs `job` on worker `index` of the current runtime: right here if that is this
/// worker, through its job queue otherwise.
///
/// # Errors
///
/// Gives the job back if there is no current runtime, no such worker, or it has stopped.
pub(crate) fn run_job_on(index: usize, job: Job) -> Result<(), Job> {
    let target = with_current(|core| {
        if core.index == index {
            None
        } else {
            Some(core.set.get(index).cloned())
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

//! The ring and its op table: submission, waiting, reaping, and shutdown.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::mem;
use std::ops::Deref;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use io_uring::{IoUring, Probe, opcode, squeue, types};
use slab::Slab;

use crate::op::{Completable, CqeResult, IgnoredOp, Lifecycle, MultishotCompletable};

/// user_data of the driver's own cancel SQEs; their CQEs are not routed to any op.
const CANCEL_USER_DATA: u64 = u64::MAX;
/// user_data of the timeout SQE used to bound a wait on kernels without `EXT_ARG`.
const PARK_TIMEOUT_USER_DATA: u64 = u64::MAX - 1;
/// `IORING_ENTER_GETEVENTS`: also the flag that runs deferred task work.
const ENTER_GETEVENTS: u32 = 1;
/// How long a dropped driver waits for the kernel to post the CQEs of cancelled ops.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// How often an enter refused with EBUSY/EAGAIN is retried after reaping.
const ENTER_RETRIES: u32 = 1024;

/// How the kernel runs the completion work of this ring, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskrunMode {
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (Linux 6.1+): completion
    /// work runs only when this thread enters the kernel, with no interrupts.
    Deferred,
    /// `IORING_SETUP_COOP_TASKRUN` (Linux 5.19+): no IPI to the issuer on completion.
    Cooperative,
    /// The kernel's default.
    Default,
}

/// What the ring was set up with; see [`Handle::features`].
#[derive(Clone, Copy, Debug)]
pub struct Features {
    /// How completion work is run.
    pub taskrun: TaskrunMode,
    /// Whether waits take a timeout directly (`IORING_FEAT_EXT_ARG`, Linux 5.11+); without
    /// it, a timeout SQE bounds the wait.
    pub ext_arg: bool,
    /// Whether waits can coalesce completions (`IORING_FEAT_MIN_TIMEOUT`, Linux 6.12+);
    /// see [`Builder::coalesce_completions`].
    pub min_timeout: bool,
    /// Submission queue entries.
    pub sq_entries: u32,
    /// Completion queue entries.
    pub cq_entries: u32,
}

/// Configures and builds a [`Driver`].
#[derive(Clone, Debug)]
pub struct Builder {
    entries: u32,
    defer_taskrun: bool,
    coalesce: Option<Coalesce>,
}

/// Completion coalescing of blocking waits: wait for `batch` completions, but no longer
/// than `max_delay` past the first.
#[derive(Clone, Copy, Debug)]
struct Coalesce {
    batch: u32,
    max_delay_us: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            entries: 256,
            defer_taskrun: true,
            coalesce: None,
        }
    }
}

impl Builder {
    /// Submission queue size (rounded up to a power of two by the kernel). The completion
    /// queue is twice as large. A full SQ is never an error: it is submitted to make room.
    pub fn entries(mut self, entries: u32) -> Self {
        self.entries = entries.max(1);
        self
    }

    /// Whether to try `DEFER_TASKRUN` first (default `true`). With `false` the ring starts at
    /// cooperative task running; useful to exercise that mode.
    pub fn defer_taskrun(mut self, on: bool) -> Self {
        self.defer_taskrun = on;
        self
    }

    /// Coalesces completions when the ring waits (default: off). A blocking wait returns
    /// once `batch` completions are ready, or once `max_delay` has passed and at least one
    /// is: fewer wake-ups under moderate load, for up to `max_delay` of added latency. A
    /// wait bounded by a shorter timeout (the next timer) is not coalesced, so timers keep
    /// their precision.
    ///
    /// Needs `IORING_FEAT_MIN_TIMEOUT` (Linux 6.12); on older kernels waits are not
    /// coalesced, and [`Features::min_timeout`] says so. `batch` 0 or 1, or a zero delay,
    /// turns coalescing off.
    pub fn coalesce_completions(mut self, batch: u32, max_delay: Duration) -> Self {
        let max_delay_us = u32::try_from(max_delay.as_micros()).unwrap_or(u32::MAX);
        self.coalesce = (batch > 1 && max_delay_us > 0).then_some(Coalesce {
            batch,
            max_delay_us,
        });
        self
    }

    /// Creates the ring, falling back from the best task-running mode the kernel accepts.
    ///
    /// # Errors
    ///
    /// If io_uring cannot be set up, an error that names io_uring, the errno and the remedy
    /// (io_uring disabled by sysctl or seccomp, too low `RLIMIT_MEMLOCK`, a kernel without
    /// io_uring). `Unsupported` if the kernel lacks `IORING_FEAT_NODROP` (Linux 5.5).
    pub fn build(self) -> io::Result<Driver> {
        let attempts: &[TaskrunMode] = if self.defer_taskrun {
            &[
                TaskrunMode::Deferred,
                TaskrunMode::Cooperative,
                TaskrunMode::Default,
            ]
        } else {
            &[TaskrunMode::Cooperative, TaskrunMode::Default]
        };
        let mut last_error = None;
        for &mode in attempts {
            let mut builder = IoUring::builder();
            match mode {
                TaskrunMode::Deferred => {
                    builder
                        .setup_single_issuer()
                        .setup_defer_taskrun()
                        .setup_submit_all();
                }
                TaskrunMode::Cooperative => {
                    builder.setup_coop_taskrun();
                }
                TaskrunMode::Default => {}
            }
            match builder.build(self.entries) {
                Ok(ring) => return Driver::from_ring(ring, mode, self.coalesce),
                // EINVAL: this kernel does not know a flag; try the next mode.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last_error = Some(e),
                Err(e) => return Err(setup_error(e)),
            }
        }
        Err(setup_error(last_error.expect("at least one setup attempt")))
    }
}

fn setup_error(e: io::Error) -> io::Error {
    let remedy = match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            "io_uring is forbidden for this process: either sysctl kernel.io_uring_disabled is \
             set (set it to 0, or to 1 and add this user's group to kernel.io_uring_group), or \
             a seccomp filter blocks io_uring_setup, as Docker's default profile does (run with \
             a profile that allows io_uring_setup, io_uring_enter and io_uring_register)"
        }
        Some(libc::ENOSYS) => {
            "the kernel has no io_uring (built without CONFIG_IO_URING or older than Linux \
             5.1), or a seccomp filter hides it; ringlet needs Linux 5.11 or newer with \
             io_uring enabled"
        }
        Some(libc::ENOMEM) => {
            "the ring could not be allocated: raise the locked-memory limit (ulimit -l) or \
             use fewer ring entries"
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            "the process is out of file descriptors; raise the limit (ulimit -n)"
        }
        Some(libc::EINVAL) => "the kernel rejected every ring configuration ringlet tried",
        _ => "io_uring is unavailable",
    };
    io::Error::new(e.kind(), SetupError { source: e, remedy })
}

/// Why `io_uring_setup` failed and what to do about it. Its source is the OS error, so the
/// errno stays reachable (`std::error::Error::source`).
#[derive(Debug)]
struct SetupError {
    source: io::Error,
    remedy: &'static str,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "io_uring_setup failed: {}; {}", self.source, self.remedy)
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Owner of one io_uring instance and its op table.
///
/// Ops are created against its [`Handle`] (also reachable through `Deref`). The driver does
/// not run tasks: a caller (an executor, or a test loop) pushes ops, calls
/// [`submit`](Handle::submit) or [`park`](Handle::park), and polls the ops the reaper woke.
///
/// Dropping the driver cancels every op in flight and waits (at most 2 s) for their final
/// CQEs; data the kernel never answered for is leaked rather than freed. Ops that are still
/// alive afterwards resolve with their cancelled results; new ops fail with an error.
#[derive(Debug)]
pub struct Driver {
    handle: Handle,
}

/// A cheap, clonable reference to a [`Driver`], held by every op.
#[derive(Clone)]
pub struct Handle {
    inner: Rc<RefCell<Inner>>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.try_borrow() {
            Ok(inner) => f
                .debug_struct("Handle")
                .field("features", &inner.features)
                .field("in_flight", &inner.in_flight)
                .field("slots", &inner.ops.len())
                .field("shut_down", &inner.shut_down)
                .finish(),
            Err(_) => f.write_str("Handle { <in use> }"),
        }
    }
}

struct Inner {
    ring: IoUring,
    /// This ring's identity, unique in the process: objects that belong to one ring
    /// (buffer rings, fixed buffers, file tables) record it, and ops check it.
    id: u64,
    ops: Slab<Lifecycle>,
    /// Slots whose final CQE has not been reaped yet.
    in_flight: usize,
    probe: Option<Probe>,
    features: Features,
    shut_down: bool,
    next_buffer_group: u16,
    /// Set by `with_link_timeout`: the next op pushed gets a linked timeout.
    link_next: Option<Duration>,
    /// Timespecs of linked timeouts in the SQ. The kernel copies each when the SQE is
    /// submitted; they are freed once the SQ is empty. Boxed on purpose: the SQEs hold
    /// their addresses, which must not move when the vector grows.
    #[allow(clippy::vec_box)]
    link_timespecs: Vec<Box<types::Timespec>>,
    /// Op data freed by the reaper, dropped once the borrow of `Inner` ends (rule 6).
    graveyard: Vec<Box<dyn IgnoredOp>>,
    /// Wakers of ops the reaper completed, woken once the borrow of `Inner` ends: a waker
    /// may run arbitrary code, including code that uses this driver.
    woken: Vec<std::task::Waker>,
    /// Completions reaped by a push that had to submit to make room; a wait that follows
    /// must not block, since those completions may have made work ready (rule 9).
    reaped_in_push: usize,
    /// Slots of dropped ops whose cancel SQE could not be pushed; retried every turn.
    cancel_backlog: Vec<usize>,
    /// The timespec of the wait-bounding timeout SQE on kernels without EXT_ARG. The kernel
    /// copies it while the SQE is submitted; it lives here so it outlives that.
    park_timespec: Box<types::Timespec>,
    /// Coalescing of blocking waits, when configured and supported.
    coalesce: Option<Coalesce>,
    /// Times the kernel reported completions waiting in its overflow list.
    overflow_flushes: u64,
}

impl Driver {
    /// A driver with the default configuration (256 entries, best task-running mode).
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Driver> {
        Builder::default().build()
    }

    /// Configures a driver.
    pub fn builder() -> Builder {
        Builder::default()
    }

    fn from_ring(
        ring: IoUring,
        taskrun: TaskrunMode,
        coalesce: Option<Coalesce>,
    ) -> io::Result<Driver> {
        let params = ring.params();
        if !params.is_feature_nodrop() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_NODROP (Linux 5.5+): completions could be lost \
                 on CQ overflow; ringlet needs Linux 5.11 or newer",
            ));
        }
        let features = Features {
            taskrun,
            ext_arg: params.is_feature_ext_arg(),
            min_timeout: params.is_feature_min_timeout(),
            sq_entries: params.sq_entries(),
            cq_entries: params.cq_entries(),
        };
        let mut probe = Probe::new();
        let probe = ring
            .submitter()
            .register_probe(&mut probe)
            .ok()
            .map(|()| probe);
        static NEXT_RING_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let inner = Inner {
            ring,
            id: NEXT_RING_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ops: Slab::with_capacity(64),
            in_flight: 0,
            probe,
            features,
            shut_down: false,
            next_buffer_group: 0,
            link_next: None,
            link_timespecs: Vec::new(),
            graveyard: Vec::new(),
            woken: Vec::new(),
            reaped_in_push: 0,
            cancel_backlog: Vec::new(),
            park_timespec: Box::new(types::Timespec::new()),
            coalesce: coalesce.filter(|_| features.min_timeout && features.ext_arg),
            overflow_flushes: 0,
        };
        Ok(Driver {
            handle: Handle {
                inner: Rc::new(RefCell::new(inner)),
            },
        })
    }

    /// A handle for creating ops on this driver.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Deref for Driver {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        {
            let Ok(mut inner) = self.handle.inner.try_borrow_mut() else {
                // Only reachable if a destructor drops the driver from inside a driver call;
                // the ring stays alive through the other handles, nothing is freed early.
                return;
            };
            inner.shut_down = true;
            let keys: Vec<usize> = inner
                .ops
                .iter()
                .filter(|(_, slot)| !matches!(slot, Lifecycle::Completed(_)))
                .map(|(key, _)| key)
                .collect();
            for key in keys {
                inner.push_cancel(key);
            }
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        loop {
            // Each round releases what the reaped ops held (an fd, a peer socket) before
            // waiting again: another op's final CQE may wait on exactly that.
            let done = self.handle.with_inner(|inner| {
                let now = Instant::now();
                inner.in_flight == 0
                    || now >= deadline
                    || inner.turn(1, Some(deadline - now)).is_err()
            });
            if done {
                break;
            }
        }
        self.handle.with_inner(|inner| {
            if inner.in_flight > 0 {
                // Rule 5: the kernel did not answer; leak what it may still touch.
                for (_, slot) in inner.ops.iter_mut() {
                    if let Lifecycle::Ignored(_) = slot {
                        mem::forget(mem::replace(slot, Lifecycle::Submitted));
                    }
                }
            }
        });
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // All handles are gone, so no op can still own data in a Waiting slot; an Ignored
        // slot left here never got its final CQE (rule 5): leak it.
        for (_, slot) in self.ops.iter_mut() {
            if let Lifecycle::Ignored(_) = slot {
                mem::forget(mem::replace(slot, Lifecycle::Submitted));
            }
        }
    }
}

impl Handle {
    /// Submits the queued SQEs and reaps the completions that are ready, without blocking.
    /// Returns how many CQEs were reaped. Makes no syscall when nothing is queued or in flight.
    ///
    /// # Errors
    ///
    /// What `io_uring_enter` reports, other than interruptions and transient EBUSY/EAGAIN.
    pub fn submit(&self) -> io::Result<usize> {
        self.run_turn(0, None)
    }

    /// Submits the queued SQEs and waits until at least one completion arrives, or `timeout`
    /// passes, or a signal interrupts the wait. Returns how many CQEs were reaped.
    ///
    /// # Errors
    ///
    /// As for [`submit`](Handle::submit).
    pub fn park(&self, timeout: Option<Duration>) -> io::Result<usize> {
        match timeout {
            Some(t) if t.is_zero() => self.run_turn(0, None),
            _ => self.run_turn(1, timeout),
        }
    }

    fn run_turn(&self, want: u32, timeout: Option<Duration>) -> io::Result<usize> {
        self.with_inner(|inner| inner.turn(want, timeout))
    }

    /// Runs `f` on the driver's state, then, with the borrow released, wakes the ops it
    /// completed and drops the data it freed (rule 6): both may run arbitrary code that
    /// uses the driver again.
    fn with_inner<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let (out, mut woken, graveyard) = {
            let mut inner = self.inner.borrow_mut();
            let out = f(&mut inner);
            (
                out,
                mem::take(&mut inner.woken),
                mem::take(&mut inner.graveyard),
            )
        };
        let reuse = woken.capacity() > 0;
        for waker in woken.drain(..) {
            waker.wake();
        }
        drop(graveyard);
        if reuse {
            // Hand the (empty) vector back, so a busy ring does not allocate every turn.
            if let Ok(mut inner) = self.inner.try_borrow_mut()
                && inner.woken.capacity() == 0
            {
                inner.woken = woken;
            }
        }
        out
    }

    /// This ring's identity, unique in the process.
    pub fn ring_id(&self) -> u64 {
        self.inner.borrow().id
    }

    /// Whether `other` is a handle to the same ring.
    pub fn same_ring(&self, other: &Handle) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// Checks that `owner`, the ring `what` belongs to, is this ring: an object registered
    /// with one ring (a buffer group, a buffer table, a file table) means nothing, or
    /// something else, to another.
    ///
    /// # Errors
    ///
    /// `InvalidInput`, naming `what` and both rings.
    pub(crate) fn check_owner(&self, owner: &Handle, what: &str) -> io::Result<()> {
        if self.same_ring(owner) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} belongs to io_uring ring #{}, but the op was built on ring #{}; \
                 objects registered with one ring cannot be used on another (create one \
                 per ring, e.g. per worker)",
                owner.ring_id(),
                self.ring_id()
            ),
        ))
    }

    /// Ops whose final completion has not been reaped yet (including dropped ones waiting
    /// for theirs).
    pub fn in_flight(&self) -> usize {
        self.inner.borrow().in_flight
    }

    /// Occupied slots of the op table: ops in flight plus completions not yet polled.
    pub fn slots(&self) -> usize {
        self.inner.borrow().ops.len()
    }

    /// How many times the completion queue was found overflowed (`IORING_SQ_CQ_OVERFLOW`:
    /// the kernel holds completions that did not fit) and the driver flushed it. None is
    /// lost (`IORING_FEAT_NODROP`); a steady count says the ring is too small for the load.
    pub fn cq_overflow_flushes(&self) -> u64 {
        self.inner.borrow().overflow_flushes
    }

    /// What the ring was set up with.
    pub fn features(&self) -> Features {
        self.inner.borrow().features
    }

    /// Whether the kernel supports `opcode` (from the io_uring probe; `true` if the kernel is
    /// too old to be probed, in which case an unsupported op fails with `EINVAL`).
    pub fn is_supported(&self, opcode: u8) -> bool {
        self.inner.borrow().supports(opcode)
    }

    /// Runs `push_op` (which should create exactly one op) so that the op is cancelled by
    /// the kernel if it has not completed after `timeout` (`IORING_OP_LINK_TIMEOUT`): it
    /// then completes with `ECANCELED`. No user-space timer is involved.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uring_driver::{Driver, Op, SharedFd};
    ///
    /// let driver = Driver::new()?;
    /// let (r, _w) = std::io::pipe()?;
    /// let r = SharedFd::new(r.into());
    /// let mut op = driver.with_link_timeout(Duration::from_millis(10), || {
    ///     Op::read(&driver, &r, vec![0u8; 8])
    /// });
    /// # let mut op = std::pin::pin!(op);
    /// # let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// # let (res, _) = loop {
    /// #     if let std::task::Poll::Ready(out) = op.as_mut().poll(&mut cx) { break out; }
    /// #     driver.park(None)?;
    /// # };
    /// # assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_link_timeout<R>(&self, timeout: Duration, push_op: impl FnOnce() -> R) -> R {
        /// Clears the pending link however `push_op` ends, even by a panic: an op that was
        /// never pushed leaves nothing to link, and the next unrelated op must not get it.
        struct ClearLink<'a>(&'a Handle);
        impl Drop for ClearLink<'_> {
            fn drop(&mut self) {
                if let Ok(mut inner) = self.0.inner.try_borrow_mut() {
                    inner.link_next = None;
                }
            }
        }
        self.inner.borrow_mut().link_next = Some(timeout);
        let _clear = ClearLink(self);
        push_op()
    }

    /// A buffer group id not used yet on this ring.
    pub(crate) fn next_buffer_group(&self) -> u16 {
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_buffer_group;
        inner.next_buffer_group = id.wrapping_add(1);
        id
    }

    /// Registers a provided-buffer ring.
    ///
    /// # Safety
    ///
    /// `ring_addr` must point to page-aligned memory for `entries` ring entries that stays
    /// allocated until the ring is unregistered.
    pub(crate) unsafe fn register_buf_ring(
        &self,
        ring_addr: u64,
        entries: u16,
        group: u16,
    ) -> io::Result<()> {
        let inner = self.inner.borrow();
        // SAFETY: forwarded from this function's contract.
        unsafe {
            inner
                .ring
                .submitter()
                .register_buf_ring_with_flags(ring_addr, entries, group, 0)
        }
    }

    /// Registers the ring's fixed-buffer table.
    ///
    /// # Safety
    ///
    /// Every iovec must point to memory that stays allocated until the table is
    /// unregistered.
    pub(crate) unsafe fn register_buffers(&self, iovecs: &[libc::iovec]) -> io::Result<()> {
        let inner = self.inner.borrow();
        // SAFETY: forwarded from this function's contract.
        unsafe { inner.ring.submitter().register_buffers(iovecs) }
    }

    /// Unregisters the ring's fixed-buffer table.
    pub(crate) fn unregister_buffers(&self) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::other("driver busy"))?;
        inner.ring.submitter().unregister_buffers()
    }

    /// Registers an empty (sparse) file table of `capacity` slots.
    pub(crate) fn register_files_sparse(&self, capacity: u32) -> io::Result<()> {
        self.inner
            .borrow()
            .ring
            .submitter()
            .register_files_sparse(capacity)
    }

    /// Sets file-table slots from `offset` on (`-1` clears a slot).
    pub(crate) fn update_files(&self, offset: u32, fds: &[std::os::fd::RawFd]) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::other("driver busy"))?;
        inner
            .ring
            .submitter()
            .register_files_update(offset, fds)
            .map(drop)
    }

    /// Unregisters a provided-buffer ring.
    pub(crate) fn unregister_buf_ring(&self, group: u16) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::other("driver busy"))?;
        inner.ring.submitter().unregister_buf_ring(group)
    }

    /// Whether the owning [`Driver`] has been dropped.
    pub fn is_shut_down(&self) -> bool {
        self.inner.borrow().shut_down
    }

    /// Pushes `entry` as the op in a new slot holding `slot`; returns the slot's key.
    ///
    /// # Safety
    ///
    /// As for [`Op::new`](crate::Op::new): every pointer in `entry` stays valid until the
    /// final CQE of the returned slot, i.e. the caller keeps what they point into alive
    /// and hands it to [`abandon`](Handle::abandon) if it is dropped before then.
    pub(crate) unsafe fn push_op(
        &self,
        entry: squeue::Entry,
        slot: Lifecycle,
    ) -> io::Result<usize> {
        self.with_inner(|inner| {
            // SAFETY: forwarded from this function's contract.
            unsafe { inner.push_op(entry, slot) }
        })
    }
    pub(crate) fn poll_op(&self, key: usize, cx: &mut Context<'_>) -> Poll<CqeResult> {
        let mut inner = self.inner.borrow_mut();
        let slot = &mut inner.ops[key];
        match slot {
            Lifecycle::Completed(_) => match inner.ops.remove(key) {
                Lifecycle::Completed(cqe) => Poll::Ready(cqe),
                _ => unreachable!(),
            },
            Lifecycle::Submitted => {
                *slot = Lifecycle::Waiting(cx.waker().clone());
                Poll::Pending
            }
            Lifecycle::Waiting(waker) => {
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
                Poll::Pending
            }
            other => unreachable!("single-shot op polled in a {other:?} slot"),
        }
    }

    pub(crate) fn poll_multishot(&self, key: usize, cx: &mut Context<'_>) -> Poll<CqeResult> {
        let mut inner = self.inner.borrow_mut();
        let Lifecycle::Multishot { queue, waker, .. } = &mut inner.ops[key] else {
            unreachable!("multishot op polled in a single-shot slot")
        };
        match queue.pop_front() {
            Some(cqe) => {
                if !cqe.has_more() {
                    inner.ops.remove(key);
                }
                Poll::Ready(cqe)
            }
            None => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    pub(crate) fn cancel(&self, key: usize) {
        self.with_inner(|inner| {
            if !matches!(inner.ops.get(key), Some(Lifecycle::Completed(_)) | None) {
                inner.push_cancel(key);
            }
        });
    }

    /// Pushes an `IORING_OP_TIMEOUT_REMOVE` for the timeout in slot `key` (rule 7, as for
    /// cancel: only while the slot still holds it).
    pub(crate) fn remove_timeout(&self, key: usize) {
        self.with_inner(|inner| {
            if matches!(inner.ops.get(key), Some(Lifecycle::Completed(_)) | None)
                || !inner.supports(opcode::TimeoutRemove::CODE)
            {
                return;
            }
            let entry = opcode::TimeoutRemove::new(key as u64)
                .build()
                .user_data(CANCEL_USER_DATA);
            // SAFETY: a timeout-remove SQE carries no pointers, only the target's user_data.
            // If it cannot be pushed the timeout fires on its own, which is sound.
            let _ = unsafe { inner.push(&entry) };
        });
    }

    /// Rule 2: the op's future is gone before its completion; park `data` in its slot.
    pub(crate) fn abandon<T: Completable>(&self, key: usize, mut data: T) {
        // Whatever must be dropped is returned, to drop after the borrow (rule 6).
        let dropped = self.with_inner(|inner| match &inner.ops[key] {
            Lifecycle::Completed(cqe) => {
                // Completed but never polled: release what the result created (rule 3).
                data.cleanup_ignored(cqe);
                Some((inner.ops.remove(key), Some(data)))
            }
            _ if inner.shut_down => {
                // Rule 5: the shutdown wait ended without this op's CQE.
                mem::forget(data);
                None
            }
            _ => {
                let old = mem::replace(&mut inner.ops[key], Lifecycle::ignored_once(data));
                inner.push_cancel(key);
                Some((old, None))
            }
        });
        drop(dropped);
    }

    pub(crate) fn abandon_multishot<T: MultishotCompletable>(&self, key: usize, mut data: T) {
        let dropped = self.with_inner(|inner| {
            let Lifecycle::Multishot { queue, tap, .. } = &mut inner.ops[key] else {
                unreachable!("multishot op in a single-shot slot")
            };
            let tap = tap.take();
            let mut finished = false;
            for cqe in queue.drain(..) {
                data.cleanup_ignored(&cqe);
                finished |= !cqe.has_more();
            }
            if finished {
                Some((inner.ops.remove(key), Some(data)))
            } else if inner.shut_down {
                mem::forget(data);
                None
            } else {
                let old = mem::replace(&mut inner.ops[key], Lifecycle::ignored_multi(data, tap));
                inner.push_cancel(key);
                Some((old, None))
            }
        });
        drop(dropped);
    }
}

impl Inner {
    /// # Safety
    ///
    /// As for [`Handle::push_op`].
    unsafe fn push_op(&mut self, entry: squeue::Entry, slot: Lifecycle) -> io::Result<usize> {
        if self.shut_down {
            return Err(io::Error::other("the io_uring driver has shut down"));
        }
        let code = entry.get_opcode() as u8;
        if !self.supports(code) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "io_uring opcode {} is not supported by this kernel",
                    opcode_name(code)
                ),
            ));
        }
        let key = self.ops.insert(slot);
        let entry = entry.user_data(key as u64);
        let pushed = match self.link_next.take() {
            None => {
                // SAFETY: forwarded from `Op::new`'s contract: the entry's pointers stay
                // valid until the final CQE of slot `key`.
                unsafe { self.push(&entry) }
            }
            // SAFETY: as above.
            Some(timeout) => unsafe { self.push_linked(entry, timeout) },
        };
        if let Err(e) = pushed {
            self.ops.remove(key);
            return Err(e);
        }
        self.in_flight += 1;
        Ok(key)
    }

    fn supports(&self, opcode: u8) -> bool {
        self.probe.as_ref().is_none_or(|p| p.is_supported(opcode))
    }

    /// Pushes one SQE, submitting to make room when the SQ is full.
    ///
    /// # Safety
    ///
    /// The pointers in `entry` must stay valid until its final CQE.
    unsafe fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: forwarded from this function's contract.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            // The SQ is full: hand it to the kernel, then retry. What that reaps may have
            // made work ready: the next wait must not block (rule 9).
            self.reaped_in_push += self.turn(0, None)?;
        }
    }

    /// Pushes `entry` linked to a timeout SQE, both into the same submission.
    ///
    /// # Safety
    ///
    /// As for [`push`](Inner::push).
    unsafe fn push_linked(&mut self, entry: squeue::Entry, timeout: Duration) -> io::Result<()> {
        if !self.supports(opcode::LinkTimeout::CODE) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring opcode IORING_OP_LINK_TIMEOUT is not supported by this kernel",
            ));
        }
        // Both SQEs must go in one submission, or the link would be cut between them.
        let free = {
            let sq = self.ring.submission();
            sq.capacity() - sq.len()
        };
        if free < 2 {
            self.reaped_in_push += self.turn(0, None)?;
        }
        let timespec = Box::new(types::Timespec::from(timeout));
        let link = opcode::LinkTimeout::new(&*timespec)
            .build()
            .user_data(CANCEL_USER_DATA);
        let entries = [entry.flags(squeue::Flags::IO_LINK), link];
        // SAFETY: the op's pointers are valid per this function's contract; the timeout
        // points to `timespec`, kept in `link_timespecs` until the SQ is consumed.
        unsafe { self.ring.submission().push_multiple(&entries) }
            .map_err(|_| io::Error::other("submission queue full after submitting"))?;
        self.link_timespecs.push(timespec);
        Ok(())
    }

    fn push_cancel(&mut self, key: usize) {
        if !self.supports(opcode::AsyncCancel::CODE) {
            return; // The op completes on its own; its data waits for that.
        }
        let entry = opcode::AsyncCancel::new(key as u64)
            .build()
            .user_data(CANCEL_USER_DATA);
        // SAFETY: a cancel SQE carries no pointers, only the target's user_data.
        if unsafe { self.push(&entry) }.is_err()
            && matches!(self.ops.get(key), Some(Lifecycle::Ignored(_)))
        {
            // The ring refused even after submitting; an abandoned op (an idle receive)
            // might never complete by itself, so the cancel is retried every turn.
            self.cancel_backlog.push(key);
        }
    }

    /// Retries the cancels that could not be pushed, for slots that still hold an
    /// abandoned op (rule 7: any op abandoned in that slot wants cancelling).
    fn retry_cancels(&mut self) {
        for key in mem::take(&mut self.cancel_backlog) {
            if matches!(self.ops.get(key), Some(Lifecycle::Ignored(_))) {
                self.push_cancel(key);
            }
        }
    }

    /// One trip into the kernel: submit, optionally wait, reap; flush CQ overflow.
    fn turn(&mut self, want: u32, timeout: Option<Duration>) -> io::Result<usize> {
        let mut reaped = self.reap() + mem::take(&mut self.reaped_in_push);
        if !self.cancel_backlog.is_empty() {
            self.retry_cancels();
            reaped += mem::take(&mut self.reaped_in_push);
        }
        if want == 0 && self.ring.submission().is_empty() && self.in_flight == 0 {
            return Ok(reaped);
        }
        // Completions already reaped satisfy a wait.
        let want = if reaped > 0 { 0 } else { want };
        let mut retries = 0;
        loop {
            match self.enter(want, timeout) {
                Ok(()) => break,
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN))
                        && retries < ENTER_RETRIES =>
                {
                    // The kernel wants CQ space (or memory) first: make room and retry.
                    retries += 1;
                    reaped += self.reap();
                }
                Err(e) => return Err(e),
            }
        }
        reaped += self.reap();
        if self.ring.submission().is_empty() {
            // Every SQE was consumed: the kernel has copied the linked timespecs.
            self.link_timespecs.clear();
        }
        // NODROP: completions that overflowed wait in the kernel; an enter flushes them.
        while self.ring.submission().cq_overflow() {
            self.overflow_flushes += 1;
            self.enter(0, None)?;
            let n = self.reap();
            reaped += n;
            if n == 0 {
                break;
            }
        }
        Ok(reaped)
    }

    fn enter(&mut self, want: u32, timeout: Option<Duration>) -> io::Result<()> {
        let coalesce = self.coalesce.filter(|c| {
            want > 0 && timeout.is_none_or(|t| t.as_micros() >= u128::from(c.max_delay_us))
        });
        let result = match timeout {
            _ if want > 0 && self.features.ext_arg && (timeout.is_some() || coalesce.is_some()) => {
                // With coalescing the kernel returns at `batch` completions, or after the
                // min wait with at least one; `timeout`, if any, bounds the whole wait.
                let mut args = types::SubmitArgs::new();
                let mut want = want;
                if let Some(c) = coalesce {
                    args = args.min_wait_usec(c.max_delay_us);
                    want = c.batch;
                }
                let submitter = self.ring.submitter();
                match timeout.map(types::Timespec::from) {
                    Some(ts) => submitter.submit_with_args(want as usize, &args.timespec(&ts)),
                    None => submitter.submit_with_args(want as usize, &args),
                }
            }
            _ => {
                if let (Some(timeout), true) = (timeout, want > 0) {
                    *self.park_timespec = types::Timespec::from(timeout);
                    let entry = opcode::Timeout::new(&*self.park_timespec)
                        .build()
                        .user_data(PARK_TIMEOUT_USER_DATA);
                    // SAFETY: the timespec is boxed in `self` and outlives the submission,
                    // where the kernel copies it.
                    unsafe { self.push(&entry)? };
                }
                // Completions reaped by that push satisfy the wait (rule 9).
                let want = if self.reaped_in_push > 0 { 0 } else { want };
                let to_submit = self.ring.submission().len() as u32;
                // SAFETY: no argument pointer is passed (`None`), so there is nothing for the
                // kernel to read beyond the rings it owns.
                unsafe {
                    self.ring.submitter().enter::<libc::sigset_t>(
                        to_submit,
                        want,
                        ENTER_GETEVENTS,
                        None,
                    )
                }
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME) | Some(libc::EINTR)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Routes every available CQE to its slot; wakes exactly the op it belongs to.
    fn reap(&mut self) -> usize {
        let Inner {
            ring,
            ops,
            in_flight,
            graveyard,
            woken,
            ..
        } = self;
        let mut count = 0;
        for cqe in ring.completion() {
            count += 1;
            let user_data = cqe.user_data();
            if user_data == CANCEL_USER_DATA || user_data == PARK_TIMEOUT_USER_DATA {
                continue;
            }
            let key = user_data as usize;
            let result = CqeResult::from_raw(cqe.result(), cqe.flags());
            let last = !result.has_more();
            let Some(slot) = ops.get_mut(key) else {
                debug_assert!(false, "CQE for unknown slot {key}");
                continue;
            };
            match slot {
                Lifecycle::Submitted => *slot = Lifecycle::Completed(result),
                Lifecycle::Waiting(_) => {
                    if let Lifecycle::Waiting(waker) =
                        mem::replace(slot, Lifecycle::Completed(result))
                    {
                        woken.push(waker);
                    }
                }
                Lifecycle::Ignored(data) => {
                    data.late_cqe(&result);
                    if last && let Lifecycle::Ignored(data) = ops.remove(key) {
                        graveyard.push(data);
                    }
                }
                Lifecycle::Multishot { queue, waker, tap } => {
                    if let Some(ring) = tap {
                        ring.taken_by(result.flags);
                    }
                    queue.push_back(result);
                    woken.extend(waker.take());
                }
                Lifecycle::Completed(_) => {
                    debug_assert!(false, "second CQE for single-shot slot {key}");
                    continue;
                }
            }
            if last {
                *in_flight -= 1;
            }
        }
        count
    }
}

fn opcode_name(code: u8) -> String {
    let name = match code {
        opcode::Nop::CODE => "IORING_OP_NOP",
        opcode::Read::CODE => "IORING_OP_READ",
        opcode::Write::CODE => "IORING_OP_WRITE",
        opcode::Recv::CODE => "IORING_OP_RECV",
        opcode::Send::CODE => "IORING_OP_SEND",
        opcode::Accept::CODE => "IORING_OP_ACCEPT",
        opcode::Connect::CODE => "IORING_OP_CONNECT",
        opcode::Close::CODE => "IORING_OP_CLOSE",
        opcode::Timeout::CODE => "IORING_OP_TIMEOUT",
        opcode::AsyncCancel::CODE => "IORING_OP_ASYNC_CANCEL",
        opcode::Readv::CODE => "IORING_OP_READV",
        opcode::LinkTimeout::CODE => "IORING_OP_LINK_TIMEOUT",
        opcode::ReadFixed::CODE => "IORING_OP_READ_FIXED",
        opcode::WriteFixed::CODE => "IORING_OP_WRITE_FIXED",
        opcode::Shutdown::CODE => "IORING_OP_SHUTDOWN",
        opcode::PollAdd::CODE => "IORING_OP_POLL_ADD",
        opcode::TimeoutRemove::CODE => "IORING_OP_TIMEOUT_REMOVE",
        opcode::SendMsg::CODE => "IORING_OP_SENDMSG",
        opcode::SendZc::CODE => "IORING_OP_SEND_ZC",
        opcode::RecvMsg::CODE => "IORING_OP_RECVMSG",
        opcode::Writev::CODE => "IORING_OP_WRITEV",
        opcode::OpenAt::CODE => "IORING_OP_OPENAT",
        opcode::Statx::CODE => "IORING_OP_STATX",
        opcode::Fsync::CODE => "IORING_OP_FSYNC",
        opcode::UnlinkAt::CODE => "IORING_OP_UNLINKAT",
        opcode::RenameAt::CODE => "IORING_OP_RENAMEAT",
        opcode::MkDirAt::CODE => "IORING_OP_MKDIRAT",
        _ => return format!("#{code}"),
    };
    name.to_string()
}

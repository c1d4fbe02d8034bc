//! The driver: one io_uring instance, its op table, and the handle every op holds.
//!
//! The folder, one concern a file, in the order a reader meets them:
//! - `mod.rs` (this file): [`Driver`] (owns the ring, shuts it down), [`Handle`] (what ops
//!   and registered objects hold), waiting (`submit`, `park`) and the rule-6 borrow.
//! - `builder.rs`: [`Builder`](builder::Builder), setup fallbacks and setup errors.
//! - `probe.rs`: what the kernel and ring support ([`Features`](probe::Features), opcodes).
//! - `lifecycle.rs`: the slot states and the traits op data implements.
//! - `ring.rs`: pushing SQEs, entering the kernel, reaping CQEs into slots.
//! - `slots.rs`: an op's view of its slot: push, poll, cancel, abandon.
//! - `register.rs`: buffer rings, fixed buffers and file tables registered with the ring.
//! - `stats.rs`: the ring's counters ([`Stats`]).
//!
//! Arrows point down only: `mod.rs` uses `ring.rs`, which uses `lifecycle.rs` and
//! `probe.rs`; `builder.rs`, `slots.rs` and `register.rs` add methods to [`Driver`] and
//! [`Handle`] from below. Nothing here knows an op type: `op/` builds on this folder.

pub(crate) mod builder;
mod enter;
pub(crate) mod lifecycle;
mod msg_ring;
pub(crate) mod probe;
mod register;
mod ring;
mod slots;
mod stats;

pub use msg_ring::RingTarget;
pub use stats::{OpStats, Stats, StatsReader};

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::mem;
use std::ops::Deref;
use std::rc::Rc;
use std::time::{Duration, Instant};

use probe::Features;
use ring::Ring;

/// How long a dropped driver waits for the kernel to post the CQEs of cancelled ops.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

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
    inner: Rc<RefCell<Ring>>,
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

impl Driver {
    fn from_ring(ring: Ring) -> Driver {
        Driver {
            handle: Handle {
                inner: Rc::new(RefCell::new(ring)),
            },
        }
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
            inner.cancel_all();
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
        // Rule 5: what the kernel did not answer for may still be touched by it.
        self.handle.with_inner(Ring::leak_unanswered);
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
    fn with_inner<R>(&self, f: impl FnOnce(&mut Ring) -> R) -> R {
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
        self.inner.borrow().stats.read_cq_overflow()
    }

    /// A snapshot of what the ring has done: ops by opcode, kernel entries by purpose,
    /// a full SQ, CQ overflow, buffer-ring exhaustion ([`Stats`]).
    ///
    /// ```
    /// use uring_driver::{Driver, Op, opcode};
    ///
    /// let driver = Driver::new()?;
    /// let before = driver.stats();
    /// let mut op = std::pin::pin!(Op::nop(&driver));
    /// # let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// # while op.as_mut().poll(&mut cx).is_pending() { driver.park(None)?; }
    /// let delta = driver.stats().since(&before);
    /// assert_eq!(delta.op(opcode::Nop::CODE).submitted, 1);
    /// assert_eq!(delta.op(opcode::Nop::CODE).completed, 1);
    /// assert!(delta.enters() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.stats_reader().snapshot()
    }

    /// A reader of the ring's counters for other threads (`Send + Sync`): what a
    /// runtime keeps to take snapshots of a worker's ring from anywhere.
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader::new(&self.inner.borrow().stats)
    }

    /// How many times this thread had to wake the ring's sleeping SQ poll thread with an
    /// `io_uring_enter` (always 0 without [`Builder::sqpoll`](crate::Builder::sqpoll)).
    pub fn sqpoll_wakeups(&self) -> u64 {
        self.inner.borrow().stats.read_sqpoll_wakeups()
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

    /// Whether the owning [`Driver`] has been dropped.
    pub fn is_shut_down(&self) -> bool {
        self.inner.borrow().shut_down
    }
}

//! The state of one op-table slot, and the traits an op's data implements.
//!
//! Owns: [`CqeResult`] (the kernel's answer), [`Completable`] and [`MultishotCompletable`]
//! (what op data does with it), and [`Lifecycle`], the slot states of the op table
//! (see the rules in [`crate::op`]). Must not touch the ring: these are plain data, moved
//! between states by the ring's reaper (`ring.rs`) and the op plumbing (`slots.rs`).

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::task::Waker;

/// The kernel's answer to one SQE: the result (a negative `res` becomes an `io::Error`) and
/// the CQE flags.
#[derive(Debug)]
pub struct CqeResult {
    /// `Ok(res)` for a non-negative result, otherwise the errno as an `io::Error`.
    pub result: io::Result<u32>,
    /// The CQE's flags (`IORING_CQE_F_MORE`, `IORING_CQE_F_BUFFER`, ...).
    pub flags: u32,
}

impl CqeResult {
    pub(crate) fn from_raw(res: i32, flags: u32) -> Self {
        let result = if res < 0 {
            Err(io::Error::from_raw_os_error(-res))
        } else {
            Ok(res as u32)
        };
        CqeResult { result, flags }
    }

    /// A result that never came from the kernel: the op failed before submission.
    pub(crate) fn error(error: io::Error) -> Self {
        CqeResult {
            result: Err(error),
            flags: 0,
        }
    }

    /// Whether more CQEs will follow for the same op (`IORING_CQE_F_MORE`).
    pub fn has_more(&self) -> bool {
        io_uring::cqueue::more(self.flags)
    }
}

/// The data of a single-shot op: owns what the kernel touches, turns the CQE into the output.
pub trait Completable: Unpin + 'static {
    /// What awaiting the op yields.
    type Output;

    /// Builds the output from the op's completion, handing the resources back.
    fn complete(self, cqe: CqeResult) -> Self::Output;

    /// Releases what a late completion created after the op was dropped (e.g. closes an
    /// accepted fd). The data itself is dropped right after, outside the driver's borrow.
    fn cleanup_ignored(&mut self, _cqe: &CqeResult) {}

    /// The output when the op could not be submitted at all (the driver has shut down, or the
    /// kernel lacks the opcode). The kernel never saw the data.
    fn not_submitted(self, error: io::Error) -> Self::Output
    where
        Self: Sized,
    {
        self.complete(CqeResult::error(error))
    }
}

/// The data of a multishot op: one submission, a stream of CQEs.
pub trait MultishotCompletable: Unpin + 'static {
    /// What each CQE yields.
    type Item;

    /// Turns one CQE into a stream item.
    fn next(&mut self, cqe: CqeResult) -> Self::Item;

    /// Releases what a CQE created after the stream was dropped, or that was queued but
    /// never consumed.
    fn cleanup_ignored(&mut self, _cqe: &CqeResult) {}
}

/// What a multishot op picks buffers from (a provided-buffer ring): told of every buffer
/// taken as the CQE that carries it is reaped, so its count of free buffers is the
/// kernel's (buffer ring rule 5).
pub(crate) trait BufferTap {
    /// Records the buffers `cqe` carries, if any, as taken; `true` if they were the last
    /// free ones.
    fn taken_by(&self, cqe: &CqeResult) -> bool;
}

/// Op data parked in its slot after the op's future was dropped (rule 2).
pub(crate) trait IgnoredOp {
    fn late_cqe(&mut self, cqe: &CqeResult);
}

struct IgnoredOnce<T>(T);

impl<T: Completable> IgnoredOp for IgnoredOnce<T> {
    fn late_cqe(&mut self, cqe: &CqeResult) {
        self.0.cleanup_ignored(cqe);
    }
}

struct IgnoredMulti<T> {
    data: T,
    tap: Option<Box<dyn BufferTap>>,
}

impl<T: MultishotCompletable> IgnoredOp for IgnoredMulti<T> {
    fn late_cqe(&mut self, cqe: &CqeResult) {
        if let Some(tap) = &self.tap {
            tap.taken_by(cqe);
        }
        self.data.cleanup_ignored(cqe);
    }
}

/// The state of one slot of the op table; a slot's key is its SQE's user_data.
pub(crate) enum Lifecycle {
    /// In the SQ or in the kernel; nobody has polled the op yet.
    Submitted,
    /// In the kernel; this waker is woken by the CQE.
    Waiting(Waker),
    /// The CQE arrived and waits for the op to be polled.
    Completed(CqeResult),
    /// The op was dropped in flight; its data waits here for the final CQE.
    Ignored(Box<dyn IgnoredOp>),
    /// A multishot op: CQEs queue up until the stream is polled.
    Multishot {
        queue: VecDeque<CqeResult>,
        waker: Option<Waker>,
        /// The buffer ring the op picks from, told of each buffer as its CQE is reaped.
        tap: Option<Box<dyn BufferTap>>,
    },
}

impl Lifecycle {
    pub(crate) fn multishot(tap: Option<Box<dyn BufferTap>>) -> Self {
        Lifecycle::Multishot {
            queue: VecDeque::new(),
            waker: None,
            tap,
        }
    }

    pub(crate) fn ignored_once<T: Completable>(data: T) -> Self {
        Lifecycle::Ignored(Box::new(IgnoredOnce(data)))
    }

    pub(crate) fn ignored_multi<T: MultishotCompletable>(
        data: T,
        tap: Option<Box<dyn BufferTap>>,
    ) -> Self {
        Lifecycle::Ignored(Box::new(IgnoredMulti { data, tap }))
    }

    /// Whether the slot still waits for a CQE (anything but `Completed`).
    pub(crate) fn in_kernel(&self) -> bool {
        !matches!(self, Lifecycle::Completed(_))
    }
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lifecycle::Submitted => f.write_str("Submitted"),
            Lifecycle::Waiting(_) => f.write_str("Waiting"),
            Lifecycle::Completed(cqe) => f.debug_tuple("Completed").field(cqe).finish(),
            Lifecycle::Ignored(_) => f.write_str("Ignored"),
            Lifecycle::Multishot { queue, .. } => f
                .debug_struct("Multishot")
                .field("queued", &queue.len())
                .finish(),
        }
    }
}

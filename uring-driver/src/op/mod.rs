//! Operations: the future of one submitted SQE, and the rules that keep it sound.
//!
//! An [`Op<T>`] is created by pushing an SQE whose pointers all point into `T`, the op's
//! data. `T` owns every resource the kernel may touch while the op is in flight: the buffer,
//! the fd handle, the socket address, the timespec. When the completion (CQE) arrives, `T`
//! turns it into the op's output and hands the resources back.
//!
//! # Soundness rules
//!
//! 1. Every pointer in an SQE points into the op's data `T` (or into memory `T` owns), and
//!    `T`'s memory does not move when `T` moves: buffers live on the heap ([`crate::IoBuf`]
//!    rule 2), socket addresses and timespecs are boxed. [`Op::new`] is the unsafe boundary
//!    where each op states which field owns which pointer.
//! 2. `T` is dropped only after the kernel posted the op's final CQE (the one without
//!    `IORING_CQE_F_MORE`). A completed op hands `T` back; an op dropped in flight moves `T`
//!    into its slot (the `Ignored` state) and submits `IORING_OP_ASYNC_CANCEL`, and the
//!    reaper frees `T` when the final CQE arrives.
//! 3. A late result that created a resource is released by its type: an fd accepted for a
//!    dropped accept op is closed ([`Completable::cleanup_ignored`]).
//! 4. The fd an op names stays open until that final CQE: `T` holds a [`crate::SharedFd`]
//!    clone, so the number cannot be reused for another file while the kernel holds it.
//! 5. When the driver shuts down it cancels every op in flight and waits, bounded, for their
//!    final CQEs. Data whose CQE never came is leaked, never freed: closing the ring fd does
//!    not prove the kernel is done with the memory.
//! 6. Resources are never dropped while the driver is borrowed: a buffer's destructor may
//!    itself use the driver. Freed data goes to a graveyard emptied after the borrow ends.
//! 7. A cancel SQE names its target by slot key, and is pushed only while that slot still
//!    holds the op it targets. SQEs are consumed in order, so the cancel reaches the kernel
//!    before any later op that reuses the key once the slot is freed. A slot key belongs to
//!    one ring by construction: only the op (which holds its ring's [`Handle`]) knows it.
//! 8. An object registered with one ring — a buffer ring's group, a fixed buffer's index,
//!    a file-table slot — names something else, or nothing, on another. It records its
//!    ring, and every op that names it checks that it is built on that ring
//!    (`Handle::check_owner`); a mismatch is an `InvalidInput` error and nothing is
//!    submitted.
//! 9. Pushing an SQE may have to submit a full SQ first, which reaps completions. Wakers
//!    and freed data from such a reap wait until the driver's borrow ends (rule 6), and a
//!    wait that follows does not block: the caller must look for ready work first.

mod accept;
mod close;
mod connect;
mod fsync;
mod keep;
mod linkat;
mod mkdirat;
mod nop;
mod openat;
mod poll_add;
mod read;
mod read_fixed;
mod readv;
mod recv;
mod recv_multi;
mod recvmsg;
mod recvmsg_multi;
mod renameat;
mod send;
mod send_zc;
mod sendmsg;
mod shutdown;
mod statx;
mod timeout;
pub(crate) mod transfer;
mod unlinkat;
mod write;
mod write_fixed;
mod writev;

pub use accept::{Accept, AcceptMulti};
pub use close::Close;
pub use connect::Connect;
pub use fsync::Fsync;
pub use keep::Keep;
pub use linkat::LinkAt;
pub use mkdirat::MkDirAt;
pub use nop::Nop;
pub use openat::OpenAt;
pub use poll_add::PollAdd;
pub use read::{Read, RegisteredRead};
pub use read_fixed::ReadFixed;
pub use readv::Readv;
pub use recv::Recv;
pub use recv_multi::RecvMulti;
pub use recvmsg::RecvMsg;
pub use recvmsg_multi::{Datagram, RecvMsgMulti};
pub use renameat::RenameAt;
pub use send::Send;
pub use send_zc::{SendZc, SendZcOp};
pub use sendmsg::{SendMsg, SendVectored, VectoredMessage};
pub use shutdown::Shutdown;
pub use statx::Statx;
pub use timeout::Timeout;
pub use transfer::{BufIn, BufOut, BufsOut, SqeTarget, Target};
pub use unlinkat::UnlinkAt;
pub use write::{RegisteredWrite, Write};
pub use write_fixed::WriteFixed;
pub use writev::Writev;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use io_uring::squeue;

use crate::buf::RingTap;
use crate::driver::Handle;
use crate::driver::lifecycle::Lifecycle;
pub use crate::driver::lifecycle::{Completable, CqeResult, MultishotCompletable};

/// Marks the first `n` bytes of `buf` initialized, `n` being what the kernel reported
/// writing into it from its start. The kernel never writes past the length it was given
/// (`bytes_total`); the check makes that a fact here instead of a trust.
///
/// # Panics
///
/// If `n` exceeds the buffer: a CQE answered another op than the one it was routed to.
pub(crate) fn kernel_filled<B: crate::IoBufMut>(buf: &mut B, n: usize) {
    assert!(
        n <= buf.bytes_total(),
        "the kernel reported {n} bytes written into a {}-byte buffer",
        buf.bytes_total()
    );
    // SAFETY: the kernel wrote `n` bytes from the buffer's start (its CQE says so), and
    // `n` is within the buffer (checked above).
    unsafe { buf.set_init(n) };
}

enum State {
    InFlight(usize),
    NotSubmitted(Option<io::Error>),
    Done,
}

/// The future of one submitted operation; resolves to `T::Output`.
///
/// Dropping it before completion is always sound: the data moves into the driver until the
/// kernel is done with it, and the kernel is asked to cancel the operation.
#[must_use = "an op does nothing useful unless awaited, and is cancelled when dropped"]
pub struct Op<T: Completable> {
    handle: Handle,
    state: State,
    data: Option<T>,
}

impl<T: Completable> fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::InFlight(key) => format!("InFlight({key})"),
            State::NotSubmitted(_) => "NotSubmitted".to_string(),
            State::Done => "Done".to_string(),
        };
        f.debug_struct("Op")
            .field("type", &std::any::type_name::<T>())
            .field("state", &state)
            .finish()
    }
}

impl<T: Completable> Op<T> {
    /// Pushes `entry` to the submission queue as an op owning `data`.
    ///
    /// Never fails: if the op cannot be submitted (driver shut down, opcode unsupported, the
    /// ring unusable), the error is the op's result, and `data` comes back through
    /// [`Completable::not_submitted`] when it is awaited.
    ///
    /// # Safety
    ///
    /// Every pointer in `entry` points into `data` (or memory `data` owns) and stays valid
    /// while `data` lives, even when `data` is moved: the op owns `data` until its final CQE.
    /// The fds `entry` names are kept open by `data`.
    pub unsafe fn new(handle: &Handle, entry: squeue::Entry, data: T) -> Self {
        // SAFETY: forwarded from this function's contract; `Drop` hands `data` to
        // `abandon` if the op goes before its final CQE.
        let state = match unsafe { handle.push_op(entry, Lifecycle::Submitted) } {
            Ok(key) => State::InFlight(key),
            Err(error) => State::NotSubmitted(Some(error)),
        };
        Op {
            handle: handle.clone(),
            state,
            data: Some(data),
        }
    }

    /// An op that is never submitted: awaiting it yields `error` through
    /// [`Completable::not_submitted`] (e.g. a buffer of another ring, rule 8).
    pub(crate) fn rejected(handle: &Handle, data: T, error: io::Error) -> Self {
        Op {
            handle: handle.clone(),
            state: State::NotSubmitted(Some(error)),
            data: Some(data),
        }
    }

    /// Asks the kernel to cancel this op (`IORING_OP_ASYNC_CANCEL`). Await the op afterwards
    /// to get its result (usually `ECANCELED`, or the real result if it won the race) and its
    /// resources back, the buffer included.
    pub fn cancel(&mut self) {
        if let State::InFlight(key) = self.state {
            self.handle.cancel(key);
        }
    }

    /// Whether the op is in the kernel: submitted, its final CQE not yet taken by a poll.
    /// A dropped op that was in flight may still complete with a result.
    pub fn in_flight(&self) -> bool {
        matches!(self.state, State::InFlight(_))
    }

    /// The driver this op was submitted to.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The op's slot key (its SQE's user_data) while it is in flight.
    pub(crate) fn key(&self) -> Option<usize> {
        match self.state {
            State::InFlight(key) => Some(key),
            _ => None,
        }
    }
}

impl<T: Completable> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        match &mut this.state {
            State::InFlight(key) => {
                let cqe = std::task::ready!(this.handle.poll_op(*key, cx));
                this.state = State::Done;
                let data = this.data.take().expect("op data present until completion");
                Poll::Ready(data.complete(cqe))
            }
            State::NotSubmitted(error) => {
                let error = error.take().expect("op polled after completion");
                this.state = State::Done;
                let data = this.data.take().expect("op data present until completion");
                Poll::Ready(data.not_submitted(error))
            }
            State::Done => panic!("op polled after completion"),
        }
    }
}

impl<T: Completable> Drop for Op<T> {
    fn drop(&mut self) {
        match (&mut self.state, self.data.take()) {
            (State::InFlight(key), Some(data)) => self.handle.abandon(*key, data),
            // Never submitted and never awaited: release the data as awaiting would (a
            // close that could not be submitted still closes its fd).
            (State::NotSubmitted(error), Some(data)) => {
                let error = error.take().unwrap_or_else(|| io::Error::other("dropped"));
                drop(data.not_submitted(error));
            }
            _ => {}
        }
    }
}

/// A multishot operation: one SQE, a stream of completions.
///
/// Poll it with [`poll_next`](MultishotOp::poll_next) or await [`next`](MultishotOp::next);
/// `None` means the kernel posted its final CQE. Dropping it early is sound, as for [`Op`].
#[must_use = "a multishot op is cancelled when dropped"]
pub struct MultishotOp<T: MultishotCompletable> {
    handle: Handle,
    state: State,
    data: Option<T>,
}

impl<T: MultishotCompletable> fmt::Debug for MultishotOp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultishotOp")
            .field("type", &std::any::type_name::<T>())
            .field("finished", &matches!(self.state, State::Done))
            .finish()
    }
}

impl<T: MultishotCompletable> MultishotOp<T> {
    /// Pushes a multishot `entry` owning `data`.
    ///
    /// # Safety
    ///
    /// As for [`Op::new`], for every CQE the op may post until its final one.
    pub unsafe fn new(handle: &Handle, entry: squeue::Entry, data: T) -> Self {
        // SAFETY: forwarded from this function's contract.
        unsafe { Self::with_tap(handle, entry, data, None) }
    }

    /// As [`new`](MultishotOp::new), for an op that picks buffers from `tap`.
    ///
    /// # Safety
    ///
    /// As for [`new`](MultishotOp::new).
    pub(crate) unsafe fn with_tap(
        handle: &Handle,
        entry: squeue::Entry,
        data: T,
        tap: Option<RingTap>,
    ) -> Self {
        let slot = Lifecycle::multishot(tap.map(|tap| Box::new(tap) as Box<_>));
        // SAFETY: forwarded from this function's contract; `Drop` hands `data` to
        // `abandon_multishot` if the op goes before its final CQE.
        let state = match unsafe { handle.push_op(entry, slot) } {
            Ok(key) => State::InFlight(key),
            Err(error) => State::NotSubmitted(Some(error)),
        };
        MultishotOp {
            handle: handle.clone(),
            state,
            data: Some(data),
        }
    }

    /// A multishot op that is never submitted: its one item is `error`.
    pub(crate) fn rejected(handle: &Handle, data: T, error: io::Error) -> Self {
        MultishotOp {
            handle: handle.clone(),
            state: State::NotSubmitted(Some(error)),
            data: Some(data),
        }
    }

    /// The next item, or `None` once the kernel has ended the stream.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let data = match self.data.as_mut() {
            Some(data) => data,
            None => return Poll::Ready(None),
        };
        match &mut self.state {
            State::InFlight(key) => {
                let cqe = std::task::ready!(self.handle.poll_multishot(*key, cx));
                if !cqe.has_more() {
                    self.state = State::Done;
                }
                Poll::Ready(Some(data.next(cqe)))
            }
            State::NotSubmitted(error) => {
                let error = error.take().expect("error present until reported");
                self.state = State::Done;
                Poll::Ready(Some(data.next(CqeResult::error(error))))
            }
            State::Done => Poll::Ready(None),
        }
    }

    /// Waits for the next item; `None` once the stream has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item the kernel posts while no `next` waits is kept in the op's
    /// slot for the next call.
    pub async fn next(&mut self) -> Option<T::Item> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The op's data, until the op is dropped.
    pub fn data_mut(&mut self) -> Option<&mut T> {
        self.data.as_mut()
    }

    /// Whether the op is in the kernel: submitted, its final CQE not yet taken by a poll.
    pub fn in_flight(&self) -> bool {
        matches!(self.state, State::InFlight(_))
    }

    /// Asks the kernel to end the stream; the final CQE (usually `ECANCELED`) still arrives
    /// through [`next`](MultishotOp::next).
    pub fn cancel(&mut self) {
        if let State::InFlight(key) = self.state {
            self.handle.cancel(key);
        }
    }
}

impl<T: MultishotCompletable> Drop for MultishotOp<T> {
    fn drop(&mut self) {
        if let (State::InFlight(key), Some(data)) = (&self.state, self.data.take()) {
            self.handle.abandon_multishot(*key, data);
        }
    }
}

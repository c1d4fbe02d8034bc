//! Waking another ring: a CQE posted into it with `IORING_OP_MSG_RING`.
//!
//! Owns: [`RingTarget`] (what a wake is sent to) and [`Handle::post_wake`]. A thread that
//! runs a ring wakes a thread parked on another ring by posting a CQE straight into that
//! ring's completion queue: the sleeper's wait ends with no file in between, where an
//! eventfd wake goes through the fd's poll wait queue and a read op that must be re-armed.
//! Must not route the posted CQE anywhere: the receiving ring drops it in its reaper (its
//! user_data is reserved), it only ends a wait.

use std::io;
use std::os::fd::RawFd;

use io_uring::opcode;
use io_uring::types::Fd;

use super::Handle;
use super::lifecycle::{Completable, CqeResult, Lifecycle};
use super::ring::WAKE_USER_DATA;

/// A ring that [`Handle::post_wake`] posts to, and what to do if the kernel refuses.
///
/// # Safety
///
/// [`ring_fd`](RingTarget::ring_fd) must return an fd that stays open, naming the same
/// file, for as long as `self` (or a clone) lives. The sending ring keeps a clone until
/// the kernel has finished with the message; a number that meanwhile named another
/// process-local io_uring would post a CQE with a user_data that ring never issued, which
/// its owner may trust (as a pointer, say).
pub unsafe trait RingTarget: Clone + Unpin + 'static {
    /// The target ring's fd (see the trait's safety contract).
    fn ring_fd(&self) -> RawFd;

    /// Called on the sending ring's thread if the message could not be delivered (the
    /// target's completion queue overflowed, its ring is being torn down); the caller
    /// should wake the target another way. It runs inside the driver's reaper: it must not
    /// use the sending driver.
    fn undelivered(&self, error: io::Error);
}

/// The data of a posted wake: the target, kept alive until the sending ring's CQE.
struct Posted<T>(T);

impl<T: RingTarget> Completable for Posted<T> {
    type Output = ();

    fn complete(self, cqe: CqeResult) {
        if let Err(e) = cqe.result {
            self.0.undelivered(e);
        }
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        if let Err(e) = &cqe.result {
            let e = e.raw_os_error().map_or_else(
                || io::Error::new(e.kind(), e.to_string()),
                io::Error::from_raw_os_error,
            );
            self.0.undelivered(e);
        }
    }
}

impl Handle {
    /// This ring's fd: what another ring's [`post_wake`](Handle::post_wake) targets. Valid
    /// until the [`Driver`](crate::Driver) is dropped; [`clone_ring_fd`](Handle::clone_ring_fd)
    /// gives one that lives as long as its owner wants.
    pub fn ring_fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.inner.borrow().uring.as_raw_fd()
    }

    /// A duplicate of this ring's fd. While it is open the ring's kernel object stays
    /// alive (not its ops: a dropped driver has ended those), so a wake posted to it can
    /// never reach another file that reused the number.
    ///
    /// # Errors
    ///
    /// What `fcntl(F_DUPFD_CLOEXEC)` reports (EMFILE).
    pub fn clone_ring_fd(&self) -> io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::{AsRawFd, BorrowedFd};
        let inner = self.inner.borrow();
        // SAFETY: the fd is the ring's own, open while `inner` (which owns the ring) is
        // borrowed here, i.e. for the whole life of this `BorrowedFd`.
        unsafe { BorrowedFd::borrow_raw(inner.uring.as_raw_fd()) }.try_clone_to_owned()
    }

    /// Whether [`post_wake`](Handle::post_wake) can work here: the kernel has
    /// `IORING_OP_MSG_RING` and it was not disabled.
    pub fn can_post_wake(&self) -> bool {
        self.inner.borrow().supports(opcode::MsgRingData::CODE)
    }

    /// Wakes the thread parked on `target`'s ring: posts a CQE with a reserved user_data
    /// into it (`IORING_OP_MSG_RING`) and submits at once. The posted CQE is reaped and
    /// dropped by the target's driver; its only effect is ending a wait.
    ///
    /// The submission is not left for this ring's next turn, although that would save a
    /// syscall per wake: the caller may block its thread before that turn (join a thread
    /// of the woken runtime, wait on a lock the woken task holds), and a wake held back
    /// then is a deadlock.
    ///
    /// # Errors
    ///
    /// Gives `target` back when the wake cannot be posted from here: the kernel lacks
    /// `IORING_OP_MSG_RING` (Linux 5.18) or it was disabled
    /// ([`Builder::disable_opcode`](crate::Builder::disable_opcode)), this driver has
    /// shut down, the call comes from inside a driver call on this thread (a destructor
    /// run by the driver), or the submission failed or stopped short of this SQE (it may
    /// still go with a later one: a duplicate wake is harmless, a held-back one is not). Wake the target another way then. A refusal
    /// the kernel reports later goes to [`RingTarget::undelivered`].
    pub fn post_wake<T: RingTarget>(&self, target: T) -> Result<(), T> {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return Err(target);
        };
        if inner.shut_down || !inner.supports(opcode::MsgRingData::CODE) {
            return Err(target);
        }
        let entry = opcode::MsgRingData::new(Fd(target.ring_fd()), 0, WAKE_USER_DATA, None).build();
        // The slot holds a clone until the sending CQE; `target` is kept to give back.
        let slot = Lifecycle::ignored_once(Posted(target.clone()));
        // SAFETY: a MSG_RING SQE carries no pointers into this process. The fd it names
        // stays open, naming the same file, while the slot holds `Posted(target)` (the
        // `unsafe trait RingTarget` contract), i.e. until the slot's final CQE, after the
        // kernel resolved the fd at submission.
        if unsafe { inner.push_op(entry, slot) }.is_err() {
            return Err(target);
        }
        // Submit only: reaping and waking belong to this thread's next turn, not to the
        // middle of whatever task is waking another worker.
        match inner.submit_only() {
            Ok(()) => Ok(()),
            Err(_) => Err(target),
        }
    }
}

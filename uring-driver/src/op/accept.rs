//! `IORING_OP_ACCEPT`: one connection (`Accept`), or a multishot stream of them
//! (`AcceptMulti`).
//!
//! Owns: the accept ops' data and the closing of a connection accepted for a dropped op
//! (rule 3). Must not point the SQE anywhere but into the op's data (op rule 1).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use io_uring::{opcode, types};

use super::{Completable, CqeResult, MultishotCompletable, MultishotOp, Op};
use crate::socket::SockAddr;
use crate::{Handle, SharedFd};

/// `IORING_OP_ACCEPT`: accepts one connection, with its peer address.
#[derive(Debug)]
pub struct Accept {
    /// Keeps the listener open while the kernel accepts on it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
    /// Filled by the kernel; boxed so its address is stable (rule 1).
    addr: Box<SockAddr>,
}

/// Takes ownership of an fd the kernel created for an op.
fn owned_fd(raw: u32) -> OwnedFd {
    // SAFETY: a non-negative accept result is a new descriptor that only this op owns.
    unsafe { OwnedFd::from_raw_fd(raw as i32) }
}

impl Op<Accept> {
    /// Accepts a connection on listening socket `fd`; the new fd is close-on-exec.
    pub fn accept(handle: &Handle, fd: &SharedFd) -> Self {
        let mut addr = Box::new(SockAddr::empty());
        let entry =
            opcode::Accept::new(types::Fd(fd.as_raw_fd()), addr.as_mut_ptr(), &mut addr.len)
                .flags(libc::SOCK_CLOEXEC)
                .build();
        // SAFETY: the sockaddr and its length both live in the boxed `addr`, owned by the
        // op's data; the listener is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Accept {
                    fd: fd.clone(),
                    addr,
                },
            )
        }
    }
}

impl Completable for Accept {
    type Output = io::Result<(OwnedFd, Option<SocketAddr>)>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        let fd = owned_fd(cqe.result?);
        Ok((fd, self.addr.to_std()))
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        // Rule 3: the connection was accepted after nobody wanted it any more.
        if let Ok(raw) = cqe.result {
            drop(owned_fd(raw));
        }
    }
}

/// `IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT` (Linux 5.19+): one submission accepts
/// connections until cancelled or failed.
#[derive(Debug)]
pub struct AcceptMulti {
    /// Keeps the listener open while the kernel accepts on it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
}

impl MultishotOp<AcceptMulti> {
    /// Accepts connections on `fd` until the stream is dropped or cancelled.
    pub fn accept_multi(handle: &Handle, fd: &SharedFd) -> Self {
        let entry = opcode::AcceptMulti::new(types::Fd(fd.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build();
        // SAFETY: multishot accept carries no pointers; the listener is kept open by the
        // data's clone.
        unsafe { MultishotOp::new(handle, entry, AcceptMulti { fd: fd.clone() }) }
    }
}

impl MultishotCompletable for AcceptMulti {
    type Item = io::Result<OwnedFd>;

    fn next(&mut self, cqe: CqeResult) -> Self::Item {
        cqe.result.map(owned_fd)
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        if let Ok(raw) = cqe.result {
            drop(owned_fd(raw));
        }
    }
}

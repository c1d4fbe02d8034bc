//! `IORING_OP_POLL_ADD`: wait until an fd is ready.
//!
//! Owns: the poll op. Must not point the SQE anywhere but into the op's data (op rule 1).

use std::io;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{Handle, SharedFd};

/// `IORING_OP_POLL_ADD`: waits until an fd is ready (`poll(2)` events), without I/O.
#[derive(Debug)]
pub struct PollAdd {
    /// Keeps the fd open while the kernel polls it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
}

impl Op<PollAdd> {
    /// Completes with the ready events once any of `events` (`libc::POLLIN`, ...) holds.
    pub fn poll_add(handle: &Handle, fd: &SharedFd, events: u32) -> Self {
        let entry = opcode::PollAdd::new(types::Fd(fd.as_raw_fd()), events).build();
        // SAFETY: no pointers; the fd is kept open by the data's clone.
        unsafe { Op::new(handle, entry, PollAdd { fd: fd.clone() }) }
    }
}

impl Completable for PollAdd {
    /// The returned events (`revents`).
    type Output = io::Result<u32>;

    fn complete(self, cqe: CqeResult) -> io::Result<u32> {
        cqe.result
    }
}

//! `IORING_OP_CLOSE`: close an fd through the ring.
//!
//! Owns: the close op. Must not leave the fd open when the op cannot be submitted: it then
//! closes synchronously.

use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_CLOSE`: closes a descriptor through the ring.
#[derive(Debug)]
pub struct Close {
    fd: RawFd,
}

impl Op<Close> {
    /// Closes `fd`. Once submitted the kernel owns the descriptor, whatever the result.
    pub fn close(handle: &Handle, fd: OwnedFd) -> Self {
        let fd = fd.into_raw_fd();
        let entry = opcode::Close::new(types::Fd(fd)).build();
        // SAFETY: a close SQE carries no pointers; ownership of `fd` passes to the kernel.
        unsafe { Op::new(handle, entry, Close { fd }) }
    }
}

impl Completable for Close {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }

    fn not_submitted(self, _error: io::Error) -> io::Result<()> {
        // The kernel never saw the fd: close it here so it is closed either way.
        // SAFETY: `fd` came from an OwnedFd in `close` and nobody else owns it.
        drop(unsafe { OwnedFd::from_raw_fd(self.fd) });
        Ok(())
    }
}

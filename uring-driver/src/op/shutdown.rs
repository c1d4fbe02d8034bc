//! `IORING_OP_SHUTDOWN`: shut down one or both directions of a socket.
//!
//! Owns: the shutdown op (its data is `Keep`). Must not point the SQE anywhere but into the op's
//! data (op rule 1).

use std::net::Shutdown as How;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::Op;
use super::keep::Keep;
use crate::{Handle, SharedFd};

/// `IORING_OP_SHUTDOWN`: shuts down one or both directions of a socket.
pub type Shutdown = Keep<SharedFd>;

impl Op<Shutdown> {
    /// `shutdown(2)` through the ring.
    pub fn shutdown(handle: &Handle, fd: &SharedFd, how: How) -> Self {
        let how = match how {
            How::Read => libc::SHUT_RD,
            How::Write => libc::SHUT_WR,
            How::Both => libc::SHUT_RDWR,
        };
        let entry = opcode::Shutdown::new(types::Fd(fd.as_raw_fd()), how).build();
        // SAFETY: no pointers; the socket is kept open by the data's clone.
        unsafe { Keep::submit(handle, entry, fd.clone()) }
    }
}

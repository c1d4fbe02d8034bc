use std::io;
use std::net::Shutdown as How;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{Handle, SharedFd};

/// `IORING_OP_SHUTDOWN`: shuts down one or both directions of a socket.
#[derive(Debug)]
pub struct Shutdown {
    /// Keeps the socket open while the kernel shuts it down (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
}

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
        unsafe { Op::new(handle, entry, Shutdown { fd: fd.clone() }) }
    }
}

impl Completable for Shutdown {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

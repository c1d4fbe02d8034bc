//! `IORING_OP_WRITEV`: write several owned buffers in order (gather).
//!
//! Owns: the writev constructor; the data is `transfer::BufsOut`. Must not point the SQE anywhere
//! but into the op's data (op rule 1).

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::Op;
use super::transfer::{BufsOut, CURRENT_POSITION, write_iovecs};
use crate::{Handle, IoBuf, SharedFd};

/// `IORING_OP_WRITEV`: writes several owned buffers in order (gather).
pub type Writev<B> = BufsOut<B, Box<[libc::iovec]>>;

impl<B: IoBuf> Op<Writev<B>> {
    /// Writes the initialized bytes of `bufs`, in order, at `offset`.
    pub fn writev_at(handle: &Handle, fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Self {
        let iovecs = write_iovecs(&bufs);
        let count = u32::try_from(iovecs.len()).unwrap_or(u32::MAX);
        let entry = opcode::Writev::new(types::Fd(fd.as_raw_fd()), iovecs.as_ptr(), count)
            .offset(offset)
            .build();
        // SAFETY: the SQE's memory is the boxed iovec array, whose iovecs point into the
        // initialized regions of `bufs`; its file is `fd`.
        unsafe { BufsOut::submit(handle, fd, bufs, iovecs, entry) }
    }

    /// Writes at the fd's current position (pipes, append-mode files). Like `write(2)`, a
    /// write to a pipe or socket whose reader is gone raises `SIGPIPE`; on a socket use
    /// [`send_vectored`](Op::send_vectored), which passes `MSG_NOSIGNAL`.
    pub fn writev(handle: &Handle, fd: &SharedFd, bufs: Vec<B>) -> Self {
        Self::writev_at(handle, fd, bufs, CURRENT_POSITION)
    }
}

//! `IORING_OP_WRITE`: write an owned buffer's initialized bytes, to a file or a registered
//! file.
//!
//! Owns: the write constructors; the data is `transfer::BufOut`. Must not point the SQE anywhere
//! but into the op's data (op rule 1).

use super::Op;
use super::transfer::{BufOut, CURRENT_POSITION, Target, sqe};
use crate::file_table::RegisteredFd;
use crate::{Handle, IoBuf, SharedFd};

/// `IORING_OP_WRITE`: writes the initialized bytes of an owned buffer.
pub type Write<B> = BufOut<SharedFd, B>;

/// Write or send a buffer to a [registered file](crate::RegisteredFd).
pub type RegisteredWrite<B> = BufOut<RegisteredFd, B>;

impl<K: Target, B: IoBuf> Op<BufOut<K, B>> {
    /// Writes `buf`'s initialized bytes at `offset` of `fd` (a [`SharedFd`], or a
    /// [`RegisteredFd`] of this ring). `u64::MAX` means the current position.
    pub fn write_at(handle: &Handle, fd: &K, buf: B, offset: u64) -> Self {
        let entry = |t, ptr, len| sqe!(Write(t, ptr, len).offset(offset));
        // SAFETY: the SQE names `fd`'s target and the region it is given (read only).
        unsafe { BufOut::submit(handle, fd, buf, Ok(()), entry) }
    }

    /// Writes at the fd's current position (pipes, append-mode files). Like `write(2)`, a
    /// write to a pipe or socket whose reader is gone raises `SIGPIPE`; on a socket use
    /// [`send`](Op::send), which passes `MSG_NOSIGNAL`.
    pub fn write(handle: &Handle, fd: &K, buf: B) -> Self {
        Self::write_at(handle, fd, buf, CURRENT_POSITION)
    }
}

impl<B: IoBuf> Op<RegisteredWrite<B>> {
    /// [`write_at`](Op::write_at) on a registered file.
    pub fn write_at_registered(handle: &Handle, fd: &RegisteredFd, buf: B, offset: u64) -> Self {
        Self::write_at(handle, fd, buf, offset)
    }

    /// [`write`](Op::write) on a registered file.
    pub fn write_registered(handle: &Handle, fd: &RegisteredFd, buf: B) -> Self {
        Self::write(handle, fd, buf)
    }
}

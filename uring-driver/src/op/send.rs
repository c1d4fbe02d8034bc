//! `IORING_OP_SEND`: send an owned buffer's initialized bytes on a socket or a registered
//! socket, always with `MSG_NOSIGNAL`.
//!
//! Owns: the send constructors; the data is `transfer::BufOut`. Must not point the SQE anywhere but
//! into the op's data (op rule 1).

use super::Op;
use super::transfer::{BufOut, Target, sqe};
use crate::file_table::RegisteredFd;
use crate::{Handle, IoBuf, SharedFd};

/// `IORING_OP_SEND`: sends the initialized bytes of an owned buffer on a socket.
pub type Send<B> = BufOut<SharedFd, B>;

impl<K: Target, B: IoBuf> Op<BufOut<K, B>> {
    /// Sends `buf`'s initialized bytes on `fd` (a [`SharedFd`], or a [`RegisteredFd`] of
    /// this ring). `MSG_NOSIGNAL` is always added: a closed peer is an `EPIPE` error, never
    /// a `SIGPIPE` that kills the process.
    pub fn send(handle: &Handle, fd: &K, buf: B, flags: i32) -> Self {
        let entry = |t, ptr, len| sqe!(Send(t, ptr, len).flags(flags | libc::MSG_NOSIGNAL));
        // SAFETY: the SQE names `fd`'s target and the region it is given (read only).
        unsafe { BufOut::submit(handle, fd, buf, Ok(()), entry) }
    }
}

impl<B: IoBuf> Op<BufOut<RegisteredFd, B>> {
    /// [`send`](Op::send) on a registered socket.
    pub fn send_registered(handle: &Handle, fd: &RegisteredFd, buf: B, flags: i32) -> Self {
        Self::send(handle, fd, buf, flags)
    }
}

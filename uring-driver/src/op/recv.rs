//! `IORING_OP_RECV`: receive into an owned buffer, from a socket or a registered socket.
//!
//! Owns: the recv constructors; the data is `transfer::BufIn`. Must not point the SQE anywhere but
//! into the op's data (op rule 1).

use super::Op;
use super::transfer::{BufIn, Target, sqe};
use crate::file_table::RegisteredFd;
use crate::{Handle, IoBufMut, SharedFd};

/// `IORING_OP_RECV`: receives from a socket into an owned buffer.
pub type Recv<B> = BufIn<SharedFd, B>;

impl<K: Target, B: IoBufMut> Op<BufIn<K, B>> {
    /// Receives up to `buf.bytes_total()` bytes on `fd` (a [`SharedFd`], or a
    /// [`RegisteredFd`] of this ring); `flags` are `recv(2)`'s `MSG_*` flags.
    pub fn recv(handle: &Handle, fd: &K, buf: B, flags: i32) -> Self {
        let entry = |t, ptr, len| sqe!(Recv(t, ptr, len).flags(flags));
        // SAFETY: the SQE names `fd`'s target and the region it is given, nothing else.
        unsafe { BufIn::submit(handle, fd, buf, Ok(()), entry) }
    }
}

impl<B: IoBufMut> Op<BufIn<RegisteredFd, B>> {
    /// [`recv`](Op::recv) on a registered socket.
    pub fn recv_registered(handle: &Handle, fd: &RegisteredFd, buf: B, flags: i32) -> Self {
        Self::recv(handle, fd, buf, flags)
    }
}

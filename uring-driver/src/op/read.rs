//! `IORING_OP_READ`: read into an owned buffer, from a file or a registered file.
//!
//! Owns: the read constructors; the data is `transfer::BufIn`. Must not point the SQE anywhere but
//! into the op's data (op rule 1).

use super::Op;
use super::transfer::{BufIn, CURRENT_POSITION, Target, sqe};
use crate::file_table::RegisteredFd;
use crate::{Handle, IoBufMut, SharedFd};

/// `IORING_OP_READ`: reads into an owned buffer, from its start.
pub type Read<B> = BufIn<SharedFd, B>;

/// Read or recv into a buffer from a [registered file](crate::RegisteredFd), named by its
/// slot in the ring's file table.
pub type RegisteredRead<B> = BufIn<RegisteredFd, B>;

impl<K: Target, B: IoBufMut> Op<BufIn<K, B>> {
    /// Reads up to `buf.bytes_total()` bytes at `offset` of `fd` (a [`SharedFd`], or a
    /// [`RegisteredFd`] of this ring: one of another ring is an `InvalidInput` error, and
    /// nothing is submitted). `u64::MAX` means the current position.
    pub fn read_at(handle: &Handle, fd: &K, buf: B, offset: u64) -> Self {
        let entry = |t, ptr, len| sqe!(Read(t, ptr, len).offset(offset));
        // SAFETY: the SQE names `fd`'s target and the region it is given, nothing else.
        unsafe { BufIn::submit(handle, fd, buf, Ok(()), entry) }
    }

    /// Reads at the fd's current position (the only way to read a pipe or socket).
    pub fn read(handle: &Handle, fd: &K, buf: B) -> Self {
        Self::read_at(handle, fd, buf, CURRENT_POSITION)
    }
}

impl<B: IoBufMut> Op<RegisteredRead<B>> {
    /// [`read_at`](Op::read_at) on a registered file.
    pub fn read_at_registered(handle: &Handle, fd: &RegisteredFd, buf: B, offset: u64) -> Self {
        Self::read_at(handle, fd, buf, offset)
    }
}

//! `IORING_OP_READ_FIXED`: read into a registered (fixed) buffer.
//!
//! Owns: the fixed-buffer read; the data is `transfer::BufIn`. Must not point the SQE anywhere but
//! into the op's data (op rule 1).

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::Op;
use super::transfer::BufIn;
use crate::buf::FixedBuf;
use crate::{Handle, SharedFd};

/// `IORING_OP_READ_FIXED`: reads into a registered buffer, named by its index in the
/// ring's table.
pub type ReadFixed = BufIn<SharedFd, FixedBuf>;

impl Op<ReadFixed> {
    /// Reads into registered buffer `buf` at `offset` (from the buffer's start). A buffer of
    /// another ring is an `InvalidInput` error, and nothing is submitted.
    pub fn read_fixed_at(handle: &Handle, fd: &SharedFd, buf: FixedBuf, offset: u64) -> Self {
        let index = buf.index();
        let owner = handle.check_owner(buf.handle(), "this fixed buffer");
        let raw = types::Fd(fd.as_raw_fd());
        // SAFETY: the SQE names `fd` and the region it is given, which is the registered
        // buffer `index` (its pool keeps the table registered; this ring's: `owner`).
        unsafe {
            BufIn::submit(handle, fd, buf, owner, |_, ptr, len| {
                opcode::ReadFixed::new(raw, ptr, len, index)
                    .offset(offset)
                    .build()
            })
        }
    }
}

//! `IORING_OP_WRITE_FIXED`: write from a registered (fixed) buffer.
//!
//! Owns: the fixed-buffer write; the data is `transfer::BufOut`. Must not point the SQE anywhere
//! but into the op's data (op rule 1).

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::Op;
use super::transfer::BufOut;
use crate::buf::FixedBuf;
use crate::{Handle, SharedFd};

/// `IORING_OP_WRITE_FIXED`: writes a registered buffer's initialized bytes.
pub type WriteFixed = BufOut<SharedFd, FixedBuf>;

impl Op<WriteFixed> {
    /// Writes registered buffer `buf`'s initialized bytes at `offset`. A buffer of another
    /// ring is an `InvalidInput` error, and nothing is submitted.
    pub fn write_fixed_at(handle: &Handle, fd: &SharedFd, buf: FixedBuf, offset: u64) -> Self {
        let index = buf.index();
        let owner = handle.check_owner(buf.handle(), "this fixed buffer");
        let raw = types::Fd(fd.as_raw_fd());
        // SAFETY: as for `read_fixed_at`; the kernel only reads the buffer.
        unsafe {
            BufOut::submit(handle, fd, buf, owner, |_, ptr, len| {
                opcode::WriteFixed::new(raw, ptr, len, index)
                    .offset(offset)
                    .build()
            })
        }
    }
}

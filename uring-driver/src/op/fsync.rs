//! `IORING_OP_FSYNC`: flush a file to storage.
//!
//! Owns: the fsync op (its data is `Keep`). Must not point the SQE anywhere but into the op's data
//! (op rule 1).

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::Op;
use super::keep::Keep;
use crate::{Handle, SharedFd};

/// `IORING_OP_FSYNC`: flushes a file's data (and metadata) to storage.
pub type Fsync = Keep<SharedFd>;

impl Op<Fsync> {
    /// `fsync(2)`, or `fdatasync(2)` when `data_only`.
    pub fn fsync(handle: &Handle, fd: &SharedFd, data_only: bool) -> Self {
        let flags = if data_only {
            types::FsyncFlags::DATASYNC
        } else {
            types::FsyncFlags::empty()
        };
        let entry = opcode::Fsync::new(types::Fd(fd.as_raw_fd()))
            .flags(flags)
            .build();
        // SAFETY: no pointers; the fd is kept open by the data's clone.
        unsafe { Keep::submit(handle, entry, fd.clone()) }
    }
}

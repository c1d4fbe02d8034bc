use std::io;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{Handle, SharedFd};

/// `IORING_OP_FSYNC`: flushes a file's data (and metadata) to storage.
#[derive(Debug)]
pub struct Fsync {
    /// Keeps the fd open while the kernel syncs it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
}

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
        unsafe { Op::new(handle, entry, Fsync { fd: fd.clone() }) }
    }
}

impl Completable for Fsync {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

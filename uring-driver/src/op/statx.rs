//! `IORING_OP_STATX`: a file's metadata, by fd or by path.
//!
//! Owns: the statx op's data (the boxed `statx` the kernel fills). Must not point the SQE anywhere
//! but into the op's data (op rule 1).

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{Handle, SharedFd};

/// `IORING_OP_STATX`: file metadata, of an open fd or a path.
#[derive(Debug)]
pub struct Statx {
    /// Keeps the fd open while the kernel reads its metadata (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: Option<SharedFd>,
    /// Read by the kernel (empty for an fd); heap bytes that do not move (rule 1).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    path: CString,
    /// Filled by the kernel; boxed so its address is stable (rule 1).
    buf: Box<libc::statx>,
}

fn empty_statx() -> Box<libc::statx> {
    // SAFETY: statx is plain old data; all zeroes is a valid value.
    Box::new(unsafe { std::mem::zeroed() })
}

impl Op<Statx> {
    /// The metadata of open file `fd` (`AT_EMPTY_PATH`).
    pub fn statx_fd(handle: &Handle, fd: &SharedFd) -> Self {
        Self::statx(handle, Some(fd), CString::default(), libc::AT_EMPTY_PATH)
    }

    /// The metadata of the file at `path` (following symlinks).
    pub fn statx_path(handle: &Handle, path: CString) -> Self {
        Self::statx(handle, None, path, 0)
    }

    fn statx(handle: &Handle, fd: Option<&SharedFd>, path: CString, flags: i32) -> Self {
        let mut buf = empty_statx();
        let dir = fd.map_or(libc::AT_FDCWD, |fd| fd.as_raw_fd());
        let entry = opcode::Statx::new(
            types::Fd(dir),
            path.as_ptr(),
            (&raw mut *buf).cast::<types::statx>(),
        )
        .flags(flags)
        .mask(libc::STATX_BASIC_STATS | libc::STATX_BTIME)
        .build();
        let data = Statx {
            fd: fd.cloned(),
            path,
            buf,
        };
        // SAFETY: the path (empty for an fd) and the statx buffer are owned by the op's
        // data (a CString and a Box, heap memory that does not move); the fd, if any, is
        // kept open by the data's clone.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl Completable for Statx {
    type Output = io::Result<libc::statx>;

    fn complete(self, cqe: CqeResult) -> io::Result<libc::statx> {
        cqe.result.map(|_| *self.buf)
    }
}

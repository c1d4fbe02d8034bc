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
    #[allow(dead_code)]
    fd: Option<SharedFd>,
    /// Read by the kernel (empty for an fd); heap bytes that do not move (rule 1).
    #[allow(dead_code)]
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
        let path = CString::default();
        let mut buf = empty_statx();
        let entry = opcode::Statx::new(
            types::Fd(fd.as_raw_fd()),
            path.as_ptr(),
            (&raw mut *buf).cast::<types::statx>(),
        )
        .flags(libc::AT_EMPTY_PATH)
        .mask(libc::STATX_BASIC_STATS | libc::STATX_BTIME)
        .build();
        // SAFETY: the empty path and the statx buffer are owned by the op's data (a
        // CString and a Box); the fd is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Statx {
                    fd: Some(fd.clone()),
                    path,
                    buf,
                },
            )
        }
    }

    /// The metadata of the file at `path` (following symlinks).
    pub fn statx_path(handle: &Handle, path: CString) -> Self {
        let mut buf = empty_statx();
        let entry = opcode::Statx::new(
            types::Fd(libc::AT_FDCWD),
            path.as_ptr(),
            (&raw mut *buf).cast::<types::statx>(),
        )
        .mask(libc::STATX_BASIC_STATS | libc::STATX_BTIME)
        .build();
        // SAFETY: the path and the statx buffer are owned by the op's data.
        unsafe {
            Op::new(
                handle,
                entry,
                Statx {
                    fd: None,
                    path,
                    buf,
                },
            )
        }
    }
}

impl Completable for Statx {
    type Output = io::Result<libc::statx>;

    fn complete(self, cqe: CqeResult) -> io::Result<libc::statx> {
        cqe.result.map(|_| *self.buf)
    }
}

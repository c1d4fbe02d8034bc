use std::ffi::CString;
use std::io;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_MKDIRAT`: creates a directory.
#[derive(Debug)]
pub struct MkDirAt {
    /// Read by the kernel; heap bytes that do not move (rule 1).
    #[allow(dead_code)]
    path: CString,
}

impl Op<MkDirAt> {
    /// Creates the directory `path` with permission bits `mode` (before the umask).
    pub fn mkdirat(handle: &Handle, path: CString, mode: u32) -> Self {
        let entry = opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
            .mode(mode)
            .build();
        // SAFETY: the path bytes live in the CString owned by the op's data.
        unsafe { Op::new(handle, entry, MkDirAt { path }) }
    }
}

impl Completable for MkDirAt {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

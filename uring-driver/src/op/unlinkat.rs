use std::ffi::CString;
use std::io;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_UNLINKAT`: removes a file or an empty directory.
#[derive(Debug)]
pub struct UnlinkAt {
    /// Read by the kernel; heap bytes that do not move (rule 1).
    #[allow(dead_code)]
    path: CString,
}

impl Op<UnlinkAt> {
    /// Removes the file at `path`, or the empty directory if `dir`.
    pub fn unlinkat(handle: &Handle, path: CString, dir: bool) -> Self {
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        let entry = opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
            .flags(flags)
            .build();
        // SAFETY: the path bytes live in the CString owned by the op's data.
        unsafe { Op::new(handle, entry, UnlinkAt { path }) }
    }
}

impl Completable for UnlinkAt {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

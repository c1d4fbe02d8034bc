use std::ffi::CString;
use std::io;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_RENAMEAT`: renames (moves) a file or directory.
#[derive(Debug)]
pub struct RenameAt {
    /// Both read by the kernel; heap bytes that do not move (rule 1).
    #[allow(dead_code)]
    paths: (CString, CString),
}

impl Op<RenameAt> {
    /// Renames `from` to `to`, replacing `to` if it exists (as `rename(2)`).
    pub fn renameat(handle: &Handle, from: CString, to: CString) -> Self {
        let entry = opcode::RenameAt::new(
            types::Fd(libc::AT_FDCWD),
            from.as_ptr(),
            types::Fd(libc::AT_FDCWD),
            to.as_ptr(),
        )
        .build();
        // SAFETY: both paths live in CStrings owned by the op's data.
        unsafe { Op::new(handle, entry, RenameAt { paths: (from, to) }) }
    }
}

impl Completable for RenameAt {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

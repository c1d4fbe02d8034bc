//! `IORING_OP_MKDIRAT`: create a directory.
//!
//! Owns: the mkdirat op (its data is `Keep`). Must not point the SQE anywhere but into the op's
//! data (op rule 1).

use std::ffi::CString;

use io_uring::{opcode, types};

use super::Op;
use super::keep::Keep;
use crate::Handle;

/// `IORING_OP_MKDIRAT`: creates a directory.
pub type MkDirAt = Keep<CString>;

impl Op<MkDirAt> {
    /// Creates the directory `path` with permission bits `mode` (before the umask).
    pub fn mkdirat(handle: &Handle, path: CString, mode: u32) -> Self {
        let entry = opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
            .mode(mode)
            .build();
        // SAFETY: the path bytes live in the CString owned by the op's data.
        unsafe { Keep::submit(handle, entry, path) }
    }
}

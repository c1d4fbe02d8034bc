//! `IORING_OP_UNLINKAT`: remove a file or an empty directory.
//!
//! Owns: the unlink op (its data is `Keep`). Must not point the SQE anywhere but into the op's data
//! (op rule 1).

use std::ffi::CString;

use io_uring::{opcode, types};

use super::Op;
use super::keep::Keep;
use crate::Handle;

/// `IORING_OP_UNLINKAT`: removes a file or an empty directory.
pub type UnlinkAt = Keep<CString>;

impl Op<UnlinkAt> {
    /// Removes the file at `path`, or the empty directory if `dir`.
    pub fn unlinkat(handle: &Handle, path: CString, dir: bool) -> Self {
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        let entry = opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
            .flags(flags)
            .build();
        // SAFETY: the path bytes live in the CString owned by the op's data.
        unsafe { Keep::submit(handle, entry, path) }
    }
}

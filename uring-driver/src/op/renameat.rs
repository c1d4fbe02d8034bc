//! `IORING_OP_RENAMEAT`: rename a file or directory.
//!
//! Owns: the rename op (its data is `Keep`). Must not point the SQE anywhere but into the op's data
//! (op rule 1).

use std::ffi::CString;

use io_uring::{opcode, types};

use super::Op;
use super::keep::Keep;
use crate::Handle;

/// `IORING_OP_RENAMEAT`: renames (moves) a file or directory.
pub type RenameAt = Keep<(CString, CString)>;

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
        unsafe { Keep::submit(handle, entry, (from, to)) }
    }
}

//! `IORING_OP_LINKAT` and `IORING_OP_SYMLINKAT` (Linux 5.15): hard and symbolic links.
//!
//! Owns: the two link ops (their data is `Keep`). Must not point the SQE anywhere but
//! into the op's data (op rule 1).

use std::ffi::CString;

use io_uring::{opcode, types};

use super::Op;
use super::keep::Keep;
use crate::Handle;

/// `IORING_OP_LINKAT` / `IORING_OP_SYMLINKAT`: makes a link; holds both paths.
pub type LinkAt = Keep<(CString, CString)>;

impl Op<LinkAt> {
    /// Makes `link` a new hard link to the file `original` (as `link(2)`: symlinks in
    /// `original` are not followed).
    pub fn linkat(handle: &Handle, original: CString, link: CString) -> Self {
        let entry = opcode::LinkAt::new(
            types::Fd(libc::AT_FDCWD),
            original.as_ptr(),
            types::Fd(libc::AT_FDCWD),
            link.as_ptr(),
        )
        .build();
        // SAFETY: both paths live in CStrings owned by the op's data.
        unsafe { Keep::submit(handle, entry, (original, link)) }
    }

    /// Makes `link` a symbolic link whose target is `target` (as `symlink(2)`: the target
    /// need not exist).
    pub fn symlinkat(handle: &Handle, target: CString, link: CString) -> Self {
        let entry =
            opcode::SymlinkAt::new(types::Fd(libc::AT_FDCWD), target.as_ptr(), link.as_ptr())
                .build();
        // SAFETY: both paths live in CStrings owned by the op's data.
        unsafe { Keep::submit(handle, entry, (target, link)) }
    }
}

//! `IORING_OP_OPENAT`: open a file by path.
//!
//! Owns: the open op's data (the path) and the closing of a file opened for a dropped op
//! (rule 3). Must not point the SQE anywhere but into the op's data (op rule 1).

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_OPENAT`: opens a file relative to the current directory.
#[derive(Debug)]
pub struct OpenAt {
    /// Read by the kernel; a CString's heap bytes do not move (rule 1).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    path: CString,
}

fn owned_fd(raw: u32) -> OwnedFd {
    // SAFETY: a non-negative openat result is a new descriptor that only this op owns.
    unsafe { OwnedFd::from_raw_fd(raw as i32) }
}

impl Op<OpenAt> {
    /// Opens `path` with `open(2)` `flags` (`O_CLOEXEC` is always added) and `mode` for a
    /// created file.
    pub fn openat(handle: &Handle, path: CString, flags: i32, mode: u32) -> Self {
        let entry = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
            .flags(flags | libc::O_CLOEXEC)
            .mode(mode)
            .build();
        // SAFETY: the path bytes live in the CString owned by the op's data.
        unsafe { Op::new(handle, entry, OpenAt { path }) }
    }
}

impl Completable for OpenAt {
    type Output = io::Result<OwnedFd>;

    fn complete(self, cqe: CqeResult) -> io::Result<OwnedFd> {
        cqe.result.map(owned_fd)
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        // Rule 3: the file was opened after nobody wanted it any more.
        if let Ok(raw) = cqe.result {
            drop(owned_fd(raw));
        }
    }
}

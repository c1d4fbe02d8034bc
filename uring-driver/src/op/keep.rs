//! The data of ops that only name things — an fd, a path or two — and report success or an
//! error: fsync, shutdown, mkdirat, unlinkat, renameat.
//!
//! Owns: [`Keep`], which holds what the SQE names until the final CQE (rules 1 and 4).
//! Must not know opcodes: each op file builds its own SQE.

use std::fmt;
use std::io;

use io_uring::squeue;

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// Data of an op that only keeps `T` (an fd, paths) alive for the kernel; resolves to
/// `Ok(())` or the kernel's error.
#[derive(Debug)]
pub struct Keep<T> {
    #[expect(dead_code, reason = "held so the kernel's fd or pointers stay valid")]
    kept: T,
}

impl<T: fmt::Debug + Unpin + 'static> Keep<T> {
    /// Submits `entry` as an op holding `kept`.
    ///
    /// # Safety
    ///
    /// Every pointer in `entry` points into heap memory `kept` owns (which does not move
    /// with it), and every fd it names is kept open by `kept`.
    pub(crate) unsafe fn submit(handle: &Handle, entry: squeue::Entry, kept: T) -> Op<Self> {
        // SAFETY: forwarded from this function's contract; the data is `kept`.
        unsafe { Op::new(handle, entry, Keep { kept }) }
    }
}

impl<T: fmt::Debug + Unpin + 'static> Completable for Keep<T> {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

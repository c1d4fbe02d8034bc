//! `IORING_OP_TIMEOUT`: a kernel timer.
//!
//! Owns: the timeout op's data (the boxed timespec). Must not point the SQE anywhere but into the
//! op's data (op rule 1).

use std::io;
use std::time::Duration;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_TIMEOUT`: completes after a relative duration (on `CLOCK_MONOTONIC`).
#[derive(Debug)]
pub struct Timeout {
    /// Read by the kernel; boxed so its address is stable (rule 1).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    timespec: Box<types::Timespec>,
}

impl Op<Timeout> {
    /// Completes with `Ok(())` once `duration` has passed.
    pub fn timeout(handle: &Handle, duration: Duration) -> Self {
        let timespec = Box::new(types::Timespec::from(duration));
        let entry = opcode::Timeout::new(&*timespec).build();
        // SAFETY: the timespec is boxed in the op's data.
        unsafe { Op::new(handle, entry, Timeout { timespec }) }
    }
}

impl Op<Timeout> {
    /// Removes the pending timeout (`IORING_OP_TIMEOUT_REMOVE`): awaiting it then yields
    /// `ECANCELED`, or `Ok` if it fired first.
    pub fn remove(&mut self) {
        if let Some(key) = self.key() {
            self.handle().remove_timeout(key);
        }
    }
}

impl Completable for Timeout {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        match cqe.result {
            // A pure timeout reports its expiry as ETIME.
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            other => other.map(drop),
        }
    }
}

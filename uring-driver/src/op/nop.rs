//! `IORING_OP_NOP`: an op that does nothing, for tests and wake-ups.
//!
//! Owns: the nop op. Must not point the SQE anywhere but into the op's data (op rule 1).

use std::io;

use io_uring::opcode;

use super::{Completable, CqeResult, Op};
use crate::Handle;

/// `IORING_OP_NOP`: a round trip through the ring that touches nothing.
#[derive(Debug)]
pub struct Nop;

impl Op<Nop> {
    /// Submits a no-op.
    pub fn nop(handle: &Handle) -> Self {
        // SAFETY: a NOP carries no pointers and names no fd.
        unsafe { Op::new(handle, opcode::Nop::new().build(), Nop) }
    }
}

impl Completable for Nop {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

//! `IORING_OP_RECV` with `IORING_RECV_MULTISHOT` into a buffer ring.
//!
//! Owns: the multishot receive and its buffer leases. Must not submit on a buffer ring of
//! another ring (rule 8).

use std::io;
use std::os::fd::AsRawFd;

use io_uring::{cqueue, opcode, types};

use super::{CqeResult, MultishotCompletable, MultishotOp};
use crate::buf::{BufRing, RingBuf};
use crate::{Handle, SharedFd};

/// `IORING_OP_RECV` with `IORING_RECV_MULTISHOT` and a provided-buffer ring (Linux 6.0+):
/// one submission receives for as long as data comes, each chunk in a buffer the kernel
/// picks from the ring.
#[derive(Debug)]
pub struct RecvMulti {
    /// Keeps the socket open while the kernel receives on it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
    /// Keeps the pool alive while the kernel may fill it (ring rule 2).
    ring: BufRing,
}

impl MultishotOp<RecvMulti> {
    /// Receives on `fd` into buffers from `ring` until EOF, an error, or `ENOBUFS` (the
    /// ring ran dry: data waits in the socket; re-arm once buffers come back).
    ///
    /// If `ring` belongs to another ring than `handle`'s, nothing is submitted and the one
    /// item is an `InvalidInput` error (op rule 8).
    pub fn recv_multi(handle: &Handle, fd: &SharedFd, ring: &BufRing) -> Self {
        let entry = opcode::RecvMulti::new(types::Fd(fd.as_raw_fd()), ring.group()).build();
        let data = RecvMulti {
            fd: fd.clone(),
            ring: ring.clone(),
        };
        if let Err(e) = handle.check_owner(ring.handle(), "this buffer ring") {
            return MultishotOp::rejected(handle, data, e);
        }
        let tap = Some(ring.clone());
        // SAFETY: no pointers: the kernel picks buffers from the ring, whose memory the
        // data's `BufRing` keeps alive; the socket is kept open by the data's clone.
        unsafe { MultishotOp::with_tap(handle, entry, data, tap) }
    }
}

impl MultishotCompletable for RecvMulti {
    /// `Ok(Some(buf))` for data, `Ok(None)` at EOF.
    type Item = io::Result<Option<RingBuf>>;

    fn next(&mut self, cqe: CqeResult) -> Self::Item {
        let buffer = cqueue::buffer_select(cqe.flags);
        let n = cqe.result?;
        match buffer {
            Some(bid) if n > 0 => self.ring.lease(bid, n as usize).map(Some),
            Some(bid) => {
                drop(self.ring.lease(bid, 0)?); // an empty buffer: straight back
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        // Rule 3: a buffer filled after nobody wanted it goes back to its ring (an id that
        // is not this ring's is not touched: ring rule 4).
        if let Some(bid) = cqueue::buffer_select(cqe.flags) {
            drop(self.ring.lease(bid, 0));
        }
    }
}

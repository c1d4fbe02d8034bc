//! `IORING_OP_RECV` with `IORING_RECV_MULTISHOT` into a buffer ring, with receive bundles
//! where the ring has them.
//!
//! Owns: the multishot receive and its buffer leases. Must not submit on a buffer ring of
//! another ring (rule 8).

use std::io;
use std::os::fd::AsRawFd;

use io_uring::{cqueue, opcode, types};

use super::{CqeResult, MultishotCompletable, MultishotOp};
use crate::buf::{BufRing, Bundle, RingTap};
use crate::{Handle, SharedFd};

/// `IORING_OP_RECV` with `IORING_RECV_MULTISHOT` and a provided-buffer ring (Linux 6.0+):
/// one submission receives for as long as data comes, each chunk in buffers the kernel
/// picks from the ring. With receive bundles ([`Features::recv_bundle`]) one completion
/// carries as many buffers as the data waiting fills; without, one buffer each.
///
/// [`Features::recv_bundle`]: crate::Features::recv_bundle
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
    /// Whether the receive was submitted with `IORING_RECVSEND_BUNDLE`.
    bundle: bool,
}

impl MultishotOp<RecvMulti> {
    /// Receives on `fd` into buffers from `ring` until EOF, an error, or `ENOBUFS` (the
    /// ring ran dry: data waits in the socket; re-arm once buffers come back). Uses
    /// receive bundles where [`Features::recv_bundle`](crate::Features::recv_bundle) says
    /// the ring has them.
    ///
    /// If `ring` belongs to another ring than `handle`'s, nothing is submitted and the one
    /// item is an `InvalidInput` error (op rule 8).
    pub fn recv_multi(handle: &Handle, fd: &SharedFd, ring: &BufRing) -> Self {
        let bundle = handle.features().recv_bundle;
        let target = types::Fd(fd.as_raw_fd());
        let entry = match bundle {
            true => opcode::RecvMultiBundle::new(target, ring.group()).build(),
            false => opcode::RecvMulti::new(target, ring.group()).build(),
        };
        let data = RecvMulti {
            fd: fd.clone(),
            ring: ring.clone(),
            bundle,
        };
        if let Err(e) = handle.check_owner(ring.handle(), "this buffer ring") {
            return MultishotOp::rejected(handle, data, e);
        }
        let tap = Some(RingTap::new(ring, bundle));
        // SAFETY: no pointers: the kernel picks buffers from the ring, whose memory the
        // data's `BufRing` keeps alive; the socket is kept open by the data's clone.
        unsafe { MultishotOp::with_tap(handle, entry, data, tap) }
    }
}

impl MultishotCompletable for RecvMulti {
    /// `Ok(Some(bundle))` for data (never an empty bundle), `Ok(None)` at EOF.
    type Item = io::Result<Option<Bundle>>;

    fn next(&mut self, cqe: CqeResult) -> Self::Item {
        let buffer = cqueue::buffer_select(cqe.flags);
        let n = cqe.result? as usize;
        match buffer {
            Some(bid) if n > 0 => self.ring.lease_bundle(bid, n, self.bundle).map(Some),
            Some(bid) => {
                // EOF. A single-buffer receive used up an empty buffer: straight back. A
                // bundle's empty completion took none (ring rule 6).
                drop(self.ring.lease_bundle(bid, 0, self.bundle)?);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn cleanup_ignored(&mut self, cqe: &CqeResult) {
        // Rule 3: buffers filled after nobody wanted them go back to their ring (an id that
        // is not this ring's is not touched: ring rule 4). A failed receive took none.
        if let (Some(bid), Ok(n)) = (cqueue::buffer_select(cqe.flags), &cqe.result) {
            drop(self.ring.lease_bundle(bid, *n as usize, self.bundle));
        }
    }
}

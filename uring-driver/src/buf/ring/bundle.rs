//! A bundle: the buffers one receive filled, leased together (ring rule 6).
//!
//! Owns: handing a bundle's buffers out in order, and returning those never handed out.
//! Must not return a buffer that was handed out (its `RingBuf` does that).

use std::fmt;
use std::rc::Rc;

use super::{RingBuf, RingInner};

/// The buffers one receive filled, in the order the data arrived: the first ones full,
/// the last one holding the rest. Iterating hands each out as a [`RingBuf`]; the ones not
/// taken go back to the ring when the bundle drops.
///
/// A receive without bundles (or on a kernel without them) yields bundles of one buffer.
pub struct Bundle {
    ring: Option<Rc<RingInner>>,
    /// The next buffer to hand out, and how many are left.
    next: u16,
    left: usize,
    /// Bytes in the buffers left.
    bytes: usize,
}

impl Bundle {
    /// A bundle of the `count` leased buffers chained from `first` (ring rule 6), holding
    /// `bytes` bytes in all.
    pub(super) fn new(ring: &Rc<RingInner>, first: u16, count: usize, bytes: usize) -> Bundle {
        Bundle {
            ring: (count > 0).then(|| ring.clone()),
            next: first,
            left: count,
            bytes,
        }
    }

    /// Bytes in the buffers not handed out yet.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether every buffer has been handed out.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

impl Iterator for Bundle {
    type Item = RingBuf;

    fn next(&mut self) -> Option<RingBuf> {
        let ring = self.ring.as_ref()?;
        let bid = self.next;
        self.left -= 1;
        let len = if self.left == 0 {
            self.bytes
        } else {
            // Every buffer of a bundle but the last is full (ring rule 6).
            self.next = ring.positions.after(bid);
            ring.buf_size.min(self.bytes)
        };
        self.bytes -= len;
        let ring = match self.left {
            0 => self.ring.take()?,
            _ => ring.clone(),
        };
        Some(RingBuf::leased(ring, bid, len))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Bundle {}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Each buffer not handed out goes back to the ring as its lease ends.
        self.by_ref().for_each(drop);
    }
}

impl fmt::Debug for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bundle")
            .field("buffers", &self.left)
            .field("bytes", &self.bytes)
            .finish()
    }
}

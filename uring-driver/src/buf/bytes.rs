//! `bytes::Bytes` and `bytes::BytesMut` as owned buffers (feature `bytes`).
//!
//! Owns: the two implementations. Must not let a `BytesMut` grow while an op holds it:
//! only the op owns it then, so nothing can.

use bytes::{Bytes, BytesMut};

use super::{IoBuf, IoBufMut};

// SAFETY: a `Bytes` is an immutable view of a reference-counted allocation that does not
// move with the value and is freed only when its last view drops; all `len` bytes are
// initialized.
unsafe impl IoBuf for Bytes {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: a `BytesMut`'s heap storage does not move with the value, and it only
// reallocates when it grows, which needs `&mut` access the op's ownership excludes; `len`
// bytes of `capacity` are initialized.
unsafe impl IoBuf for BytesMut {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: as for `IoBuf`; any byte pattern is a valid u8.
unsafe impl IoBufMut for BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_init(&mut self, pos: usize) {
        if self.len() < pos {
            // SAFETY: the caller promises `pos <= capacity` and that `..pos` is initialized.
            unsafe { self.set_len(pos) };
        }
    }
}

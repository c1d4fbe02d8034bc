//! `IoBuf`: a buffer the kernel may read while an op is in flight, and the types that are
//! one.
//!
//! Owns: the trait's contract (stable, heap or static memory) and its implementations.
//! Must not implement it for memory that can move with its value.

use std::ops::RangeBounds;

use super::Slice;

/// A buffer the kernel may read from while an operation is in flight.
///
/// # Safety
///
/// Implementors promise that, for as long as the value is alive and not mutated through
/// `&mut self`:
///
/// 1. [`stable_ptr`](IoBuf::stable_ptr) points to at least [`bytes_total`](IoBuf::bytes_total)
///    bytes of allocated memory, of which the first [`bytes_init`](IoBuf::bytes_init) are
///    initialized (`bytes_init <= bytes_total`);
/// 2. that memory stays at the same address when the value itself is moved (it lives on the
///    heap or in static memory, never inline in the value), so an operation may carry the
///    value around while the kernel holds the pointer;
/// 3. dropping the value is the only thing that frees the memory.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned buffer ringlet can write from",
    label = "a borrowed or unowned buffer: the kernel may still read it after this call returns",
    note = "pass an owned buffer, which comes back with the result: `Vec<u8>` (e.g. `vec![0u8; 4096]` or `Vec::with_capacity(4096)`), `Box<[u8]>`, a `RingBuf` or `FixedBuf` from a pool, or `bytes::Bytes`/`BytesMut` with the `bytes` feature",
    note = "a borrowed `&mut [u8]` cannot be used: the operation completes in the kernel after the call that started it, when a borrow may have ended"
)]
pub unsafe trait IoBuf: Unpin + 'static {
    /// A pointer to the start of the buffer, valid as long as the value lives (rule 2).
    fn stable_ptr(&self) -> *const u8;

    /// The number of initialized bytes: what a write sends.
    fn bytes_init(&self) -> usize;

    /// The total capacity: how much a read may fill.
    fn bytes_total(&self) -> usize;

    /// A view of `range` within this buffer that owns the buffer.
    ///
    /// An unbounded end means [`bytes_total`](IoBuf::bytes_total), so
    /// `Vec::with_capacity(n).slice(..)` covers the whole capacity.
    ///
    /// # Panics
    ///
    /// Panics if the range is reversed or ends past `bytes_total`.
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        Slice::new(self, range)
    }
}

// SAFETY: a Vec's heap allocation does not move with the Vec; `len` bytes are initialized
// out of `capacity` allocated ones.
unsafe impl IoBuf for Vec<u8> {
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

/// `IoBuf` for buffers whose bytes are all initialized and whose length is fixed: each
/// type comes with the reason its memory does not move and is freed only on drop.
macro_rules! fully_initialized {
    ($($(#[doc = $why:literal])+ $ty:ty;)+) => {$(
        $(#[doc = $why])+
        // SAFETY: the bytes behind `as_ptr` are allocated and initialized for `len`; why
        // they stay put and are freed only with the value is given above, per type.
        unsafe impl IoBuf for $ty {
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
    )+};
}

fully_initialized! {
    /// A boxed slice is a fixed heap allocation.
    Box<[u8]>;
    /// Static memory never moves and is never freed.
    &'static [u8];
    /// Static memory never moves and is never freed; it is only read, so UTF-8 stays.
    &'static str;
    /// The slice lives in the Rc's heap allocation, which does not move and is only freed
    /// when the last clone goes; the op holds one clone. Shared buffers are read-only
    /// (there is no `IoBufMut` for them), so other clones may read concurrently.
    std::rc::Rc<[u8]>;
    /// As for `Rc<[u8]>`.
    std::sync::Arc<[u8]>;
}

// SAFETY: a boxed array is a fixed heap allocation, fully initialized.
unsafe impl<const N: usize> IoBuf for Box<[u8; N]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        N
    }
    fn bytes_total(&self) -> usize {
        N
    }
}

// SAFETY: a String's heap allocation does not move with the String. It is only ever read
// (String is not `IoBufMut`), so its UTF-8 invariant is kept.
unsafe impl IoBuf for String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_reports_len_and_capacity() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abc");
        assert_eq!(v.bytes_init(), 3);
        assert!(v.bytes_total() >= 16);
        assert_eq!(v.stable_ptr(), v.as_ptr());
    }

    #[test]
    fn static_and_boxed_are_fully_initialized() {
        let s: &'static str = "hello";
        assert_eq!((s.bytes_init(), s.bytes_total()), (5, 5));
        let b: Box<[u8]> = vec![1, 2, 3].into_boxed_slice();
        assert_eq!((b.bytes_init(), b.bytes_total()), (3, 3));
        let a = Box::new([0u8; 7]);
        assert_eq!((a.bytes_init(), a.bytes_total()), (7, 7));
    }

    #[test]
    fn shared_buffers_point_into_their_allocation() {
        let rc: std::rc::Rc<[u8]> = std::rc::Rc::from(&b"shared"[..]);
        let clone = rc.clone();
        assert_eq!(
            rc.stable_ptr(),
            clone.stable_ptr(),
            "clones share the bytes"
        );
        assert_eq!((rc.bytes_init(), rc.bytes_total()), (6, 6));
        let arc: std::sync::Arc<[u8]> = std::sync::Arc::from(vec![1u8; 3]);
        assert_eq!((arc.bytes_init(), arc.bytes_total()), (3, 3));
    }

    #[test]
    fn pointer_survives_a_move() {
        let v = vec![9u8; 32];
        let before = v.stable_ptr();
        let moved = Box::new(v);
        assert_eq!(moved.stable_ptr(), before);
    }
}

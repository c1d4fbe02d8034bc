//! `Slice`: an owned view of part of a buffer, so an op can read or write a range and still
//! hand the whole buffer back.
//!
//! Owns: the range arithmetic. Must not outlive or copy the buffer: it owns it.

use std::ops::{Bound, Deref, RangeBounds};

use super::{IoBuf, IoBufMut};

/// A sub-range of an owned buffer that owns the buffer.
///
/// Made by [`IoBuf::slice`]. Reads fill the slice from its start; writes send its initialized
/// part. [`into_inner`](Slice::into_inner) gives the whole buffer back, e.g. after
/// `write_all` has sent a slice of it.
#[derive(Debug)]
pub struct Slice<T> {
    buf: T,
    begin: usize,
    end: usize,
}

impl<T: IoBuf> Slice<T> {
    pub(crate) fn new(buf: T, range: impl RangeBounds<usize>) -> Self {
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.checked_add(1).expect("slice start overflows usize"),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.checked_add(1).expect("slice end overflows usize"),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => buf.bytes_total(),
        };
        assert!(
            begin <= end,
            "slice range starts at {begin} but ends at {end}"
        );
        assert!(
            end <= buf.bytes_total(),
            "slice range ends at {end}, past the buffer's {} bytes",
            buf.bytes_total()
        );
        Slice { buf, begin, end }
    }
}

impl<T> Slice<T> {
    /// Offset of the slice's start within the buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Offset one past the slice's end within the buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The whole underlying buffer.
    pub fn get_ref(&self) -> &T {
        &self.buf
    }

    /// The whole underlying buffer, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.buf
    }

    /// Gives the whole buffer back.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: IoBuf> Deref for Slice<T> {
    type Target = [u8];

    /// The initialized bytes inside the slice's range.
    fn deref(&self) -> &[u8] {
        let len = self.bytes_init();
        // SAFETY: by the IoBuf contract the buffer's first `bytes_init` bytes are initialized
        // and allocated; `begin + len <= min(end, buf.bytes_init())` keeps us within them.
        unsafe { std::slice::from_raw_parts(self.buf.stable_ptr().add(self.begin), len) }
    }
}

// SAFETY: the range lies within the inner buffer's allocation (checked in `new`), so the
// inner buffer's guarantees carry over to the sub-range.
unsafe impl<T: IoBuf> IoBuf for Slice<T> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: `begin <= bytes_total`, so the offset stays within (or one past) the
        // allocation.
        unsafe { self.buf.stable_ptr().add(self.begin) }
    }

    fn bytes_init(&self) -> usize {
        self.buf.bytes_init().clamp(self.begin, self.end) - self.begin
    }

    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: as for `IoBuf for Slice`; writes stay within `begin..end` of the inner buffer.
unsafe impl<T: IoBufMut> IoBufMut for Slice<T> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: as in `stable_ptr`.
        unsafe { self.buf.stable_mut_ptr().add(self.begin) }
    }

    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: the caller promises `..pos` of the slice is initialized. The inner buffer's
        // bytes before `begin` must be initialized too for this to be honest, which holds
        // when they were already (`begin <= bytes_init`), the case reads into a slice use.
        if self.buf.bytes_init() >= self.begin {
            // SAFETY: see above; `begin + pos <= end <= bytes_total`.
            unsafe { self.buf.set_init(self.begin + pos) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_bounds_and_contents() {
        let s = b"hello world".to_vec().slice(6..);
        assert_eq!(&s[..], b"world");
        assert_eq!((s.begin(), s.end()), (6, 11));
        assert_eq!(s.into_inner(), b"hello world");
    }

    #[test]
    fn slice_of_capacity_sees_only_initialized_bytes() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abcd");
        let s = v.slice(2..10);
        assert_eq!(&s[..], b"cd");
        assert_eq!(s.bytes_total(), 8);
    }

    #[test]
    fn set_init_through_a_slice_extends_the_vec() {
        let mut s = vec![1u8, 2].slice(..);
        assert!(s.bytes_total() >= 2);
        let mut v = Vec::with_capacity(8);
        v.push(1u8);
        let mut tail = v.slice(1..8);
        // SAFETY: write 3 bytes at the slice start and declare them initialized.
        unsafe {
            tail.stable_mut_ptr().write_bytes(5, 3);
            tail.set_init(3);
        }
        assert_eq!(tail.into_inner(), [1, 5, 5, 5]);
        // SAFETY: no-op, already initialized.
        unsafe { s.set_init(1) };
        assert_eq!(s.into_inner(), [1, 2]);
    }

    #[test]
    #[should_panic(expected = "past the buffer")]
    fn slice_past_the_end_panics() {
        let _ = vec![0u8; 4].into_boxed_slice().slice(..5);
    }
}

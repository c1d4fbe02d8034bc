//! `IoBufMut`: a buffer the kernel may write into, and how the op marks what it wrote.
//!
//! Owns: the trait's contract and its implementations. Must not let `set_init` claim more
//! than the buffer's capacity.

use super::IoBuf;

/// A buffer the kernel may write into while an operation is in flight.
///
/// A read fills the buffer from its start (from [`stable_mut_ptr`](IoBufMut::stable_mut_ptr))
/// up to [`bytes_total`](IoBuf::bytes_total) bytes; on success the driver calls
/// [`set_init`](IoBufMut::set_init) with the number of bytes the kernel wrote.
///
/// # Safety
///
/// Everything [`IoBuf`] promises, and: `stable_mut_ptr` points to the same memory as
/// `stable_ptr`, writable for `bytes_total` bytes, and writing any bytes there keeps the
/// value valid (so `String`, with its UTF-8 invariant, is not `IoBufMut`).
///
/// A borrowed slice is not a buffer the kernel may keep: this does not compile, and the
/// error says what to pass instead.
///
/// ```compile_fail,E0277
/// fn read_into<B: uring_driver::IoBufMut>(buf: B) -> B { buf }
/// let mut bytes = [0u8; 16];
/// read_into(&mut bytes[..]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned buffer ringlet can read into",
    label = "a borrowed or unowned buffer: the kernel may still write it after this call returns",
    note = "pass an owned buffer, which comes back with the result: `Vec<u8>` (e.g. `vec![0u8; 4096]` or `Vec::with_capacity(4096)`), `Box<[u8]>`, a `RingBuf` or `FixedBuf` from a pool, or `bytes::Bytes`/`BytesMut` with the `bytes` feature",
    note = "a borrowed `&mut [u8]` cannot be used: the operation completes in the kernel after the call that started it, when a borrow may have ended"
)]
pub unsafe trait IoBufMut: IoBuf {
    /// A writable pointer to the start of the buffer, valid as long as the value lives.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Records that the first `pos` bytes are now initialized. Never shrinks the
    /// initialized region: a shorter `pos` than the current one changes nothing.
    ///
    /// # Safety
    ///
    /// The first `pos` bytes must really be initialized, and `pos <= bytes_total()`.
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: see `IoBuf for Vec<u8>`; any byte pattern is a valid u8.
unsafe impl IoBufMut for Vec<u8> {
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

// SAFETY: see `IoBuf for Box<[u8]>`; always fully initialized.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: see `IoBuf for Box<[u8; N]>`; always fully initialized.
unsafe impl<const N: usize> IoBufMut for Box<[u8; N]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_init(&mut self, _pos: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_init_grows_but_never_shrinks_a_vec() {
        let mut v: Vec<u8> = Vec::with_capacity(8);
        // SAFETY: write 4 bytes into the capacity, then declare them initialized.
        unsafe {
            v.stable_mut_ptr().write_bytes(7, 4);
            v.set_init(4);
        }
        assert_eq!(v, [7, 7, 7, 7]);
        // SAFETY: 2 <= len, a no-op.
        unsafe { v.set_init(2) };
        assert_eq!(v.len(), 4);
    }
}

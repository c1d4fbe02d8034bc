//! Owned buffers: memory that moves into an operation and comes back with its result.
//!
//! The kernel reads from or writes to a buffer while the operation is in flight, long after
//! the call that started it returned. A borrowed `&mut [u8]` cannot express that, so every
//! I/O operation takes its buffer by value and hands it back in a [`BufResult`], on success and
//! on error alike. If the operation's future is dropped before the kernel is done, the buffer
//! is parked in the driver until the final completion arrives (see [`crate::op`]).
//!
//! Owns: the buffer traits and types. Must not submit ops.

#[cfg(feature = "bytes")]
mod bytes;
mod fixed;
mod io_buf;
mod io_buf_mut;
mod ring;
mod slice;

pub use fixed::{FixedBuf, FixedBufPool};
pub use io_buf::IoBuf;
pub use io_buf_mut::IoBufMut;
pub(crate) use ring::RingTap;
pub use ring::{BufRing, Bundle, RingBuf};
pub use slice::Slice;

/// The result of an operation that owned a buffer: the outcome and the buffer, always both.
pub type BufResult<T, B> = (std::io::Result<T>, B);

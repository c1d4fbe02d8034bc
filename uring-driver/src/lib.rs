//! An io_uring completion driver with owned-buffer operation futures.
//!
//! A [`Driver`] owns one ring and a table of in-flight operations. Each operation is an
//! [`Op<T>`] future whose data `T` owns everything the kernel may touch — buffer, fd,
//! socket address, timespec — until the kernel posts its completion; then the future
//! resolves and hands the resources back. Dropping an op early is sound: the resources wait
//! in the driver for the kernel (see [`op`] for the rules).
//!
//! The driver knows wakers, not tasks; an executor (the `ringlet` crate) or a plain loop
//! drives it:
//!
//! ```
//! use std::future::Future;
//! use std::pin::pin;
//! use std::task::{Context, Poll, Waker};
//! use uring_driver::{Driver, Op};
//!
//! let driver = Driver::new()?;
//! let mut op = pin!(Op::nop(&driver));
//! let mut cx = Context::from_waker(Waker::noop());
//! let result = loop {
//!     if let Poll::Ready(result) = op.as_mut().poll(&mut cx) {
//!         break result;
//!     }
//!     driver.park(None)?;
//! };
//! assert!(result.is_ok());
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod buf;
mod driver;
mod fd;
mod file_table;
pub mod op;
pub mod socket;

pub use buf::{
    BufResult, BufRing, Bundle, FixedBuf, FixedBufPool, IoBuf, IoBufMut, RingBuf, Slice,
};
pub use driver::builder::{Builder, DEFAULT_CQ_ENTRIES};
pub use driver::probe::{Features, OPCODES, TaskrunMode};
pub use driver::{Driver, Handle, OpStats, RingTarget, Stats, StatsReader};
pub use fd::SharedFd;
pub use file_table::{FileTable, RegisteredFd};
/// The io_uring opcodes (`opcode::MsgRingData::CODE`, ...), as taken by
/// [`Handle::is_supported`] and [`Builder::disable_opcode`].
pub use io_uring::opcode;
pub use op::{MultishotOp, Op};

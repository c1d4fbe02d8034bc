//! ringlet: an io_uring completion runtime for Linux network servers.
//!
//! ```no_run
//! use ringlet::IoBuf;
//! use ringlet::net::TcpListener;
//!
//! fn main() -> std::io::Result<()> {
//!     ringlet::run(async {
//!         let listener = TcpListener::bind("127.0.0.1:7878")?;
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             ringlet::spawn(async move {
//!                 let mut buf = vec![0u8; 4096];
//!                 loop {
//!                     let (read, b) = stream.read(buf).await;
//!                     let n = match read {
//!                         Ok(0) | Err(_) => return,
//!                         Ok(n) => n,
//!                     };
//!                     let (written, b) = stream.write_all(b.slice(..n)).await;
//!                     if written.is_err() {
//!                         return;
//!                     }
//!                     buf = b.into_inner();
//!                 }
//!             });
//!         }
//!     })?
//! }
//! ```
//!
//! - I/O is submitted to io_uring and completes into **owned buffers**: `read(buf)` moves
//!   the buffer to the kernel and gives it back with the result, `(io::Result<usize>, buf)`.
//!   A future dropped mid-operation is safe: the buffer waits for the kernel.
//! - Tasks are `!Send` futures on the thread that spawned them; [`spawn`] returns a
//!   [`JoinHandle`] that can be awaited or [cancelled](JoinHandle::cancel).
//! - [`run`] is `asyncio.run`; [`time::sleep`] and [`time::timeout`] are `asyncio.sleep`
//!   and `asyncio.wait_for`.

#[cfg(feature = "compat")]
pub mod compat;
pub mod error;
mod executor;
pub mod fs;
mod io_util;
pub mod net;
mod runtime;
pub mod signal;
pub mod sync;
mod sys;
pub mod task;
pub mod time;

pub use runtime::{Builder, KernelFeature, Runtime, run, worker_count, worker_index};
pub use task::{JoinError, JoinHandle, spawn, spawn_on, yield_now};
pub use uring_driver::{BufResult, IoBuf, IoBufMut, RingBuf, Slice};

/// The README's example compiles (it is doctested from here).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

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
//! - What the runtime is doing: [`metrics`] (always on), a stall detector
//!   ([`Builder::detect_stalls`]), and with the `tracing` feature, spans and events for
//!   [`tracing`](https://docs.rs/tracing) subscribers.
//!
//! Cargo features (all off by default): `compat` (tokio/futures I/O traits, hyper
//! executor and timer), `bytes` (`Bytes`/`BytesMut` as owned buffers), `tracing`: each
//! task is a `runtime.spawn` span (target `ringlet::task`, level TRACE, with tokio's field
//! names `task.id`, `task.name`, `loc.file`, `loc.line`, `loc.col`) entered for each of
//! its polls, the `block_on` future a `runtime.block_on` span, and each io_uring op a
//! `submit` and a `complete` event (target `uring_driver::op`, with `op`, `slot`,
//! `ring`, and the completion's `result`), so an op shows inside the span of the task
//! that submitted it. Without the feature none of that code is compiled.

pub mod buf;
#[cfg(feature = "compat")]
pub mod compat;
pub mod error;
mod executor;
mod features;
pub mod fs;
mod handle;
pub mod io;
mod io_util;
mod macros;
pub mod metrics;
pub mod net;
mod runtime;
pub mod signal;
pub mod sync;
mod sys;
pub mod task;
pub mod time;

pub use features::{Feature, Features, features};
pub use handle::{Handle, SpawnError};
#[doc(hidden)]
pub use macros::__private;
pub use runtime::{Builder, KernelFeature, Runtime, run, worker_count, worker_index};
pub use task::{JoinError, JoinHandle, spawn, spawn_on, yield_now};
pub use uring_driver::{BufResult, IoBuf, IoBufMut, RingBuf, Slice};

/// Runs an `async fn main` on a ringlet runtime: the function becomes a plain `main` that
/// builds a [`Runtime`] and [blocks on](Runtime::block_on) the body, which runs on worker
/// 0 as with [`run`].
///
/// Options: `workers = N` (default: one per core, as [`Runtime::new`]), `pin_cores =
/// true` ([`Builder::pin_cores`]), `crate = "path"` (where ringlet is, if renamed). The
/// function keeps its return type, so `-> std::io::Result<()>` and `?` work as in any
/// `main`. A runtime that cannot start (no io_uring) panics with the reason.
///
/// ```no_run
/// #[ringlet::main(workers = 2)]
/// async fn main() -> std::io::Result<()> {
///     let listener = ringlet::net::TcpListener::bind("127.0.0.1:7878")?;
///     let (stream, peer) = listener.accept().await?;
///     println!("{peer} connected on worker {:?}", ringlet::worker_index());
///     drop(stream);
///     Ok(())
/// }
/// ```
pub use ringlet_macros::main;

/// Runs an `async fn` as a test on a ringlet runtime of one worker (or `workers = N`),
/// like `#[test]` for a synchronous one. Other attributes (`#[should_panic]`,
/// `#[ignore]`) go beside it; options as for [`main`](macro@main).
///
/// ```
/// #[ringlet::test]
/// async fn sleeps() {
///     ringlet::time::sleep(std::time::Duration::from_millis(1)).await;
///     assert_eq!(ringlet::worker_count(), Some(1));
/// }
/// # fn main() {}
/// ```
pub use ringlet_macros::test;

/// The README's example compiles (it is doctested from here).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

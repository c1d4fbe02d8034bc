//! Registered (fixed) buffers at the runtime level: a pool per worker, pinned and
//! registered with that worker's ring once, used by `read_fixed`/`write_fixed` on files
//! and TCP streams.
//!
//! Owns: the runtime's [`FixedBufPool`]. Must not register a pool with another worker's
//! ring: it registers with the current one.

use std::fmt;
use std::io;

pub use uring_driver::FixedBuf;

use crate::executor::context::driver;

/// A pool of registered buffers on the current worker: the kernel pins their pages once,
/// so a `read_fixed`/`write_fixed` skips mapping the buffer per op (the saving grows with
/// the buffer size: see docs/benchmarks.md, "Files"). A worker has at most one pool
/// (io_uring has one buffer table per ring); clone it to share it among the worker's
/// tasks.
///
/// ```
/// use ringlet::buf::FixedBufPool;
/// use ringlet::fs::File;
///
/// ringlet::run(async {
///     let path = std::env::temp_dir().join(format!("ringlet-fixed-{}", std::process::id()));
///     std::fs::write(&path, b"registered")?;
///     let pool = FixedBufPool::new(4, 4096)?;
///     let file = File::open(&path).await?;
///     let (n, buf) = file.read_fixed_at(pool.get().await, 0).await;
///     assert_eq!(&buf[..n?], b"registered");
///     std::fs::remove_file(&path)
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct FixedBufPool {
    pool: uring_driver::FixedBufPool,
}

impl FixedBufPool {
    /// Allocates `count` zeroed buffers of `size` bytes and registers them with the
    /// current worker's ring. The memory is pinned (it counts against `ulimit -l`) until
    /// the pool and every buffer checked out of it are gone.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero count or size, `ResourceBusy` if this worker has a pool
    /// already, `OutOfMemory` if the pages cannot be pinned (raise `ulimit -l`), or not
    /// being in a runtime.
    pub fn new(count: u16, size: usize) -> io::Result<FixedBufPool> {
        Ok(FixedBufPool {
            pool: uring_driver::FixedBufPool::new(&driver()?, count, size)?,
        })
    }

    /// A free buffer (empty: nothing initialized), or `None` if all are checked out.
    pub fn try_get(&self) -> Option<FixedBuf> {
        self.pool.try_get()
    }

    /// A free buffer, waiting for one to come back if all are checked out.
    ///
    /// Cancel safety: dropping the future takes no buffer.
    pub async fn get(&self) -> FixedBuf {
        std::future::poll_fn(|cx| self.pool.poll_get(cx)).await
    }

    /// Buffers not checked out.
    pub fn available(&self) -> usize {
        self.pool.available()
    }

    /// Size of each buffer.
    pub fn buf_size(&self) -> usize {
        self.pool.buf_size()
    }
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.pool, f)
    }
}

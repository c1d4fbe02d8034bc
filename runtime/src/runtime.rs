use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;

use uring_driver::Driver;

use crate::executor::worker::Worker;

/// A ringlet runtime: one io_uring ring and one run queue on the current thread.
///
/// ```
/// let rt = ringlet::Runtime::new()?;
/// let answer = rt.block_on(async { ringlet::spawn(async { 42 }).await.unwrap() });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Dropping the runtime drops every task that has not finished (their destructors run and
/// their in-flight ops are cancelled), then the ring, which waits for the kernel to finish
/// with every buffer it holds.
pub struct Runtime {
    worker: Rc<Worker>,
    driver: Option<Driver>,
}

/// Configures a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    ring_entries: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder { ring_entries: 256 }
    }
}

impl Builder {
    /// Submission queue entries of the worker's ring (default 256). More entries batch
    /// more ops per syscall; a full queue is submitted early, never an error.
    pub fn ring_entries(mut self, entries: u32) -> Self {
        self.ring_entries = entries;
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// If io_uring is unavailable (kernel too old, disabled by sysctl, blocked by seccomp,
    /// memlock limit too low), an error naming io_uring, the errno and the remedy.
    pub fn build(self) -> io::Result<Runtime> {
        let driver = Driver::builder().entries(self.ring_entries).build()?;
        let worker = Worker::new(driver.handle().clone())?;
        Ok(Runtime {
            worker,
            driver: Some(driver),
        })
    }
}

impl Runtime {
    /// A runtime with the default configuration.
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::default().build()
    }

    /// Configures a runtime.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Runs `future` to completion on this thread, with the tasks it spawns.
    ///
    /// Tasks still running when it returns stay in the runtime: a later `block_on`
    /// continues them, dropping the runtime cancels them.
    ///
    /// # Panics
    ///
    /// If called from inside a runtime (a task would block its own worker), or if the ring
    /// itself fails (`io_uring_enter` returning an error other than an interruption).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.worker.block_on(future)
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("driver", &self.driver)
            .finish()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.worker.shutdown();
        drop(self.driver.take());
    }
}

/// Runs `future` on a new runtime and returns its output: asyncio's `asyncio.run`.
///
/// ```
/// let greeting = ringlet::run(async {
///     ringlet::time::sleep(std::time::Duration::from_millis(1)).await;
///     "hello"
/// })?;
/// assert_eq!(greeting, "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// If the runtime cannot start: see [`Builder::build`].
///
/// # Panics
///
/// As [`Runtime::block_on`].
pub fn run<F: Future>(future: F) -> io::Result<F::Output> {
    Ok(Runtime::new()?.block_on(future))
}

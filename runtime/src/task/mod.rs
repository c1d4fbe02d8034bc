//! Tasks: spawning, joining, cancelling.
//!
//! A task is a `!Send` future running on the worker that spawned it. Its [`JoinHandle`] is
//! a future of `Result<T, JoinError>`:
//!
//! - awaiting it yields the task's output, [`JoinError::Cancelled`] if the task was
//!   cancelled, or [`JoinError::Panicked`] with the payload if it panicked (the runtime
//!   keeps running);
//! - [`JoinHandle::cancel`] is asyncio's `task.cancel()`: the task's future is dropped the
//!   next time the worker gets to it — at its current await point — so its destructors run
//!   and its in-flight I/O is cancelled soundly;
//! - dropping the handle detaches the task, which runs on.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::executor::raw::JoinTarget;
use crate::executor::worker;

mod blocking;
mod gather;
mod group;
mod remote;
mod set;

pub use blocking::{BlockingHandle, MAX_BLOCKING_THREADS, spawn_blocking};
pub use gather::{Either, Select, gather, select, try_gather};
pub use group::{GroupError, TaskGroup};
pub(crate) use remote::spawn_made_on;
pub use remote::{RemoteJoinHandle, spawn_on};

/// Spawns a task on the current worker and returns its handle.
///
/// The future need not be `Send`: it runs on this thread only.
///
/// # Panics
///
/// Panics if called outside a ringlet runtime (outside `block_on`/`run`).
///
/// ```
/// let sum = ringlet::run(async {
///     let a = ringlet::spawn(async { 40 });
///     let b = ringlet::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// })?;
/// assert_eq!(sum, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    worker::spawn(future).expect("ringlet::spawn called outside a ringlet runtime")
}

/// Why a task produced no output.
pub enum JoinError {
    /// The task was cancelled (by [`JoinHandle::cancel`] or runtime shutdown) before it
    /// finished.
    Cancelled,
    /// The task panicked; this is the panic payload.
    Panicked(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic message, when the payload is a string (as from `panic!("...")`).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(payload) => payload
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled => None,
        }
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Errors
    ///
    /// Gives `self` back if the task was cancelled rather than panicked.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self {
            JoinError::Panicked(payload) => Ok(payload),
            other => Err(other),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(_) => match self.panic_message() {
                Some(msg) => f.debug_tuple("Panicked").field(&msg).finish(),
                None => f.write_str("Panicked(..)"),
            },
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(_) => match self.panic_message() {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}

/// The handle of a spawned task: await it for the task's result.
///
/// Dropping the handle detaches the task. The handle stays on the task's thread (`!Send`).
#[must_use = "dropping a JoinHandle detaches the task; use `let _ =` to do that explicitly"]
pub struct JoinHandle<T> {
    raw: Arc<dyn JoinTarget<T>>,
    _not_send: PhantomData<*const ()>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Arc<dyn JoinTarget<T>>) -> Self {
        JoinHandle {
            raw,
            _not_send: PhantomData,
        }
    }

    /// Requests cancellation, like asyncio's `task.cancel()`: the task's future is dropped
    /// at its current await point (its destructors run, its in-flight ops are cancelled) and
    /// awaiting this handle yields [`JoinError::Cancelled`].
    ///
    /// Returns `false` if the task had already finished; its result is then kept.
    pub fn cancel(&self) -> bool {
        self.raw.clone().cancel()
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.raw.poll_join(cx)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Lets other ready tasks (and a trip into the kernel) run before continuing.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

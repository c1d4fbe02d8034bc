//! What a task's owner holds: [`JoinHandle`], [`JoinError`], and the [`JoinTarget`] side
//! of the task cell a handle talks to.
//!
//! Owns: the public join types (re-exported as `ringlet::task::{JoinHandle, JoinError}`).
//! Must not know how tasks are queued or polled: the cell (`raw.rs`) implements
//! [`JoinTarget`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A task as an [`AbortHandle`] sees it, whatever its output. Owner thread only (task
/// cell rule 1).
pub(crate) trait Cancel {
    fn cancel(self: Arc<Self>) -> bool;
    fn is_finished(&self) -> bool;
}

/// A task as its `JoinHandle` sees it. Owner thread only (task cell rule 1).
pub(crate) trait JoinTarget<T>: Cancel {
    fn task_info(&self) -> &super::task_info::TaskInfo;
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn detach(&self);
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

    /// The task's id, spawn location and name.
    pub fn info(&self) -> &super::task_info::TaskInfo {
        self.raw.task_info()
    }

    /// The task's id.
    pub fn id(&self) -> super::task_info::TaskId {
        self.raw.task_info().id()
    }
}

impl<T: 'static> JoinHandle<T> {
    /// A handle that can cancel the task but not join it: for keeping beside a
    /// [`TaskGroup`](crate::task::TaskGroup) or a collection that owns the `JoinHandle`.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            raw: self.raw.clone(),
            _not_send: PhantomData,
        }
    }
}

/// Cancels one task without joining it, as returned by
/// [`TaskGroup::spawn`](crate::task::TaskGroup::spawn) and
/// [`JoinHandle::abort_handle`]. Cheap to clone; it stays on the task's thread (`!Send`).
#[derive(Clone)]
pub struct AbortHandle {
    raw: Arc<dyn Cancel>,
    _not_send: PhantomData<*const ()>,
}

impl AbortHandle {
    /// Requests cancellation, as [`JoinHandle::cancel`]: the task's future is dropped at
    /// its current await point, and whoever joins it sees [`JoinError::Cancelled`].
    /// Returns `false` if the task had already finished.
    pub fn cancel(&self) -> bool {
        self.raw.clone().cancel()
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
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

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
//!
//! Owns: the task API (`spawn`, `yield_now`, and the modules below). Must not know the
//! executor's insides: it spawns through `executor/context.rs`.

use std::future::Future;
use std::task::Poll;

use crate::executor::context;

pub use crate::executor::join::{AbortHandle, JoinError, JoinHandle};

mod blocking;
mod gather;
mod group;
mod info;
mod remote;
mod set;

pub use crate::executor::stall::Stall;
pub use crate::executor::task_info::{TaskId, TaskInfo};
pub use blocking::{BlockingHandle, MAX_BLOCKING_THREADS, spawn_blocking};
pub use gather::{Either, Select, gather, select, try_gather};
pub use group::{GroupError, TaskGroup};
pub use info::Builder;

/// [`TaskGroup`] by the name tokio users know it by: `spawn` returns an [`AbortHandle`],
/// `join_next` waits for any task, `abort_all` cancels them, dropping it cancels them.
pub type JoinSet<T> = TaskGroup<T>;
pub(crate) use remote::remote_job;
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
///
/// # Cancel safety
///
/// The task runs whether or not the handle is awaited: dropping the `JoinHandle` (or a
/// future awaiting it) detaches the task and does not cancel it; [`JoinHandle::cancel`]
/// does.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::spawn(future, TaskInfo::here())
        .expect("ringlet::spawn called outside a ringlet runtime")
}

/// Lets other ready tasks (and a trip into the kernel) run before continuing.
///
/// # Cancel safety
///
/// Cancel safe: it holds nothing.
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

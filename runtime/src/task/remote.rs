//! Tasks sent to another worker: `spawn_on` and the `Send` handle that joins them.
//!
//! Owns: `spawn_on` and `RemoteJoinHandle`. Must not send a future across threads: it
//! sends the closure that builds it.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::{JoinError, TaskInfo};
use crate::executor::context;
use crate::executor::queue::Job;

struct State<T> {
    result: Option<Result<T, JoinError>>,
    join_waker: Option<Waker>,
    task_waker: Option<Waker>,
    cancelled: bool,
    taken: bool,
}

type Shared<T> = Arc<Mutex<State<T>>>;

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, State<T>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resolves the handle exactly once; if dropped unresolved (the task never ran, or was
/// dropped by its worker's shutdown), resolves it as cancelled.
struct Completer<T> {
    shared: Option<Shared<T>>,
}

impl<T> Completer<T> {
    fn complete(&mut self, result: Result<T, JoinError>) {
        if let Some(shared) = self.shared.take() {
            let mut state = lock(&shared);
            state.result = Some(result);
            let waker = state.join_waker.take();
            drop(state);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        self.complete(Err(JoinError::Cancelled));
    }
}

/// The task on the target worker: the user's future plus the completer. The future is
/// dropped before the handle is resolved, so a joiner that sees the result also sees the
/// future's destructors done.
struct RemoteTask<F: Future> {
    future: Option<Pin<Box<F>>>,
    completer: Completer<F::Output>,
    /// Who the task is, for the line that reports its panic.
    info: TaskInfo,
}

impl<F: Future> RemoteTask<F> {
    fn finish(&mut self, result: Result<F::Output, JoinError>) -> Poll<()> {
        let future = self.future.take();
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(future)));
        let result = match (result, dropped) {
            (Ok(_), Err(payload)) => Err(JoinError::Panicked(payload)),
            (result, _) => result,
        };
        self.completer.complete(result);
        Poll::Ready(())
    }
}

impl<F: Future> Future for RemoteTask<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let (Some(shared), Some(future)) = (this.completer.shared.clone(), this.future.as_mut())
        else {
            return Poll::Ready(());
        };
        {
            let mut state = lock(&shared);
            if state.cancelled {
                drop(state);
                return this.finish(Err(JoinError::Cancelled));
            }
            match &state.task_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.task_waker = Some(cx.waker().clone()),
            }
        }
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => this.finish(Ok(output)),
            Err(payload) => {
                eprintln!("ringlet: {} panicked", this.info);
                this.finish(Err(JoinError::Panicked(payload)))
            }
        }
    }
}

/// The job that builds a future with `make` on the worker that runs it and spawns it
/// there as a task, and the handle of that task. Dropping the job unrun resolves the
/// handle as cancelled.
pub(crate) fn remote_job<M, F>(make: M, info: TaskInfo) -> (Job, RemoteJoinHandle<F::Output>)
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let shared: Shared<F::Output> = Arc::new(Mutex::new(State {
        result: None,
        join_waker: None,
        task_waker: None,
        cancelled: false,
        taken: false,
    }));
    let completer = Completer {
        shared: Some(shared.clone()),
    };
    let job = Box::new(move || {
        let mut completer = completer;
        // A panicking factory resolves the handle with its panic; the worker carries on.
        match catch_unwind(AssertUnwindSafe(make)) {
            Ok(future) => {
                let task = RemoteTask {
                    future: Some(Box::pin(future)),
                    completer,
                    info: info.clone(),
                };
                // Inside a job, so on a worker: spawning succeeds.
                drop(context::spawn(task, info));
            }
            Err(payload) => completer.complete(Err(JoinError::Panicked(payload))),
        }
    });
    (job, RemoteJoinHandle { shared })
}

/// Builds a future with `make` on worker `index` and runs it there as a task.
#[track_caller]
pub(crate) fn spawn_made_on<M, F>(index: usize, make: M) -> RemoteJoinHandle<F::Output>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let (job, handle) = remote_job(make, TaskInfo::here());
    if let Err(job) = context::run_job_on(index, job) {
        // No such worker (or it stopped): dropping the job resolves the handle as cancelled.
        drop(job);
    }
    handle
}

/// Runs a task on worker `index` of the current runtime: `make` is sent there (it must
/// be `Send`), called on that worker, and the future it returns runs there as a task. The
/// future itself need not be `Send` — it may hold ringlet's I/O and timers, which belong
/// to their worker. The handle can be awaited (or cancelled) from any worker or thread.
///
/// If the worker has shut down, the handle resolves to `Err(JoinError::Cancelled)`. If
/// `make` panics, the handle resolves to `Err(JoinError::Panicked)` with the payload, and
/// the worker carries on.
///
/// # Panics
///
/// Outside a ringlet runtime, or for an index out of range (the runtime has
/// [`worker_count`](crate::worker_count) workers).
///
/// ```
/// use std::time::Duration;
///
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// let on = rt.block_on(async {
///     ringlet::spawn_on(1, || async {
///         ringlet::time::sleep(Duration::from_millis(1)).await;
///         ringlet::worker_index()
///     })
///     .await
///     .unwrap()
/// });
/// assert_eq!(on, Some(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_on<M, F>(index: usize, make: M) -> RemoteJoinHandle<F::Output>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let Some((_, workers)) = context::current_index() else {
        panic!("ringlet::spawn_on called outside a ringlet runtime");
    };
    assert!(
        index < workers,
        "ringlet::spawn_on: no worker {index}, the runtime has {workers} (0 to {})",
        workers - 1
    );
    spawn_made_on(index, make)
}

/// The handle of a task spawned on another worker: a `Send` future of its result.
///
/// Dropping it detaches the task.
#[must_use = "dropping a RemoteJoinHandle detaches the task"]
pub struct RemoteJoinHandle<T> {
    shared: Shared<T>,
}

impl<T> RemoteJoinHandle<T> {
    /// Requests cancellation: the task's future is dropped on its worker at its current
    /// await point, and the handle resolves to [`JoinError::Cancelled`]. Returns `false` if
    /// the task had finished already.
    pub fn cancel(&self) -> bool {
        let mut state = lock(&self.shared);
        if state.result.is_some() || state.taken {
            return false;
        }
        state.cancelled = true;
        let waker = state.task_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        let state = lock(&self.shared);
        state.result.is_some() || state.taken
    }
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = lock(&self.shared);
        if let Some(result) = state.result.take() {
            state.taken = true;
            return Poll::Ready(result);
        }
        assert!(
            !state.taken,
            "RemoteJoinHandle polled after it returned the task's result"
        );
        match &state.join_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.join_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

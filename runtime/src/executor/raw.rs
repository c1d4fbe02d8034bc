//! The task cell: a spawned future, its output and its join waker, behind one `Arc`.
//!
//! Wakers must be `Send + Sync` (the `Waker` contract), while ringlet's tasks are `!Send`
//! futures. The cell reconciles the two: everything `!Send` in it is only ever touched on
//! the thread of the worker that owns the task; other threads only flip atomic state bits
//! and push the `Arc` onto the owner's remote queue.
//!
//! # Rules
//!
//! 1. `stage` and `join_waker` are accessed only on the owner thread: by the worker (`run`,
//!    `shutdown`, which check that their worker owns this thread) and by the task's
//!    `JoinHandle`, which is `!Send` and created there.
//! 2. While `RUNNING` is set, the worker holds `&mut` to `stage` (it is polling or dropping
//!    the future); the join side then touches neither `stage` nor anything but atomics.
//! 3. `COMPLETE` is set only after the stage holds the final result, and never cleared;
//!    after it, the future is gone.
//! 4. The future and the output are dropped on the owner thread: by `run`/`shutdown`, or by
//!    the `JoinHandle` (detach or consume), so a foreign thread dropping the last waker
//!    drops an empty stage. A cell dropped off its owner worker with an output still in it
//!    (its runtime is gone) leaks the output rather than drop it on the wrong thread.
//! 5. `SCHEDULED` means the `Arc` sits in a run queue (at most once); a wake sets it and
//!    pushes only if it was clear.
//! 6. The future is pinned: it is dropped where it lies (`*stage = Consumed`), never moved
//!    out first. Its worker's registry holds the cell from spawn until the future is
//!    gone, and the worker drops every remaining future in place when it shuts down or is
//!    dropped (`Worker::drop`), always on its own thread; so the last reference to a cell
//!    can leave the owner thread only once the future is gone. `Drop` checks this.

use std::cell::UnsafeCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::join::{Cancel, JoinError, JoinTarget};
use super::local::{self, Runnable};
use super::metrics::Ended;
use super::queue::Shared;
use super::task_info::TaskInfo;

const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const COMPLETE: u8 = 4;
const CANCEL: u8 = 8;
const DETACHED: u8 = 16;

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct TaskCell<F: Future> {
    state: AtomicU8,
    /// The task's id, spawn location and name (immutable; read from any thread).
    info: TaskInfo,
    shared: Arc<Shared>,
    registry_key: usize,
    stage: UnsafeCell<Stage<F>>,
    join_waker: UnsafeCell<Option<Waker>>,
    /// The task's span (`tracing` feature): entered for each poll, closed with the cell.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

// SAFETY: the `!Send`/`!Sync` parts (`stage`, `join_waker`) are only accessed on the owner
// thread (rule 1); other threads touch `state` (atomic) and `shared` (Send + Sync).
// Dropping the cell elsewhere never drops a future (rule 6, checked in `Drop`) and leaks
// an output rather than drop it (rule 4).
unsafe impl<F: Future> Send for TaskCell<F> {}
// SAFETY: as above; shared access from other threads is limited to atomics.
unsafe impl<F: Future> Sync for TaskCell<F> {}

impl<F: Future + 'static> TaskCell<F> {
    pub(crate) fn new(
        future: F,
        shared: Arc<Shared>,
        registry_key: usize,
        info: TaskInfo,
    ) -> Arc<Self> {
        #[cfg(feature = "tracing")]
        let span = task_span(&info);
        Arc::new(TaskCell {
            state: AtomicU8::new(0),
            #[cfg(feature = "tracing")]
            span,
            info,
            shared,
            registry_key,
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: UnsafeCell::new(None),
        })
    }

    /// Rule 5: queue the task unless it is queued already or finished.
    pub(crate) fn schedule(self: &Arc<Self>) {
        let prev = self.state.fetch_or(SCHEDULED, Ordering::AcqRel);
        if prev & (SCHEDULED | COMPLETE) == 0 {
            self.shared.schedule(self.clone());
        }
    }

    /// Drops the future in place, stores the result, marks the task complete and wakes the
    /// joiner. Called with `RUNNING` set, on the owner thread.
    fn finish(&self, stage: &mut Stage<F>, result: Result<F::Output, JoinError>) {
        let ended = match &result {
            Ok(_) => Ended::Completed,
            Err(JoinError::Cancelled) => Ended::Cancelled,
            Err(JoinError::Panicked(_)) => Ended::Panicked,
        };
        self.shared.counters().ended(ended);
        #[cfg(feature = "tracing")]
        tracing::trace!(target: "ringlet::task", parent: &self.span, outcome = ?ended, "task ended");
        // Rule 6: the pinned future is dropped where it lies. Dropping it runs user
        // destructors; a panic there must not unwind through the worker (assigning drops
        // the old value in place and stores the new one even if that drop unwinds).
        let _ = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
        *stage = Stage::Finished(result);
        let prev = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((s & !RUNNING) | COMPLETE)
            })
            .unwrap_or_else(|s| s);
        if prev & DETACHED != 0 {
            // Rule 4: nobody will read the output; drop it here, on the owner thread.
            let _ = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
        }
        local::unregister(self.shared.id(), self.registry_key);
        // SAFETY: owner thread (rule 1); the join side does not hold a reference to
        // `join_waker` across calls.
        let waker = unsafe { (*self.join_waker.get()).take() };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The span of the task `info` names: `runtime.spawn`, with the fields tokio gives its
/// task spans (`kind`, `task.id`, `task.name`, `loc.file`, `loc.line`, `loc.col`).
#[cfg(feature = "tracing")]
fn task_span(info: &TaskInfo) -> tracing::Span {
    let location = info.location();
    tracing::trace_span!(
        target: "ringlet::task",
        "runtime.spawn",
        kind = "task",
        task.id = info.id().as_u64(),
        task.name = info.name().unwrap_or(""),
        loc.file = location.file(),
        loc.line = location.line(),
        loc.col = location.column(),
    )
}

impl<F: Future> TaskCell<F> {
    /// Rule 1, checked: the worker that owns this task runs on this thread.
    fn assert_owner(&self) {
        assert!(
            local::is_current(self.shared.id()),
            "ringlet: a task was run or dropped off its worker's thread"
        );
    }
}

impl<F: Future + 'static> Runnable for TaskCell<F> {
    fn info(&self) -> &TaskInfo {
        &self.info
    }

    fn run(self: Arc<Self>) {
        self.assert_owner();
        let prev = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((s & !SCHEDULED) | RUNNING)
            })
            .unwrap_or_else(|s| s);
        if prev & COMPLETE != 0 {
            self.state.fetch_and(!RUNNING, Ordering::AcqRel);
            return;
        }
        // SAFETY: owner thread, and `RUNNING` is now set, so the join side keeps off the
        // stage (rules 1, 2). The run loop is not reentrant, so this is the only `&mut`.
        let stage = unsafe { &mut *self.stage.get() };
        let Stage::Running(future) = stage else {
            unreachable!("a task without COMPLETE holds its future")
        };
        if prev & CANCEL != 0 {
            self.finish(stage, Err(JoinError::Cancelled));
            return;
        }
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the future lives inside the Arc'd cell, which the registry keeps alive
        // until the future is dropped in place (rule 6: `finish` assigns over the stage).
        let future = unsafe { std::pin::Pin::new_unchecked(future) };
        self.shared.counters().polled(1);
        // Entered for the poll and what it ends in (the future's drop, the ops it pushes).
        #[cfg(feature = "tracing")]
        let _entered = self.span.enter();
        match catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => {
                self.state.fetch_and(!RUNNING, Ordering::AcqRel);
            }
            Ok(Poll::Ready(output)) => self.finish(stage, Ok(output)),
            Err(payload) => {
                // The panic message above names the thread, not the task: say which.
                eprintln!("ringlet: {} panicked", self.info);
                self.finish(stage, Err(JoinError::Panicked(payload)));
            }
        }
    }

    fn shutdown(&self) {
        self.assert_owner();
        let prev = self.state.fetch_or(RUNNING | CANCEL, Ordering::AcqRel);
        if prev & COMPLETE != 0 {
            self.state.fetch_and(!RUNNING, Ordering::AcqRel);
            return;
        }
        // SAFETY: owner thread, outside any poll (the runtime is shutting down), with
        // `RUNNING` set by us (rules 1, 2).
        let stage = unsafe { &mut *self.stage.get() };
        self.finish(stage, Err(JoinError::Cancelled));
    }
}

impl<F: Future + 'static> Cancel for TaskCell<F> {
    fn cancel(self: Arc<Self>) -> bool {
        let prev = self.state.fetch_or(CANCEL, Ordering::AcqRel);
        if prev & COMPLETE != 0 {
            return false;
        }
        self.schedule();
        true
    }

    fn is_finished(&self) -> bool {
        self.state.load(Ordering::Acquire) & COMPLETE != 0
    }
}

impl<F: Future + 'static> JoinTarget<F::Output> for TaskCell<F> {
    fn task_info(&self) -> &TaskInfo {
        &self.info
    }

    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        let state = self.state.load(Ordering::Acquire);
        if state & COMPLETE == 0 || state & RUNNING != 0 {
            // SAFETY: owner thread (rule 1); `run` touches `join_waker` only in `finish`,
            // which is not running now (we are on the same thread, outside it).
            let slot = unsafe { &mut *self.join_waker.get() };
            match slot {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        // SAFETY: owner thread, COMPLETE and not RUNNING: nobody else holds the stage
        // (rules 1-3).
        let stage = unsafe { &mut *self.stage.get() };
        match std::mem::replace(stage, Stage::Consumed) {
            Stage::Finished(result) => Poll::Ready(result),
            _ => panic!("JoinHandle polled after it returned the task's result"),
        }
    }

    fn detach(&self) {
        let prev = self.state.fetch_or(DETACHED, Ordering::AcqRel);
        if prev & COMPLETE != 0 && prev & RUNNING == 0 {
            // SAFETY: owner thread, complete, not running (rules 1-3).
            let stage = unsafe { &mut *self.stage.get() };
            // Only an output is left here (rule 3); it is not pinned, but drop it in place
            // all the same.
            let _ = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
        }
        // SAFETY: owner thread (rule 1).
        drop(unsafe { (*self.join_waker.get()).take() });
    }
}

impl<F: Future> Drop for TaskCell<F> {
    fn drop(&mut self) {
        let stage = self.stage.get_mut();
        if matches!(stage, Stage::Consumed) || local::is_current(self.shared.id()) {
            return; // dropped in place with the cell, on the owner thread
        }
        match stage {
            // Rule 6: the registry holds every cell whose future is alive, and releases it
            // on the owner thread only after dropping the future in place, so this cannot
            // happen. If it ever did, neither dropping a `!Send` future here nor freeing
            // pinned memory without dropping it is sound: stop the process.
            Stage::Running(_) => {
                eprintln!("ringlet: a task's future reached a foreign thread undropped");
                std::process::abort();
            }
            // Rule 4: never drop a `!Send` output off its owner thread; an output is not
            // pinned, so leaking it is sound.
            _ => std::mem::forget(std::mem::replace(stage, Stage::Consumed)),
        }
    }
}

impl<F: Future + 'static> Wake for TaskCell<F> {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

/// The task cell's state machine without a worker or a ring: tasks are run by draining
/// the remote queue by hand (the eventfd wake-up is a plain `write`). Runs under Miri,
/// which checks the `unsafe` above: aliasing of the stage, pinning, and races between
/// wakers on other threads and the owner.
#[cfg(test)]
#[path = "raw_tests.rs"]
mod tests;

//! `TaskGroup`: a scope of spawned tasks, cancelled together.
//!
//! Owns: `TaskGroup`. Must not outlive its tasks: dropping it cancels them.

use std::fmt;
use std::future::Future;

use super::set::FutureSet;
use super::{AbortHandle, JoinError, JoinHandle, spawn};

/// A group of spawned tasks that live and die together, like asyncio's `TaskGroup` and
/// tokio's `JoinSet`.
///
/// - [`spawn`](TaskGroup::spawn) starts a task in the group and returns an
///   [`AbortHandle`] that cancels that one task;
/// - [`join_next`](TaskGroup::join_next) waits for whichever task finishes next;
/// - [`join_all`](TaskGroup::join_all) waits for all of them and returns their outputs in
///   spawn order; for tasks returning `Result`, [`try_join_all`](TaskGroup::try_join_all)
///   stops at the first failure, cancelling the rest;
/// - dropping the group cancels every task still running in it.
///
/// A long-lived group (a server's connections) holds as much as the tasks running at
/// once: the slots of joined tasks are reused.
///
/// ```
/// use ringlet::task::TaskGroup;
///
/// let total = ringlet::run(async {
///     let mut group = TaskGroup::new();
///     for i in 1..=3u32 {
///         group.spawn(async move { Ok::<_, std::io::Error>(i * 10) });
///     }
///     group.try_join_all().await.map(|v| v.iter().sum::<u32>())
/// })?;
/// assert_eq!(total.unwrap(), 60);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TaskGroup<T> {
    tasks: FutureSet<JoinHandle<T>>,
    /// The spawn number of the task in each slot of `tasks`.
    spawned: Vec<u64>,
    next: u64,
}

impl<T: 'static> TaskGroup<T> {
    /// An empty group.
    pub fn new() -> Self {
        TaskGroup {
            tasks: FutureSet::new(),
            spawned: Vec::new(),
            next: 0,
        }
    }

    /// Spawns `future` as a task of this group; the handle cancels that task alone.
    ///
    /// # Panics
    ///
    /// Outside a ringlet runtime, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let task = spawn(future);
        let abort = task.abort_handle();
        let slot = self.tasks.push(task);
        match self.spawned.get_mut(slot) {
            Some(number) => *number = self.next,
            None => self.spawned.push(self.next),
        }
        self.next += 1;
        abort
    }

    /// Tasks not yet joined.
    pub fn len(&self) -> usize {
        self.tasks.running()
    }

    /// Whether every task has been joined.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the next task to finish (in completion order); `None` when none is left.
    ///
    /// Cancel safety: dropping the future loses nothing; a task that finished meanwhile is
    /// returned by the next call.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.tasks.next().await.map(|(_, result)| result)
    }

    /// Waits for the next task to finish and returns its spawn number (0 for the group's
    /// first task, and so on) with its result.
    pub(crate) async fn join_next_numbered(&mut self) -> Option<(u64, Result<T, JoinError>)> {
        let (slot, result) = self.tasks.next().await?;
        Some((self.spawned[slot], result))
    }

    /// Requests cancellation of every task still running; join them to see them finish.
    pub fn cancel_all(&self) {
        for task in self.tasks.iter() {
            task.cancel();
        }
    }

    /// [`cancel_all`](TaskGroup::cancel_all), by the name tokio's `JoinSet` gives it.
    pub fn abort_all(&self) {
        self.cancel_all();
    }

    /// Waits for every task and returns their outputs in spawn order (asyncio's `gather`
    /// over the group).
    ///
    /// # Panics
    ///
    /// If a task panicked (its panic resumes here) or was cancelled; the other tasks are
    /// cancelled and joined first, so their clean-up has run.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the group, which cancels its tasks not finished yet;
    /// outputs already collected are dropped.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some((number, result)) = self.join_next_numbered().await {
            match result {
                Ok(output) => outputs.push((number, output)),
                Err(error) => {
                    self.cancel_all();
                    while self.tasks.next().await.is_some() {}
                    match error {
                        JoinError::Panicked(payload) => std::panic::resume_unwind(payload),
                        JoinError::Cancelled => {
                            panic!("TaskGroup::join_all: task {number} of the group was cancelled")
                        }
                    }
                }
            }
        }
        in_spawn_order(outputs)
    }
}

/// The values of `(spawn number, value)` pairs, in spawn order.
fn in_spawn_order<U>(mut numbered: Vec<(u64, U)>) -> Vec<U> {
    numbered.sort_unstable_by_key(|&(number, _)| number);
    numbered.into_iter().map(|(_, value)| value).collect()
}

impl<U: 'static, E: 'static> TaskGroup<Result<U, E>> {
    /// Waits for every task; returns their values in spawn order. The first failure
    /// cancels the other tasks (their destructors run) and is returned.
    ///
    /// # Errors
    ///
    /// [`GroupError::Failed`] with the first `Err` a task returned, or
    /// [`GroupError::Join`] if a task panicked or was cancelled from outside.
    ///
    /// # Cancel safety
    ///
    /// As [`join_all`](TaskGroup::join_all): the group's unfinished tasks are cancelled.
    pub async fn try_join_all(mut self) -> Result<Vec<U>, GroupError<E>> {
        let mut values = Vec::with_capacity(self.len());
        while let Some((number, result)) = self.join_next_numbered().await {
            let failure = match result {
                Ok(Ok(value)) => {
                    values.push((number, value));
                    continue;
                }
                Ok(Err(e)) => GroupError::Failed(e),
                Err(join) => GroupError::Join(join),
            };
            self.cancel_all();
            // Wait for the cancelled tasks so their clean-up has run when this returns.
            while self.tasks.next().await.is_some() {}
            return Err(failure);
        }
        Ok(in_spawn_order(values))
    }
}

impl<T: 'static> Default for TaskGroup<T> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T> Drop for TaskGroup<T> {
    fn drop(&mut self) {
        for task in self.tasks.iter() {
            task.cancel();
        }
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("running", &self.tasks.running())
            .finish()
    }
}

/// Why [`TaskGroup::try_join_all`] failed.
#[derive(Debug)]
pub enum GroupError<E> {
    /// A task returned this error.
    Failed(E),
    /// A task panicked or was cancelled.
    Join(JoinError),
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(e) => write!(f, "a task of the group failed: {e}"),
            GroupError::Join(e) => write!(f, "a task of the group did not finish: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GroupError::Failed(e) => Some(e),
            GroupError::Join(e) => Some(e),
        }
    }
}

//! `TaskGroup`: a scope of spawned tasks, cancelled together.
//!
//! Owns: `TaskGroup`. Must not outlive its tasks: dropping it cancels them.

use std::fmt;
use std::future::Future;

use super::set::FutureSet;
use super::{JoinError, JoinHandle, spawn};

/// A group of spawned tasks that live and die together, like asyncio's `TaskGroup` (and
/// tokio's `JoinSet`).
///
/// - [`spawn`](TaskGroup::spawn) starts a task in the group;
/// - [`join_next`](TaskGroup::join_next) waits for the next one to finish;
/// - dropping the group cancels every task still running in it;
/// - for tasks returning `Result`, [`try_join_all`](TaskGroup::try_join_all) waits for all
///   of them and, when one fails (returns `Err` or panics), cancels the rest and returns
///   that failure.
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
}

impl<T: 'static> TaskGroup<T> {
    /// An empty group.
    pub fn new() -> Self {
        TaskGroup {
            tasks: FutureSet::new(),
        }
    }

    /// Spawns `future` as a task of this group.
    ///
    /// # Panics
    ///
    /// Outside a ringlet runtime, as [`spawn`](crate::spawn).
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        self.tasks.push(spawn(future));
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
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.tasks.next().await.map(|(_, result)| result)
    }

    /// Requests cancellation of every task still running; join them to see them finish.
    pub fn cancel_all(&self) {
        for task in self.tasks.iter() {
            task.cancel();
        }
    }
}

impl<U: 'static, E: 'static> TaskGroup<Result<U, E>> {
    /// Waits for every task; returns their values in spawn order. The first failure
    /// cancels the other tasks (their destructors run) and is returned.
    ///
    /// # Errors
    ///
    /// [`GroupError::Failed`] with the first `Err` a task returned, or
    /// [`GroupError::Join`] if a task panicked or was cancelled from outside.
    pub async fn try_join_all(mut self) -> Result<Vec<U>, GroupError<E>> {
        let mut values: Vec<Option<U>> = (0..self.tasks.running()).map(|_| None).collect();
        while let Some((index, result)) = self.tasks.next().await {
            let failure = match result {
                Ok(Ok(value)) => {
                    values[index] = Some(value);
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
        Ok(values
            .into_iter()
            .map(|v| v.expect("every task joined"))
            .collect())
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

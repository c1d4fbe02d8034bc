//! Who a task is: its id, where it was spawned, its name; and [`Builder`] to name one.
//!
//! Owns: [`TaskId`], [`TaskInfo`], [`Builder`]. Must not cost more than one relaxed atomic
//! add per spawn: the id counter is the only shared state.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::executor::context;
use crate::executor::join::JoinHandle;

/// A task's id: unique in the process (across workers and runtimes), never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// The next id.
    fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        TaskId(NonZeroU64::new(id).expect("2^64 task ids"))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

/// A task's identity, as stall reports show it: its id, where it was spawned (the caller
/// of `spawn`, `spawn_on`, `TaskGroup::spawn`, ...; or of `block_on` for the future it
/// runs) and its name, if it was given one ([`Builder::name`]).
#[derive(Debug, Clone)]
pub struct TaskInfo {
    id: TaskId,
    location: &'static Location<'static>,
    name: Option<Arc<str>>,
}

impl TaskInfo {
    /// A new task spawned at `location`.
    pub(crate) fn new(location: &'static Location<'static>, name: Option<Arc<str>>) -> TaskInfo {
        TaskInfo {
            id: TaskId::next(),
            location,
            name,
        }
    }

    /// A new task spawned by the caller of the `#[track_caller]` function calling this.
    #[track_caller]
    pub(crate) fn here() -> TaskInfo {
        TaskInfo::new(Location::caller(), None)
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Display for TaskInfo {
    /// `task 12 "conn" (spawned at src/main.rs:10:5)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(f, " (spawned at {})", self.location)
    }
}

/// Spawns a task with a name, which stall reports show beside its id and spawn location.
///
/// ```
/// ringlet::run(async {
///     let task = ringlet::task::Builder::new().name("greeter").spawn(async { "hi" });
///     assert_eq!(task.info().name(), Some("greeter"));
///     assert_eq!(task.await.unwrap(), "hi");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(Arc::from(name));
        self
    }

    /// Spawns `future` on the current worker, as [`spawn`](crate::spawn).
    ///
    /// # Panics
    ///
    /// Outside a ringlet runtime.
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](crate::spawn): dropping the handle detaches the task.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let info = TaskInfo::new(Location::caller(), self.name);
        context::spawn(future, info)
            .expect("ringlet::task::Builder::spawn called outside a ringlet runtime")
    }
}

//! Who a task is: its id, where it was spawned, its name.
//!
//! Owns: [`TaskId`], [`TaskInfo`]. Must not cost a shared atomic per spawn: the id counter
//! is the only shared state, and each thread reserves its ids from it a block at a time.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many ids a thread reserves at a time.
const ID_BLOCK: u64 = 1024;

/// A task's id: unique in the process (across workers and runtimes), never reused, and
/// increasing in the order tasks are spawned on one thread (ids from different threads
/// interleave in blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// The next id. Each thread takes ids from a block of its own, reserved from the
    /// process-wide counter [`ID_BLOCK`] at a time: one relaxed atomic add per block, not
    /// per spawn.
    fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            /// The next id of this thread's block, and the end of the block.
            static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let id = BLOCK.with(|block| {
            let (mut next, mut end) = block.get();
            if next == end {
                next = NEXT.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next + ID_BLOCK;
            }
            block.set((next + 1, end));
            next
        });
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
/// runs) and its name, if it was given one ([`Builder::name`](crate::task::Builder::name)).
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

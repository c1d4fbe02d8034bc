//! What runs on a worker's own thread: its ready queue, its task registry, and which
//! worker owns this thread right now.
//!
//! Owns: [`Runnable`] and [`TaskRef`] (a task as the queues see it), the `OWNER` thread
//! local behind the task cell's owner-thread rule, and the `LOCAL` thread local through
//! which a wake on the owner thread pushes to the ready queue without a lock. Must not know
//! the ring, timers or the task cell's insides: it is the bottom of the executor, below
//! `queue.rs` (remote wakes) and `raw.rs` (the cell).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use slab::Slab;

/// A task as the run queues see it.
pub(crate) trait Runnable: Send + Sync {
    /// The task's id, spawn location and name.
    fn info(&self) -> &super::task_info::TaskInfo;
    /// Polls the task once, or drops it if cancelled. Owner thread only.
    fn run(self: Arc<Self>);
    /// Drops the future (if still running) and resolves the task as cancelled. Owner thread
    /// only; used when the runtime shuts down.
    fn shutdown(&self);
}

/// A task in a run queue or the registry.
pub(crate) type TaskRef = Arc<dyn Runnable>;

thread_local! {
    /// The id of the worker whose tasks this thread may poll and drop right now (0:
    /// none). The task cell checks it before touching a task's `!Send` parts.
    static OWNER: Cell<usize> = const { Cell::new(0) };
    /// The queues of the worker running on this thread, if any.
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// A worker's thread-local queues.
pub(crate) struct Local {
    id: usize,
    /// Tasks ready to run, in wake order.
    ready: RefCell<VecDeque<TaskRef>>,
    /// Every task whose future is not gone yet, so shutdown can drop the futures in place
    /// (task cell rule 6).
    tasks: RefCell<Slab<TaskRef>>,
}

impl Local {
    /// The queues of worker `id`.
    pub(crate) fn new(id: usize) -> Rc<Local> {
        Rc::new(Local {
            id,
            ready: RefCell::new(VecDeque::with_capacity(256)),
            tasks: RefCell::new(Slab::new()),
        })
    }

    /// The next ready task.
    pub(crate) fn pop(&self) -> Option<TaskRef> {
        self.ready.borrow_mut().pop_front()
    }

    /// Whether no task is ready.
    pub(crate) fn is_idle(&self) -> bool {
        self.ready.borrow().is_empty()
    }

    /// Runs `f` on the ready queue (to move remote wakes into it).
    pub(crate) fn with_ready<R>(&self, f: impl FnOnce(&mut VecDeque<TaskRef>) -> R) -> R {
        f(&mut self.ready.borrow_mut())
    }

    /// Registers a task made by `make` from its registry key.
    pub(crate) fn register<T: Runnable + 'static>(
        &self,
        make: impl FnOnce(usize) -> Arc<T>,
    ) -> Arc<T> {
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = make(entry.key());
        entry.insert(task.clone());
        task
    }

    /// How many tasks are alive on this worker.
    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// A snapshot of the registered tasks.
    pub(crate) fn registered(&self) -> Vec<TaskRef> {
        self.tasks.borrow().iter().map(|(_, t)| t.clone()).collect()
    }

    /// Empties the registry, returning what it held.
    pub(crate) fn take_registered(&self) -> Slab<TaskRef> {
        std::mem::take(&mut *self.tasks.borrow_mut())
    }

    /// Drops every ready task (their futures are dropped through the registry).
    pub(crate) fn clear_ready(&self) {
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        drop(ready); // after the borrow: a task's destructor may wake another
    }
}

/// Makes worker `id` the owner on this thread until the guard drops.
pub(crate) struct OwnerGuard {
    previous: usize,
}

impl OwnerGuard {
    pub(crate) fn new(id: usize) -> OwnerGuard {
        OwnerGuard {
            previous: OWNER.with(|o| o.replace(id)),
        }
    }
}

impl Drop for OwnerGuard {
    fn drop(&mut self) {
        let _ = OWNER.try_with(|o| o.set(self.previous));
    }
}

/// Makes `local` the queues that wakes on this thread push to, until the guard drops.
pub(crate) struct LocalGuard {
    previous: Option<Rc<Local>>,
}

impl LocalGuard {
    pub(crate) fn new(local: Rc<Local>) -> LocalGuard {
        LocalGuard {
            previous: LOCAL.with(|l| l.borrow_mut().replace(local)),
        }
    }
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let left = LOCAL.try_with(|l| std::mem::replace(&mut *l.borrow_mut(), previous));
        drop(left); // outside the borrow: it may be the queues' last reference
    }
}

/// Whether this thread runs worker `id`'s tasks now: the check behind the task cell's
/// owner-thread rule.
pub(crate) fn is_current(id: usize) -> bool {
    OWNER.try_with(|o| o.get() == id).unwrap_or(false)
}

/// The queues of worker `id`, if it runs on this thread now.
fn current(id: usize) -> Option<Rc<Local>> {
    if !is_current(id) {
        return None;
    }
    // A clone, so that what the caller does may enter or leave a worker; `None` while the
    // slot itself is being replaced.
    LOCAL
        .try_with(|l| l.try_borrow().ok().and_then(|l| l.clone()))
        .ok()
        .flatten()
        .filter(|l| l.id == id)
}

/// Pushes `task` to the ready queue if worker `id` runs on this thread; gives it back
/// otherwise.
pub(crate) fn push_local(id: usize, task: TaskRef) -> Result<(), TaskRef> {
    match current(id) {
        Some(local) => {
            local.ready.borrow_mut().push_back(task);
            Ok(())
        }
        None => Err(task),
    }
}

/// Releases the registry's hold on task `key` of worker `id`, if that worker runs here.
pub(crate) fn unregister(id: usize, key: usize) {
    if let Some(local) = current(id) {
        let task = local.tasks.borrow_mut().try_remove(key);
        drop(task); // after the borrow: it may be the last reference
    }
}

//! The part of a worker other threads can reach: its remote run queue and its wake-up fd.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::raw::Runnable;
use super::worker;

/// A task in a run queue.
pub(crate) type TaskRef = Arc<dyn Runnable>;

#[derive(Default)]
struct RemoteQueue {
    tasks: Vec<TaskRef>,
    closed: bool,
}

/// Shared between a worker and every waker of its tasks.
pub(crate) struct Shared {
    id: usize,
    remote: Mutex<RemoteQueue>,
    /// Set once an eventfd write is pending; cleared by the worker before it drains the
    /// remote queue. Saves a syscall per wake while the worker is busy anyway.
    notified: AtomicBool,
    eventfd: File,
}

impl Shared {
    /// Returns the shared state and the fd the worker reads to be woken.
    pub(crate) fn new() -> io::Result<(Arc<Shared>, File)> {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let eventfd = File::from(super::raw::eventfd()?);
        let reader = eventfd.try_clone()?;
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote: Mutex::new(RemoteQueue::default()),
            notified: AtomicBool::new(false),
            eventfd,
        });
        Ok((shared, reader))
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }

    fn lock(&self) -> MutexGuard<'_, RemoteQueue> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `task` to run on its worker: a plain push on the worker's own thread, the
    /// remote queue and a wake-up of the ring from anywhere else.
    pub(crate) fn schedule(&self, task: TaskRef) {
        if let Err(task) = worker::push_local(self.id, task) {
            let mut queue = self.lock();
            if queue.closed {
                drop(queue);
                drop(task); // The runtime is gone; its tasks were shut down already.
                return;
            }
            queue.tasks.push(task);
            drop(queue);
            self.notify();
        }
    }

    /// Wakes the worker's ring unless a wake-up is pending already.
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            // The only possible failure is a counter overflow, which needs 2^64 pending
            // wakes; a lost write then cannot matter because the counter is non-zero.
            let _ = (&self.eventfd).write(&1u64.to_ne_bytes());
        }
    }

    /// Moves the remote queue into `local`. Clears `notified` first, so a push that
    /// misses this drain writes the eventfd again.
    pub(crate) fn drain_into(&self, local: &mut VecDeque<TaskRef>) {
        self.notified.store(false, Ordering::SeqCst);
        let mut queue = self.lock();
        local.extend(queue.tasks.drain(..));
    }

    /// Refuses further remote pushes and returns what was queued.
    pub(crate) fn close(&self) -> Vec<TaskRef> {
        let mut queue = self.lock();
        queue.closed = true;
        std::mem::take(&mut queue.tasks)
    }
}

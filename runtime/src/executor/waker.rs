//! The waker of the future passed to `block_on`, which is not a spawned task.
//!
//! Owns: `MainWaker`. Must not queue anything: it sets a flag and, off the worker's thread,
//! wakes the ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Wake;

use super::local;
use super::queue::Shared;

pub(crate) struct MainWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl MainWaker {
    /// Starts woken, so the future is polled once first.
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            shared,
        })
    }

    /// Whether the future should be polled; clears the flag.
    pub(crate) fn take(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A swap, not a store, as the loom model of this path has it (see `inbox`).
        self.woken.swap(true, Ordering::SeqCst);
        if !local::is_current(self.shared.id()) {
            self.shared.notify();
        }
    }
}

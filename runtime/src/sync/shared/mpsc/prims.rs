//! The synchronization primitives the channel is built from: std's, or loom's under
//! `--cfg loom` (so the model tests at the bottom of `mod.rs` check every interleaving).
//!
//! Owns: the aliases and a cell with loom's access API. Must not hold logic.

#[cfg(loom)]
pub(super) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(loom)]
pub(super) use loom::sync::{Arc, Mutex};
#[cfg(not(loom))]
pub(super) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(super) use std::sync::{Arc, Mutex};

/// An `UnsafeCell` with loom's closure-based access (checked by loom, plain under std).
#[derive(Debug)]
pub(super) struct Cell<T>(
    #[cfg(loom)] loom::cell::UnsafeCell<T>,
    #[cfg(not(loom))] std::cell::UnsafeCell<T>,
);

impl<T> Cell<T> {
    pub(super) fn new(value: T) -> Self {
        #[cfg(loom)]
        return Cell(loom::cell::UnsafeCell::new(value));
        #[cfg(not(loom))]
        Cell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` on a pointer to the value; the caller's contract says who may touch it.
    pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(loom)]
        return self.0.with_mut(f);
        #[cfg(not(loom))]
        f(self.0.get())
    }
}

/// Waits a moment for another thread's store to become visible.
pub(super) fn spin() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

/// Keeps a hot atomic on a cache line of its own, so that the producers' and the
/// consumer's counters do not false-share.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

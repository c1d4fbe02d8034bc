//! Synchronization between tasks: locks, semaphores, events and channels, in two flavours
//! with the same API shape.
//!
//! | need | local flavour (`ringlet::sync`) | cross-worker flavour ([`shared`]) |
//! |---|---|---|
//! | asyncio's `Lock` | [`Mutex`] | [`shared::Mutex`] |
//! | readers/writer | [`RwLock`] | [`shared::RwLock`] |
//! | cap concurrency | [`Semaphore`] | [`shared::Semaphore`] |
//! | wake without data | [`Notify`], [`Event`] | [`shared::Notify`], [`shared::Event`] |
//! | meeting point | [`Barrier`] | [`shared::Barrier`] |
//! | one value | [`oneshot`] | [`shared::oneshot`] |
//! | queue of values | [`mpsc`] | [`shared::mpsc`] |
//! | every value to every receiver | [`broadcast`] | [`shared::broadcast`] |
//! | latest value | [`watch`] | [`shared::watch`] |
//!
//! **Which to use.** Tasks stay on the worker that spawned them, so state shared by tasks
//! of one worker — the common case, e.g. everything a server's per-core loop owns — wants
//! the local flavour: `!Send`, shared through `Rc`, no atomics and no locks (measured at
//! 1.8x to 3.2x tokio's equivalents, docs/benchmarks.md). Use [`shared`] only for values
//! that cross workers (or threads): it is `Send + Sync`, shared through `Arc`, and pays a
//! lock per operation.
//!
//! Both flavours wait first come, first served, and are cancellation safe: a waiter
//! dropped while waiting never loses a permit, a lock hand-off or a message, and a dropped
//! sender or receiver wakes the other side with a clear closed error.
//!
//! Owns: the error types and the names of the local flavour. Must not hold an algorithm:
//! each primitive is written once, in its file, generic over `generic::Flavor`.

mod barrier;
pub mod broadcast;
mod event;
mod flavor;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;
pub mod shared;
mod waitlist;
pub mod watch;

use std::fmt;

pub use barrier::BarrierWaitResult;

/// Every sync type written once, generic over its [`Flavor`](generic::Flavor): name these
/// to write code that works with either flavour. `ringlet::sync::Semaphore` is
/// `generic::Semaphore<Local>`, `ringlet::sync::shared::Semaphore` is
/// `generic::Semaphore<Shared>`, and so on for every type here. (The channels' types are
/// generic where they stand, in [`oneshot`], [`watch`] and [`broadcast`].)
pub mod generic {
    pub use super::barrier::Barrier;
    pub use super::event::Event;
    pub use super::flavor::{Flavor, Local, Shared};
    pub use super::mutex::{Mutex, MutexGuard};
    pub use super::notify::Notify;
    pub use super::rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
    pub use super::semaphore::{Acquire, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
}

/// The names users write for one flavour: each is the [`generic`] type in flavour `$F`.
macro_rules! flavour_names {
    ($F:ty) => {
        /// A meeting point for `n` tasks; see [`generic::Barrier`](crate::sync::generic::Barrier).
        pub type Barrier = crate::sync::generic::Barrier<$F>;
        /// asyncio's `Event`; see [`generic::Event`](crate::sync::generic::Event).
        pub type Event = crate::sync::generic::Event<$F>;
        /// asyncio's `Lock`; see [`generic::Mutex`](crate::sync::generic::Mutex).
        pub type Mutex<T> = crate::sync::generic::Mutex<T, $F>;
        /// The guard of a [`Mutex`].
        pub type MutexGuard<'a, T> = crate::sync::generic::MutexGuard<'a, T, $F>;
        /// Wakes tasks without passing data; see [`generic::Notify`](crate::sync::generic::Notify).
        pub type Notify = crate::sync::generic::Notify<$F>;
        /// A reader-writer lock; see [`generic::RwLock`](crate::sync::generic::RwLock).
        pub type RwLock<T> = crate::sync::generic::RwLock<T, $F>;
        /// A read guard of an [`RwLock`].
        pub type RwLockReadGuard<'a, T> = crate::sync::generic::RwLockReadGuard<'a, T, $F>;
        /// The write guard of an [`RwLock`].
        pub type RwLockWriteGuard<'a, T> = crate::sync::generic::RwLockWriteGuard<'a, T, $F>;
        /// asyncio's `Semaphore`; see [`generic::Semaphore`](crate::sync::generic::Semaphore).
        pub type Semaphore = crate::sync::generic::Semaphore<$F>;
        /// The future of `Semaphore::acquire`.
        pub type Acquire<'a> = crate::sync::generic::Acquire<'a, $F>;
        /// Permits borrowed from a [`Semaphore`].
        pub type SemaphorePermit<'a> = crate::sync::generic::SemaphorePermit<'a, $F>;
        /// Permits held through a counted reference to a [`Semaphore`].
        pub type OwnedSemaphorePermit = crate::sync::generic::OwnedSemaphorePermit<$F>;
    };
}
use flavour_names;

flavour_names!(generic::Local);

/// The sender is gone and nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(pub(crate) ());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: the sender is gone")
    }
}

impl std::error::Error for RecvError {}

/// The receiver is gone; the message comes back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: the receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why `try_send` failed; the message comes back.
#[derive(PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full"),
            TrySendError::Closed(_) => f.write_str("channel closed: the receiver is gone"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The semaphore was closed while waiting (or before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// Not enough permits right now (or others are queued first).
    NoPermits,
    /// The semaphore is closed.
    Closed,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::NoPermits => f.write_str("no permits available"),
            TryAcquireError::Closed => f.write_str("semaphore closed"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

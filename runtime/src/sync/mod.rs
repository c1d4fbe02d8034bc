//! Synchronization between tasks on one worker: [`Mutex`] (asyncio's `Lock`) and
//! [`Semaphore`].
//!
//! These are the local flavour: `!Send`, no atomics, no locks, for tasks that share a
//! worker (share them with `Rc`). Waiting is first come, first served, and cancellation
//! safe: a waiter dropped while waiting never loses a permit or a lock hand-off.

mod mutex;
mod semaphore;

pub use mutex::{Mutex, MutexGuard};
pub use semaphore::{
    Acquire, AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

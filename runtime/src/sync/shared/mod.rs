//! The cross-worker (`Send + Sync`) flavour of [`crate::sync`]: the same API shape, for
//! tasks on different workers or plain threads. They cost a lock and atomics the local
//! flavour does not pay; use these only where values cross workers.

pub mod broadcast;
pub mod mpsc;
mod notify;
mod semaphore;
pub mod watch;

pub use notify::{Barrier, Event, Notify, oneshot};
pub use semaphore::{
    Acquire, Mutex, MutexGuard, OwnedSemaphorePermit, RwLock, RwLockReadGuard, RwLockWriteGuard,
    Semaphore, SemaphorePermit,
};

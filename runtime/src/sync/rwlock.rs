//! A local (single-worker) async reader-writer lock.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::{Semaphore, SemaphorePermit};

/// Readers hold one permit each; a writer holds them all.
const MAX_READERS: usize = u32::MAX as usize;

/// An async reader-writer lock for tasks on one worker: many readers or one writer.
///
/// Fair: waiters are served in arrival order, so a waiting writer is not starved by
/// readers that arrive after it. Guards may be held across `.await`.
///
/// ```
/// use ringlet::sync::RwLock;
///
/// ringlet::run(async {
///     let lock = RwLock::new(5);
///     {
///         let (a, b) = (lock.read().await, lock.read().await);
///         assert_eq!(*a + *b, 10);
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RwLock<T> {
    gate: Semaphore,
    value: RefCell<T>,
}

impl<T> RwLock<T> {
    /// A lock holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            gate: Semaphore::new(MAX_READERS),
            value: RefCell::new(value),
        }
    }

    /// Waits for shared access.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let permit = self.gate.acquire().await.expect("never closed");
        RwLockReadGuard {
            // Readers only borrow immutably, and no writer holds permits now.
            value: self.value.borrow(),
            _permit: permit,
        }
    }

    /// Waits for exclusive access.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        let permit = self
            .gate
            .acquire_many(MAX_READERS)
            .await
            .expect("never closed");
        RwLockWriteGuard {
            // Holding every permit means no reader or writer holds a borrow.
            value: self.value.borrow_mut(),
            _permit: permit,
        }
    }

    /// Shared access if available now (and no writer waits ahead).
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let permit = self.gate.try_acquire().ok()?;
        Some(RwLockReadGuard {
            value: self.value.borrow(),
            _permit: permit,
        })
    }

    /// Exclusive access if available now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let permit = self.gate.try_acquire_many(MAX_READERS).ok()?;
        Some(RwLockWriteGuard {
            value: self.value.borrow_mut(),
            _permit: permit,
        })
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.value.try_borrow() {
            Ok(v) => d.field("value", &*v),
            Err(_) => d.field("value", &format_args!("<write-locked>")),
        };
        d.finish()
    }
}

/// Shared access to a [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T> {
    value: Ref<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// Exclusive access to a [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T> {
    value: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

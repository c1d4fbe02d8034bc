//! The async reader-writer lock, in either flavour.
//!
//! Owns: [`RwLock`] and its guards: a [`Semaphore`] gate (a reader holds one permit, a
//! writer all of them) in front of the flavour's cell (`RefCell` or `std::sync::RwLock`,
//! never contended: the permits decide who is in).

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::flavor::{Flavor, Local};
use super::semaphore::{Semaphore, SemaphorePermit};

/// Readers hold one permit each; a writer holds them all.
const MAX_READERS: usize = u32::MAX as usize;

/// An async reader-writer lock: many readers or one writer, in the local flavour
/// (`ringlet::sync::RwLock`) or the cross-worker one
/// ([`shared::RwLock`](crate::sync::shared::RwLock)).
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
pub struct RwLock<T, F: Flavor = Local> {
    gate: Semaphore<F>,
    value: F::RwCell<T>,
}

impl<T, F: Flavor> RwLock<T, F> {
    /// A lock holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            gate: Semaphore::new(MAX_READERS),
            value: F::rw_cell(value),
        }
    }

    /// Waits for shared access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Mutex::lock`](super::Mutex::lock): a grant a dropped waiter
    /// received passes on.
    pub async fn read(&self) -> RwLockReadGuard<'_, T, F> {
        let permit = self.gate.acquire().await.expect("never closed");
        RwLockReadGuard {
            // Readers only borrow immutably, and no writer holds permits now.
            value: F::read(&self.value),
            _permit: permit,
        }
    }

    /// Waits for exclusive access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Mutex::lock`](super::Mutex::lock): a grant a dropped waiter
    /// received passes on.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T, F> {
        let permit = self
            .gate
            .acquire_many(MAX_READERS)
            .await
            .expect("never closed");
        RwLockWriteGuard {
            // Holding every permit means no reader or writer holds a borrow.
            value: F::write(&self.value),
            _permit: permit,
        }
    }

    /// Shared access if available now (and no writer waits ahead).
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T, F>> {
        let permit = self.gate.try_acquire().ok()?;
        Some(RwLockReadGuard {
            value: F::read(&self.value),
            _permit: permit,
        })
    }

    /// Exclusive access if available now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T, F>> {
        let permit = self.gate.try_acquire_many(MAX_READERS).ok()?;
        Some(RwLockWriteGuard {
            value: F::write(&self.value),
            _permit: permit,
        })
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        F::rw_get_mut(&mut self.value)
    }

    /// The value.
    pub fn into_inner(self) -> T {
        F::rw_into_inner(self.value)
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match F::try_read(&self.value) {
            Some(v) => d.field("value", &*v),
            None => d.field("value", &format_args!("<write-locked>")),
        };
        d.finish()
    }
}

/// Shared access to a [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: 'a, F: Flavor = Local> {
    value: F::Read<'a, T>,
    _permit: SemaphorePermit<'a, F>,
}

impl<T, F: Flavor> Deref for RwLockReadGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLockReadGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// Exclusive access to a [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: 'a, F: Flavor = Local> {
    value: F::Write<'a, T>,
    _permit: SemaphorePermit<'a, F>,
}

impl<T, F: Flavor> Deref for RwLockWriteGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, F: Flavor> DerefMut for RwLockWriteGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLockWriteGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

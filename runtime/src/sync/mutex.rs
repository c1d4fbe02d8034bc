//! The async mutex, in either flavour: asyncio's `Lock`.
//!
//! Owns: [`Mutex`] and its guard: a one-permit [`Semaphore`] gate in front of the
//! flavour's cell (`RefCell` or `std::sync::Mutex`, never contended: the permit makes the
//! guard the only one).

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::flavor::{Flavor, Local};
use super::semaphore::{Semaphore, SemaphorePermit};

/// An async mutex: asyncio's `Lock`, in the local flavour (`ringlet::sync::Mutex`) or the
/// cross-worker one ([`shared::Mutex`](crate::sync::shared::Mutex)). Unlike `RefCell`, the guard
/// may be held across `.await`; other tasks wait (first come, first served) instead of
/// panicking. A `lock()` future dropped while waiting never loses the hand-off.
///
/// Share the local flavour between tasks with `Rc`, the shared one with `Arc`.
///
/// ```
/// use std::rc::Rc;
/// use ringlet::sync::Mutex;
///
/// let total = ringlet::run(async {
///     let counter = Rc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let counter = counter.clone();
///             ringlet::spawn(async move {
///                 let mut n = counter.lock().await;
///                 let seen = *n;
///                 ringlet::yield_now().await; // other tasks run, but cannot get in
///                 *n = seen + 1;
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     let n = *counter.lock().await;
///     n
/// })?;
/// assert_eq!(total, 10);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Mutex<T, F: Flavor = Local> {
    gate: Semaphore<F>,
    value: F::Cell<T>,
}

impl<T, F: Flavor> Mutex<T, F> {
    /// A mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            gate: Semaphore::new(1),
            value: F::cell(value),
        }
    }

    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while waiting, it gives up its place in line; if the lock had
    /// been handed to it, the hand-off passes to the next waiter.
    pub async fn lock(&self) -> MutexGuard<'_, T, F> {
        let permit = self
            .gate
            .acquire()
            .await
            .expect("a mutex's semaphore is never closed");
        self.guard(permit)
    }

    /// Takes the lock if it is free and nobody is queued for it.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T, F>> {
        self.gate
            .try_acquire()
            .ok()
            .map(|permit| self.guard(permit))
    }

    fn guard<'a>(&'a self, permit: SemaphorePermit<'a, F>) -> MutexGuard<'a, T, F> {
        MutexGuard {
            // The permit makes this the only guard: the cell is free, this never waits.
            value: F::lock(&self.value),
            _permit: permit,
        }
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        F::get_mut(&mut self.value)
    }

    /// The value.
    pub fn into_inner(self) -> T {
        F::into_inner(self.value)
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for Mutex<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match F::try_lock(&self.value) {
            Some(v) => d.field("value", &*v),
            None => d.field("value", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Access to the value of a locked [`Mutex`]; unlocks when dropped.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: 'a, F: Flavor = Local> {
    // Field order: the borrow ends before the permit lets the next waiter in.
    value: F::Guard<'a, T>,
    _permit: SemaphorePermit<'a, F>,
}

impl<T, F: Flavor> Deref for MutexGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, F: Flavor> DerefMut for MutexGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for MutexGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

//! A local (single-worker) async mutex: asyncio's `Lock`.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::{Semaphore, SemaphorePermit};

/// An async mutex for tasks on one worker: asyncio's `Lock`. Unlike `RefCell`, the guard
/// may be held across `.await`; other tasks wait (first come, first served) instead of
/// panicking. A `lock()` future dropped while waiting never loses the hand-off.
///
/// It is `!Send`; share it between tasks with `Rc`.
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
pub struct Mutex<T> {
    gate: Semaphore,
    value: RefCell<T>,
}

impl<T> Mutex<T> {
    /// A mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            gate: Semaphore::new(1),
            value: RefCell::new(value),
        }
    }

    /// Waits for the lock.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        let permit = self
            .gate
            .acquire()
            .await
            .expect("a mutex's semaphore is never closed");
        self.guard(permit)
    }

    /// Takes the lock if it is free and nobody is queued for it.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.gate
            .try_acquire()
            .ok()
            .map(|permit| self.guard(permit))
    }

    fn guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> MutexGuard<'a, T> {
        MutexGuard {
            // The permit makes this the only guard, so the RefCell is never borrowed here.
            value: self.value.borrow_mut(),
            _permit: permit,
        }
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

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.value.try_borrow() {
            Ok(v) => d.field("value", &*v),
            Err(_) => d.field("value", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Access to the value of a locked [`Mutex`]; unlocks when dropped.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    // Field order: the borrow ends before the permit lets the next waiter in.
    value: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

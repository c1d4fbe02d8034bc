//! The cross-worker semaphore and mutex.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard};
use std::task::{Context, Poll};

use crate::sync::waitlist::{Core, State};
use crate::sync::{AcquireError, TryAcquireError};

/// A semaphore shared across workers (`Send + Sync`): the same first-come-first-served,
/// cancellation-safe behaviour as [`crate::sync::Semaphore`], behind a lock.
///
/// ```
/// use std::sync::Arc;
/// use ringlet::sync::shared::Semaphore;
///
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let limit = Arc::new(Semaphore::new(1));
///     let held = limit.acquire().await.unwrap();
///     let other = {
///         let limit = limit.clone();
///         ringlet::spawn_on(1, move || async move { limit.acquire().await.map(drop) })
///     };
///     drop(held); // the task on worker 1 gets it
///     other.await.unwrap().unwrap();
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Semaphore {
    core: Core<StdMutex<State>>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Self {
        Semaphore {
            core: Core::new(StdMutex::new(State::new(permits))),
        }
    }

    /// Permits available right now.
    pub fn available_permits(&self) -> usize {
        self.core.available()
    }

    /// Adds `n` permits (waking waiters they satisfy).
    pub fn add_permits(&self, n: usize) {
        self.core.release(n);
    }

    /// Closes the semaphore: waiting and future acquires fail; held permits stay valid.
    pub fn close(&self) {
        self.core.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            needed: n,
            waiting: None,
        }
    }

    /// Takes `n` permits if they are free and nobody is queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        match self.core.try_acquire(n) {
            Ok(true) => Ok(SemaphorePermit {
                semaphore: self,
                permits: n,
            }),
            Ok(false) => Err(TryAcquireError::NoPermits),
            Err(_) => Err(TryAcquireError::Closed),
        }
    }

    /// Takes one permit if one is free and nobody is queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Waits for one permit tied to an `Arc` of the semaphore, so the permit can move to
    /// another task or worker.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        let permit = self.acquire().await?;
        let permits = permit.permits;
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// A semaphore whose free permits never exceed `cap`: `Notify`'s store of at most one
    /// notification.
    pub(crate) fn with_cap(permits: usize, cap: usize) -> Self {
        Semaphore {
            core: Core::new(StdMutex::new(State::with_cap(permits, cap))),
        }
    }

    pub(crate) fn core(&self) -> &Core<StdMutex<State>> {
        &self.core
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (permits, waiters, closed) = self.core.debug_counts();
        f.debug_struct("shared::Semaphore")
            .field("permits", &permits)
            .field("waiters", &waiters)
            .field("closed", &closed)
            .finish()
    }
}

/// The future of [`Semaphore::acquire`].
#[must_use = "acquire does nothing unless awaited"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    needed: usize,
    waiting: Option<usize>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let semaphore = this.semaphore;
        let needed = this.needed;
        std::task::ready!(semaphore.core.poll_acquire(needed, &mut this.waiting, cx))?;
        Poll::Ready(Ok(SemaphorePermit {
            semaphore,
            permits: needed,
        }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.waiting.take() {
            self.semaphore.core.cancel_acquire(key);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::Acquire")
            .field("needed", &self.needed)
            .field("queued", &self.waiting.is_some())
            .finish()
    }
}

/// Permits borrowed from a shared [`Semaphore`]; released when dropped.
#[must_use = "a permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits taken for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.core.release(self.permits);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits held through an `Arc` of the shared [`Semaphore`]; released when dropped.
#[must_use = "a permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.core.release(self.permits);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// A mutex shared across workers (`Send + Sync` for `T: Send`): asyncio's `Lock` for
/// state several workers touch. Waiters queue first come, first served; the guard may be
/// held across `.await` (the task stays on its worker).
///
/// A task that panics while holding the guard releases the lock as it unwinds; the value
/// keeps whatever the task had written (no poisoning).
pub struct Mutex<T> {
    gate: Semaphore,
    value: StdMutex<T>,
}

impl<T> Mutex<T> {
    /// A mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            gate: Semaphore::new(1),
            value: StdMutex::new(value),
        }
    }

    /// Waits for the lock.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        let permit = self.gate.acquire().await.expect("never closed");
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
            // The permit makes this the only guard, so this lock never blocks.
            value: self.value.lock().unwrap_or_else(|e| e.into_inner()),
            _permit: permit,
        }
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::Mutex").finish_non_exhaustive()
    }
}

/// Access to the value of a locked shared [`Mutex`]; unlocks when dropped.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    // Field order: the inner lock is released before the permit lets the next one in.
    value: StdMutexGuard<'a, T>,
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

/// A reader-writer lock shared across workers: many readers or one writer, served first
/// come, first served (a waiting writer is not overtaken by later readers).
pub struct RwLock<T> {
    gate: Semaphore,
    value: std::sync::RwLock<T>,
}

/// Readers hold one permit each; a writer holds them all.
const MAX_READERS: usize = u32::MAX as usize;

impl<T> RwLock<T> {
    /// A lock holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            gate: Semaphore::new(MAX_READERS),
            value: std::sync::RwLock::new(value),
        }
    }

    /// Waits for shared access.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let permit = self.gate.acquire().await.expect("never closed");
        RwLockReadGuard {
            // No writer holds permits now, so this never blocks.
            value: self.value.read().unwrap_or_else(|e| e.into_inner()),
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
            // Holding every permit means nobody else holds the lock.
            value: self.value.write().unwrap_or_else(|e| e.into_inner()),
            _permit: permit,
        }
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::RwLock").finish_non_exhaustive()
    }
}

/// Shared access to a shared [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T> {
    value: std::sync::RwLockReadGuard<'a, T>,
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

/// Exclusive access to a shared [`RwLock`]'s value.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T> {
    value: std::sync::RwLockWriteGuard<'a, T>,
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

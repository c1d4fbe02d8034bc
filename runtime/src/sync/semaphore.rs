//! The async semaphore, in either flavour: FIFO, cancellation safe; `Mutex`, `RwLock` and
//! `Notify` are built on it.
//!
//! Owns: [`Semaphore`], its acquire future and its permits. The waiting algorithm is
//! `waitlist.rs`'s; this file is the public face of it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::flavor::{Flavor, Local, Shared};
use super::waitlist::{Core, State};
use super::{AcquireError, TryAcquireError};

/// An async semaphore: asyncio's `Semaphore`. `ringlet::sync::Semaphore` is the local
/// flavour, [`shared::Semaphore`](crate::sync::shared::Semaphore) the cross-worker one.
///
/// Waiters are served first come, first served: a large request is not overtaken by small
/// ones behind it. Dropping an `acquire` future while it waits is safe: if permits had
/// been granted to it already, they go to the next waiter — none is ever lost.
///
/// The local flavour is `!Sync`; share it between tasks with `Rc`. The shared flavour is
/// `Send + Sync`; share it with `Arc`, across workers:
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
///
/// The local flavour, for tasks of one worker:
///
/// ```
/// use std::rc::Rc;
/// use ringlet::sync::Semaphore;
///
/// ringlet::run(async {
///     let limit = Rc::new(Semaphore::new(2));
///     let a = limit.acquire().await.unwrap();
///     let _b = limit.acquire().await.unwrap();
///     assert!(limit.try_acquire().is_err());
///     drop(a);
///     assert!(limit.try_acquire().is_ok());
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Semaphore<F: Flavor = Local> {
    core: Core<F>,
}

impl<F: Flavor> Semaphore<F> {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Self {
        Semaphore {
            core: Core::new(State::new(permits)),
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

    /// Closes the semaphore: waiting and future acquires fail with [`AcquireError`];
    /// permits already held stay valid.
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
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while waiting, it gives up its place in line; permits that had
    /// been handed to it pass to the next waiter.
    pub fn acquire(&self) -> Acquire<'_, F> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    pub fn acquire_many(&self, n: usize) -> Acquire<'_, F> {
        Acquire {
            semaphore: self,
            needed: n,
            waiting: None,
        }
    }

    /// Takes one permit if one is free and nobody is queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_, F>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_, F>, TryAcquireError> {
        match self.core.try_acquire(n) {
            Ok(true) => Ok(SemaphorePermit {
                semaphore: self,
                permits: n,
            }),
            Ok(false) => Err(TryAcquireError::NoPermits),
            Err(_) => Err(TryAcquireError::Closed),
        }
    }

    /// A semaphore whose free permits never exceed `cap`: `Notify`'s store of at most one
    /// notification.
    pub(crate) fn with_cap(permits: usize, cap: usize) -> Self {
        Semaphore {
            core: Core::new(State::with_cap(permits, cap)),
        }
    }

    /// The shared algorithm, for `Notify`.
    pub(crate) fn core(&self) -> &Core<F> {
        &self.core
    }

    /// Waits for `acquire`'s permit, then ties it to `owner` (a counted reference to this
    /// semaphore) instead of a borrow.
    async fn acquire_into(
        &self,
        owner: F::Ptr<Self>,
    ) -> Result<OwnedSemaphorePermit<F>, AcquireError> {
        let permit = self.acquire().await?;
        let permits = permit.permits;
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit {
            semaphore: owner,
            permits,
        })
    }

    /// `try_acquire`'s permit, tied to `owner` (a counted reference to this semaphore).
    fn try_acquire_into(
        &self,
        owner: F::Ptr<Self>,
    ) -> Result<OwnedSemaphorePermit<F>, TryAcquireError> {
        let permit = self.try_acquire()?;
        let permits = permit.permits;
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit {
            semaphore: owner,
            permits,
        })
    }

    fn release(&self, n: usize) {
        self.core.release(n);
    }
}

impl Semaphore<Local> {
    /// Waits for one permit tied to an `Rc` of the semaphore rather than a borrow, so the
    /// permit can move into a spawned task.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while waiting, it gives up its place in line; permits that had
    /// been handed to it pass to the next waiter.
    pub async fn acquire_owned(
        self: Rc<Self>,
    ) -> Result<OwnedSemaphorePermit<Local>, AcquireError> {
        self.acquire_into(self.clone()).await
    }

    /// Takes one permit tied to an `Rc` of the semaphore, if one is free and nobody is
    /// queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_owned(
        self: Rc<Self>,
    ) -> Result<OwnedSemaphorePermit<Local>, TryAcquireError> {
        self.try_acquire_into(self.clone())
    }
}

impl Semaphore<Shared> {
    /// Waits for one permit tied to an `Arc` of the semaphore rather than a borrow, so the
    /// permit can move into a spawned task, on any worker.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while waiting, it gives up its place in line; permits that had
    /// been handed to it pass to the next waiter.
    pub async fn acquire_owned(
        self: Arc<Self>,
    ) -> Result<OwnedSemaphorePermit<Shared>, AcquireError> {
        self.acquire_into(self.clone()).await
    }

    /// Takes one permit tied to an `Arc` of the semaphore, if one is free and nobody is
    /// queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_owned(
        self: Arc<Self>,
    ) -> Result<OwnedSemaphorePermit<Shared>, TryAcquireError> {
        self.try_acquire_into(self.clone())
    }
}

impl<F: Flavor> fmt::Debug for Semaphore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (permits, waiters, closed) = self.core.debug_counts();
        f.debug_struct("Semaphore")
            .field("permits", &permits)
            .field("waiters", &waiters)
            .field("closed", &closed)
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "acquire does nothing unless awaited"]
pub struct Acquire<'a, F: Flavor = Local> {
    semaphore: &'a Semaphore<F>,
    needed: usize,
    /// Our waiter's key once queued.
    waiting: Option<usize>,
}

impl<'a, F: Flavor> Future for Acquire<'a, F> {
    type Output = Result<SemaphorePermit<'a, F>, AcquireError>;

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

impl<F: Flavor> Drop for Acquire<'_, F> {
    fn drop(&mut self) {
        if let Some(key) = self.waiting.take() {
            self.semaphore.core.cancel_acquire(key);
        }
    }
}

impl<F: Flavor> fmt::Debug for Acquire<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("needed", &self.needed)
            .field("queued", &self.waiting.is_some())
            .finish()
    }
}

/// Permits borrowed from a [`Semaphore`]; released when dropped.
#[must_use = "a permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a, F: Flavor = Local> {
    semaphore: &'a Semaphore<F>,
    permits: usize,
}

impl<F: Flavor> SemaphorePermit<'_, F> {
    /// Keeps the permits taken for good (they are never released).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl<F: Flavor> Drop for SemaphorePermit<'_, F> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits);
        }
    }
}

impl<F: Flavor> fmt::Debug for SemaphorePermit<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits held through an `Rc` (or, shared, an `Arc`) of the [`Semaphore`]; released
/// when dropped.
#[must_use = "a permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit<F: Flavor = Local> {
    semaphore: F::Ptr<Semaphore<F>>,
    permits: usize,
}

impl<F: Flavor> OwnedSemaphorePermit<F> {
    /// Keeps the permits taken for good (they are never released).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl<F: Flavor> Drop for OwnedSemaphorePermit<F> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits);
        }
    }
}

impl<F: Flavor> fmt::Debug for OwnedSemaphorePermit<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

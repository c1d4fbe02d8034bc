//! A local (single-worker) async semaphore: FIFO, cancellation safe, no atomics.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waitlist::{Core, State};
use super::{AcquireError, TryAcquireError};

/// An async semaphore for tasks on one worker: asyncio's `Semaphore`.
///
/// Waiters are served first come, first served: a large request is not overtaken by small
/// ones behind it. Dropping an `acquire` future while it waits is safe: if permits had
/// been granted to it already, they go to the next waiter — none is ever lost.
///
/// It is `!Send`; share it between tasks with `Rc`.
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
pub struct Semaphore {
    core: Core<RefCell<State>>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Self {
        Semaphore {
            core: Core::new(RefCell::new(State::new(permits))),
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

    /// Takes one permit if one is free and nobody is queued ahead.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
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

    /// Waits for one permit tied to an `Rc` of the semaphore rather than a borrow, so the
    /// permit can move into a spawned task.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    pub async fn acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        let permit = self.acquire().await?;
        let permits = permit.permits;
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// The shared algorithm, for `Notify`.
    /// A semaphore whose free permits never exceed `cap`: `Notify`'s store of at most one
    /// notification.
    pub(crate) fn with_cap(permits: usize, cap: usize) -> Self {
        Semaphore {
            core: Core::new(RefCell::new(State::with_cap(permits, cap))),
        }
    }

    pub(crate) fn core(&self) -> &Core<RefCell<State>> {
        &self.core
    }

    fn release(&self, n: usize) {
        self.core.release(n);
    }
}

impl fmt::Debug for Semaphore {
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
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    needed: usize,
    /// Our waiter's key once queued.
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
        f.debug_struct("Acquire")
            .field("needed", &self.needed)
            .field("queued", &self.waiting.is_some())
            .finish()
    }
}

/// Permits borrowed from a [`Semaphore`]; released when dropped.
#[must_use = "a permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits taken for good (they are never released).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits held through an `Rc` of the [`Semaphore`]; released when dropped.
#[must_use = "a permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    semaphore: Rc<Semaphore>,
    permits: usize,
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

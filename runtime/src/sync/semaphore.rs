//! A local (single-worker) async semaphore: FIFO, cancellation safe, no atomics.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// The semaphore was closed while waiting (or before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] failed.
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

struct Waiter {
    needed: usize,
    seq: u64,
    waker: Option<Waker>,
    granted: bool,
}

struct State {
    permits: usize,
    closed: bool,
    waiters: Slab<Waiter>,
    /// Waiters in arrival order, as (key, seq); a removed waiter's entry is skipped.
    queue: VecDeque<(usize, u64)>,
    next_seq: u64,
}

impl State {
    /// Hands freed permits to waiters, strictly in arrival order.
    fn grant(&mut self) {
        while let Some(&(key, seq)) = self.queue.front() {
            let Some(waiter) = self.waiters.get_mut(key).filter(|w| w.seq == seq) else {
                self.queue.pop_front(); // cancelled while queued
                continue;
            };
            if waiter.needed > self.permits {
                return;
            }
            self.permits -= waiter.needed;
            waiter.granted = true;
            if let Some(waker) = waiter.waker.take() {
                waker.wake();
            }
            self.queue.pop_front();
        }
    }
}

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
    state: RefCell<State>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Self {
        Semaphore {
            state: RefCell::new(State {
                permits,
                closed: false,
                waiters: Slab::new(),
                queue: VecDeque::new(),
                next_seq: 0,
            }),
        }
    }

    /// Permits available right now.
    pub fn available_permits(&self) -> usize {
        self.state.borrow().permits
    }

    /// Adds `n` permits (waking waiters they satisfy).
    pub fn add_permits(&self, n: usize) {
        let mut state = self.state.borrow_mut();
        state.permits += n;
        state.grant();
    }

    /// Closes the semaphore: waiting and future acquires fail with [`AcquireError`];
    /// permits already held stay valid.
    pub fn close(&self) {
        let mut state = self.state.borrow_mut();
        state.closed = true;
        for (_, waiter) in state.waiters.iter_mut() {
            if let Some(waker) = waiter.waker.take() {
                waker.wake();
            }
        }
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
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
        let mut state = self.state.borrow_mut();
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        if state.queue.is_empty() && state.permits >= n {
            state.permits -= n;
            Ok(SemaphorePermit {
                semaphore: self,
                permits: n,
            })
        } else {
            Err(TryAcquireError::NoPermits)
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

    /// Waiters not yet granted their permits.
    pub(crate) fn waiting(&self) -> usize {
        let state = self.state.borrow();
        state.waiters.iter().filter(|(_, w)| !w.granted).count()
    }

    fn release(&self, n: usize) {
        let mut state = self.state.borrow_mut();
        state.permits += n;
        state.grant();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("waiters", &state.waiters.len())
            .field("closed", &state.closed)
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
        let semaphore = self.semaphore;
        let needed = self.needed;
        let mut state = semaphore.state.borrow_mut();
        let granted = |permits| SemaphorePermit { semaphore, permits };
        match self.waiting {
            None => {
                if state.closed {
                    return Poll::Ready(Err(AcquireError(())));
                }
                if state.queue.is_empty() && state.permits >= needed {
                    state.permits -= needed;
                    return Poll::Ready(Ok(granted(needed)));
                }
                let seq = state.next_seq;
                state.next_seq += 1;
                let key = state.waiters.insert(Waiter {
                    needed,
                    seq,
                    waker: Some(cx.waker().clone()),
                    granted: false,
                });
                state.queue.push_back((key, seq));
                drop(state);
                self.waiting = Some(key);
                Poll::Pending
            }
            Some(key) => {
                if state.waiters[key].granted {
                    state.waiters.remove(key);
                    drop(state);
                    self.waiting = None;
                    return Poll::Ready(Ok(granted(needed)));
                }
                if state.closed {
                    state.waiters.remove(key);
                    drop(state);
                    self.waiting = None;
                    return Poll::Ready(Err(AcquireError(())));
                }
                match &mut state.waiters[key].waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.waiting.take() {
            let mut state = self.semaphore.state.borrow_mut();
            let waiter = state.waiters.remove(key);
            if waiter.granted {
                // Granted but never taken: pass the permits on, never lose them.
                state.permits += waiter.needed;
                state.grant();
            }
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

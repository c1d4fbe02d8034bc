//! The semaphore algorithm both flavours share: permits, and waiters served first come,
//! first served. Generic over how the state is guarded (`RefCell` on one worker,
//! `std::sync::Mutex` across workers); the public types of each flavour wrap it.
//!
//! Rules:
//! 1. Freed permits go to waiters strictly in arrival order; a newcomer takes permits at
//!    once only when nobody is queued.
//! 2. A waiter is (key, seq) in the queue; a removed waiter's entry is skipped, and the
//!    sequence number tells it from a new waiter that reuses the key.
//! 3. A waiter dropped after its grant hands the permits back (rule 1 passes them on); one
//!    dropped before is removed. So cancellation never loses a permit.
//! 4. Wakers are called after the guard is released.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::AcquireError;

/// How a flavour guards a primitive's state `S`: `RefCell` on one worker, `Mutex`
/// across workers. Every primitive with both flavours keeps its algorithm once, over this.
pub(crate) trait Guard<S> {
    fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R;
}

impl<S> Guard<S> for RefCell<S> {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

impl<S> Guard<S> for Mutex<S> {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        // The state stays consistent across a panic elsewhere: ignore poisoning.
        f(&mut self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

struct Waiter {
    needed: usize,
    seq: u64,
    waker: Option<Waker>,
    granted: bool,
}

pub(crate) struct State {
    permits: usize,
    closed: bool,
    waiters: Slab<Waiter>,
    queue: VecDeque<(usize, u64)>,
    next_seq: u64,
}

impl State {
    pub(crate) fn new(permits: usize) -> Self {
        State {
            permits,
            closed: false,
            waiters: Slab::new(),
            queue: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Rule 1: grants freed permits in order; returns the wakers to call (rule 4).
    fn grant(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        while let Some(&(key, seq)) = self.queue.front() {
            let Some(waiter) = self.waiters.get_mut(key).filter(|w| w.seq == seq) else {
                self.queue.pop_front();
                continue;
            };
            if waiter.needed > self.permits {
                break;
            }
            self.permits -= waiter.needed;
            waiter.granted = true;
            wake.extend(waiter.waker.take());
            self.queue.pop_front();
        }
        wake
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

/// The semaphore, over guard `G`.
pub(crate) struct Core<G> {
    state: G,
}

impl<G: Guard<State>> Core<G> {
    pub(crate) fn new(state: G) -> Self {
        Core { state }
    }

    pub(crate) fn available(&self) -> usize {
        self.state.with(|s| s.permits)
    }

    /// `Notify::notify_one`: one permit for the first waiter, or one stored if none is
    /// stored yet — checked and added in one step.
    pub(crate) fn notify_one(&self) {
        wake_all(self.state.with(|s| {
            let waiting = s.waiters.iter().any(|(_, w)| !w.granted);
            if waiting || s.permits == 0 {
                s.permits += 1;
            }
            s.grant()
        }));
    }

    /// `Notify::notify_waiters`: a permit for every waiter queued now, none stored.
    pub(crate) fn notify_waiters(&self) {
        wake_all(self.state.with(|s| {
            s.permits += s.waiters.iter().filter(|(_, w)| !w.granted).count();
            s.grant()
        }));
    }

    #[inline]
    pub(crate) fn release(&self, n: usize) {
        let wakers = self.state.with(|s| {
            s.permits += n;
            // The common case: nobody waits, nothing to grant.
            (!s.queue.is_empty()).then(|| s.grant())
        });
        if let Some(wakers) = wakers {
            wake_all(wakers);
        }
    }

    pub(crate) fn close(&self) {
        wake_all(self.state.with(|s| {
            s.closed = true;
            s.waiters
                .iter_mut()
                .filter_map(|(_, w)| w.waker.take())
                .collect()
        }));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.with(|s| s.closed)
    }

    /// Takes `n` permits now if free and nobody is queued: `Ok(true)`; `Ok(false)` if
    /// not; `Err` if closed.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<bool, AcquireError> {
        self.state.with(|s| {
            if s.closed {
                return Err(AcquireError(()));
            }
            if s.queue.is_empty() && s.permits >= n {
                s.permits -= n;
                Ok(true)
            } else {
                Ok(false)
            }
        })
    }

    /// Polls an acquire of `needed` permits; `waiting` is its place in line.
    #[inline]
    pub(crate) fn poll_acquire(
        &self,
        needed: usize,
        waiting: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        self.state.with(|s| match *waiting {
            None => {
                if s.closed {
                    return Poll::Ready(Err(AcquireError(())));
                }
                if s.queue.is_empty() && s.permits >= needed {
                    s.permits -= needed;
                    return Poll::Ready(Ok(()));
                }
                let seq = s.next_seq;
                s.next_seq += 1;
                let key = s.waiters.insert(Waiter {
                    needed,
                    seq,
                    waker: Some(cx.waker().clone()),
                    granted: false,
                });
                s.queue.push_back((key, seq));
                *waiting = Some(key);
                Poll::Pending
            }
            Some(key) => {
                if s.waiters[key].granted {
                    s.waiters.remove(key);
                    *waiting = None;
                    return Poll::Ready(Ok(()));
                }
                if s.closed {
                    s.waiters.remove(key);
                    *waiting = None;
                    return Poll::Ready(Err(AcquireError(())));
                }
                match &mut s.waiters[key].waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        })
    }

    /// Rule 3: an acquire dropped while queued (or granted but not yet polled).
    pub(crate) fn cancel_acquire(&self, key: usize) {
        wake_all(self.state.with(|s| {
            let waiter = s.waiters.remove(key);
            if waiter.granted {
                s.permits += waiter.needed;
                s.grant()
            } else {
                Vec::new()
            }
        }));
    }

    pub(crate) fn debug_counts(&self) -> (usize, usize, bool) {
        self.state.with(|s| (s.permits, s.waiters.len(), s.closed))
    }
}

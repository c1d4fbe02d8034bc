//! The semaphore algorithm every waiting primitive shares: permits, and waiters served
//! first come, first served. Written once over the flavour ([`Flavor`]: `RefCell` on one
//! worker, `std::sync::Mutex` across workers); `Semaphore`, `Mutex`, `RwLock` and `Notify`
//! wrap it.
//!
//! Rules:
//! 1. Freed permits go to waiters strictly in arrival order; a newcomer takes permits at
//!    once only when nobody is queued.
//! 2. The queue holds exactly the waiters not yet granted, in arrival order: a waiter
//!    leaves it when granted or cancelled, so an empty queue means nobody waits.
//! 3. A waiter dropped after its grant hands the permits back (rule 1 passes them on); one
//!    dropped before leaves the queue and granting runs again, since the waiter it blocked
//!    may be satisfiable now. So cancellation never loses a permit nor stalls the queue.
//! 4. `permits` never exceeds `cap` (`usize::MAX` for a semaphore, 1 for `Notify`, which
//!    stores at most one notification).
//! 5. A grant by `notify_waiters` is a broadcast: it is not a permit, and a waiter dropped
//!    after it gives nothing back, so nothing is stored for later waiters.
//! 6. Wakers are called after the guard is released.
//!
//! Owns: the wait list (`State`, `Core`). Must not wake under the flavour's lock (rule 6).

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::AcquireError;
use super::flavor::Flavor;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Grant {
    /// Permits taken from the pool: handed back if the waiter is dropped unpolled.
    Permits,
    /// Woken by `notify_waiters`: nothing to hand back.
    Broadcast,
}

struct Waiter {
    needed: usize,
    waker: Option<Waker>,
    granted: Option<Grant>,
}

pub(crate) struct State {
    permits: usize,
    cap: usize,
    closed: bool,
    waiters: Slab<Waiter>,
    /// Keys of the waiters not yet granted, in arrival order (rule 2).
    queue: VecDeque<usize>,
}

impl State {
    /// A semaphore's state: `permits` free, no cap.
    pub(crate) fn new(permits: usize) -> Self {
        State::with_cap(permits, usize::MAX)
    }

    /// A state whose free permits never exceed `cap` (rule 4).
    pub(crate) fn with_cap(permits: usize, cap: usize) -> Self {
        State {
            permits: permits.min(cap),
            cap,
            closed: false,
            waiters: Slab::new(),
            queue: VecDeque::new(),
        }
    }

    /// Adds `n` free permits, up to the cap (rule 4).
    fn add(&mut self, n: usize) {
        self.permits = self.permits.saturating_add(n).min(self.cap);
    }

    /// Rule 1: grants free permits in order; returns the wakers to call (rule 6).
    fn grant(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        while let Some(&key) = self.queue.front() {
            let waiter = &mut self.waiters[key];
            if waiter.needed > self.permits {
                break;
            }
            self.permits -= waiter.needed;
            waiter.granted = Some(Grant::Permits);
            wake.extend(waiter.waker.take());
            self.queue.pop_front();
        }
        wake
    }

    /// Removes waiter `key` from the slab and, if still queued, from the queue (rule 2).
    fn remove(&mut self, key: usize) -> Waiter {
        let waiter = self.waiters.remove(key);
        if waiter.granted.is_none()
            && let Some(at) = self.queue.iter().position(|&k| k == key)
        {
            self.queue.remove(at);
        }
        waiter
    }

    /// Checks the rules that hold between any two operations; for tests.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        assert!(self.permits <= self.cap, "rule 4: permits above the cap");
        let queued: Vec<usize> = self.queue.iter().copied().collect();
        for (key, waiter) in &self.waiters {
            assert_eq!(
                waiter.granted.is_none(),
                queued.contains(&key),
                "rule 2: waiter {key} queued iff not granted"
            );
        }
        assert_eq!(
            queued.len(),
            self.waiters
                .iter()
                .filter(|(_, w)| w.granted.is_none())
                .count()
        );
        if let Some(&front) = self.queue.front() {
            assert!(
                self.closed || self.waiters[front].needed > self.permits,
                "rule 1: the first waiter could be granted but waits"
            );
        }
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

/// The semaphore, in flavour `F`.
pub(crate) struct Core<F: Flavor> {
    state: F::Cell<State>,
}

impl<F: Flavor> Core<F> {
    pub(crate) fn new(state: State) -> Self {
        Core {
            state: F::cell(state),
        }
    }

    pub(crate) fn available(&self) -> usize {
        F::with(&self.state, |s| s.permits)
    }

    /// `Notify::notify_one`: one permit for the first waiter, or one stored (the cap of
    /// a `Notify` is 1) — checked and added in one step.
    pub(crate) fn notify_one(&self) {
        self.release(1);
    }

    /// `Notify::notify_waiters`: every waiter queued now is woken; nothing is stored
    /// (rule 5).
    pub(crate) fn notify_waiters(&self) {
        wake_all(F::with(&self.state, |s| {
            let mut wake = Vec::with_capacity(s.queue.len());
            for key in s.queue.drain(..) {
                let waiter = &mut s.waiters[key];
                waiter.granted = Some(Grant::Broadcast);
                wake.extend(waiter.waker.take());
            }
            wake
        }));
    }

    #[inline]
    pub(crate) fn release(&self, n: usize) {
        let wakers = F::with(&self.state, |s| {
            s.add(n);
            // The common case: nobody waits, nothing to grant.
            (!s.queue.is_empty()).then(|| s.grant())
        });
        if let Some(wakers) = wakers {
            wake_all(wakers);
        }
    }

    pub(crate) fn close(&self) {
        wake_all(F::with(&self.state, |s| {
            s.closed = true;
            s.waiters
                .iter_mut()
                .filter_map(|(_, w)| w.waker.take())
                .collect()
        }));
    }

    pub(crate) fn is_closed(&self) -> bool {
        F::with(&self.state, |s| s.closed)
    }

    /// Takes `n` permits now if free and nobody is queued: `Ok(true)`; `Ok(false)` if
    /// not; `Err` if closed.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<bool, AcquireError> {
        F::with(&self.state, |s| {
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
        F::with(&self.state, |s| match *waiting {
            None => {
                if s.closed {
                    return Poll::Ready(Err(AcquireError(())));
                }
                if s.queue.is_empty() && s.permits >= needed {
                    s.permits -= needed;
                    return Poll::Ready(Ok(()));
                }
                let key = s.waiters.insert(Waiter {
                    needed,
                    waker: Some(cx.waker().clone()),
                    granted: None,
                });
                s.queue.push_back(key);
                *waiting = Some(key);
                Poll::Pending
            }
            Some(key) => {
                if s.waiters[key].granted.is_some() {
                    s.waiters.remove(key);
                    *waiting = None;
                    return Poll::Ready(Ok(()));
                }
                if s.closed {
                    s.remove(key);
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

    /// Rule 3: an acquire dropped while queued, or granted but not yet polled.
    pub(crate) fn cancel_acquire(&self, key: usize) {
        wake_all(F::with(&self.state, |s| {
            let waiter = s.remove(key);
            match waiter.granted {
                Some(Grant::Permits) => s.add(waiter.needed),
                // Rule 5: a broadcast is not a permit.
                Some(Grant::Broadcast) => return Vec::new(),
                // It may have blocked the waiters behind it.
                None if s.closed => return Vec::new(),
                None => {}
            }
            s.grant()
        }));
    }

    /// Runs `f` on the state; for tests that check the rules.
    #[cfg(test)]
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        F::with(&self.state, |s| f(s))
    }

    pub(crate) fn debug_counts(&self) -> (usize, usize, bool) {
        F::with(&self.state, |s| (s.permits, s.waiters.len(), s.closed))
    }
}

/// Model-based tests: random operations on the real wait list, each checked against a
/// plain reference model and the rules above. Pure logic, so they run under Miri too.
#[cfg(test)]
#[path = "waitlist_tests.rs"]
mod tests;

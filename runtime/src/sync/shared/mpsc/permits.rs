//! Room in a bounded channel: a counting semaphore whose fast path is one compare-and-
//! swap, and whose waiters queue first come, first served behind a lock taken only when
//! the channel is full.
//!
//! One atomic word holds the free permits and two flags: `CONTENDED` (senders may be
//! waiting: the fast path is closed to newcomers, so none overtakes a waiter) and
//! `CLOSED`. A sender that finds no permit takes the lock and, in one compare-and-swap,
//! either takes a permit that appeared meanwhile (if nobody waits) or sets `CONTENDED`,
//! then queues. A release adds its permit with a `fetch_add` that also returns the flags:
//! if `CONTENDED` was set it takes the lock and grants permits to the waiters in order.
//! Every step is a read-modify-write of the one word, so they are totally ordered: a
//! release either comes first (the sender's swap sees its permit) or sees the flag.
//!
//! Owns: [`Permits`], [`Permit`]. Must not wake under its lock.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::prims::{AtomicUsize, Mutex, Ordering};

/// Set in `state` once the receiver is gone: no permit is handed out again.
const CLOSED: usize = 1 << (usize::BITS - 1);
/// Set in `state` while senders may be waiting in line.
const CONTENDED: usize = 1 << (usize::BITS - 2);
/// The free permits in `state`.
const COUNT: usize = CONTENDED - 1;

/// A sender's place in line: (slab key, sequence number).
pub(super) type Place = (usize, u64);

/// The permits of a bounded channel: one per message that may be queued.
pub(super) struct Permits {
    /// Free permits, plus `CONTENDED` and `CLOSED`.
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    /// (sequence, granted, waker) of each waiting sender.
    slots: Slab<(u64, bool, Option<Waker>)>,
    /// Places in arrival order; entries whose slot is gone are skipped.
    order: VecDeque<Place>,
    next_seq: u64,
}

impl Waiters {
    /// The first sender in line still waiting for a permit.
    fn front(&mut self) -> Option<usize> {
        while let Some(&(key, seq)) = self.order.front() {
            if self.slots.get(key).is_some_and(|w| w.0 == seq && !w.1) {
                return Some(key);
            }
            self.order.pop_front();
        }
        None
    }
}

/// The right to queue one message; given back when dropped unused.
pub(super) struct Permit<'a>(&'a Permits);

impl Permit<'_> {
    /// Whether this permit came from `permits`.
    pub(super) fn is_from(&self, permits: &Permits) -> bool {
        std::ptr::eq(self.0, permits)
    }

    /// Hands the permit to the queued message: the receiver gives it back
    /// ([`Permits::release`]) when it takes the message.
    pub(super) fn into_message(self) {
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Why a permit was not taken at once.
pub(super) enum NoPermit {
    Full,
    Closed,
}

impl Permits {
    pub(super) fn new(capacity: usize) -> Permits {
        assert!(capacity <= COUNT, "channel capacity too large");
        Permits {
            state: AtomicUsize::new(capacity),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    fn lock(&self) -> impl std::ops::DerefMut<Target = Waiters> + '_ {
        // A panic while holding this lock cannot leave the waiters inconsistent.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A permit if one is free and nobody waits ahead.
    pub(super) fn try_acquire(&self) -> Result<Permit<'_>, NoPermit> {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                return Err(NoPermit::Closed);
            }
            if state & CONTENDED != 0 || state & COUNT == 0 {
                return Err(NoPermit::Full);
            }
            match self.state.compare_exchange_weak(
                state,
                state - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(Permit(self)),
                Err(actual) => state = actual,
            }
        }
    }

    /// Acquires a permit, waiting in line if none is free. `place` is the caller's place in
    /// line across polls (`None` at first); a caller dropped while it holds one must call
    /// [`cancel`](Permits::cancel).
    ///
    /// `Err(())`: the receiver is gone.
    pub(super) fn poll_acquire(
        &self,
        place: &mut Option<Place>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Permit<'_>, ()>> {
        if place.is_none() {
            match self.try_acquire() {
                Ok(permit) => return Poll::Ready(Ok(permit)),
                Err(NoPermit::Closed) => return Poll::Ready(Err(())),
                Err(NoPermit::Full) => {}
            }
        }
        let mut waiters = self.lock();
        if let Some((key, _)) = *place {
            if waiters.slots[key].1 {
                waiters.slots.remove(key);
                *place = None;
                return Poll::Ready(Ok(Permit(self)));
            }
            if self.state.load(Ordering::Acquire) & CLOSED != 0 {
                waiters.slots.remove(key);
                *place = None;
                return Poll::Ready(Err(()));
            }
            let waker = &mut waiters.slots[key].2;
            match waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        // Under the lock: take a permit that appeared meanwhile if nobody waits ahead,
        // else close the fast path; one compare-and-swap either way.
        let nobody_ahead = waiters.front().is_none();
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                return Poll::Ready(Err(()));
            }
            let (next, took) = if nobody_ahead && state & COUNT > 0 {
                (state - 1, true)
            } else {
                (state | CONTENDED, false)
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if took => return Poll::Ready(Ok(Permit(self))),
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        let seq = waiters.next_seq;
        waiters.next_seq += 1;
        let key = waiters.slots.insert((seq, false, Some(cx.waker().clone())));
        waiters.order.push_back((key, seq));
        *place = Some((key, seq));
        Poll::Pending
    }

    /// Leaves the line (the waiting sender was dropped); a permit granted to it meanwhile
    /// goes to the next in line.
    pub(super) fn cancel(&self, place: Place) {
        let granted = {
            let mut waiters = self.lock();
            let (_, granted, _) = waiters.slots.remove(place.0);
            granted
        };
        if granted {
            self.release();
        }
    }

    /// Gives one permit back: to the first waiter in line if any, else to the pool.
    pub(super) fn release(&self) {
        if self.state.fetch_add(1, Ordering::AcqRel) & CONTENDED == 0 {
            return;
        }
        let mut woken = Vec::new();
        {
            let mut waiters = self.lock();
            loop {
                let Some(key) = waiters.front() else {
                    // Nobody waits: reopen the fast path. A sender that queues later
                    // sets the flag again, under this lock.
                    self.state.fetch_and(!CONTENDED, Ordering::AcqRel);
                    break;
                };
                let mut state = self.state.load(Ordering::Acquire);
                let taken = loop {
                    if state & CLOSED != 0 || state & COUNT == 0 {
                        break false;
                    }
                    match self.state.compare_exchange_weak(
                        state,
                        state - 1,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break true,
                        Err(actual) => state = actual,
                    }
                };
                if !taken {
                    break;
                }
                let waiter = &mut waiters.slots[key];
                waiter.1 = true;
                woken.extend(waiter.2.take());
                waiters.order.pop_front();
            }
        }
        woken.into_iter().for_each(Waker::wake);
    }

    /// Refuses every further acquire and wakes every waiter (they see the channel closed).
    pub(super) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        let woken: Vec<Waker> = {
            let mut waiters = self.lock();
            waiters
                .slots
                .iter_mut()
                .filter_map(|(_, w)| w.2.take())
                .collect()
        };
        woken.into_iter().for_each(Waker::wake);
    }
}

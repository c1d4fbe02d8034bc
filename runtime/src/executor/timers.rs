//! A worker's timers: a min-heap of deadlines over a slab of entries.
//!
//! A sleep registers its deadline and waker here; the worker wakes the expired ones every
//! loop turn and, when it has nothing to run, waits in the kernel no longer than the
//! nearest deadline (the timeout of its `io_uring_enter`). So a pending sleep costs a slab
//! entry and a heap entry, never a kernel timer.
//!
//! Rules:
//! 1. An entry belongs to its `Sleep` from `insert` until `remove`; firing only takes the
//!    waker, so a key is never reused while a `Sleep` still holds it.
//! 2. Heap items are deleted lazily: an item is live only if its key's entry carries the
//!    same sequence number (unique per insertion) and has not fired.
//! 3. When stale items outnumber live ones, the heap is rebuilt from the live entries.
//!
//! Owns: the heap and its entries. Must not know tasks or the ring: the worker and
//! `time/` use it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::Instant;

use slab::Slab;

struct Entry {
    seq: u64,
    waker: Option<Waker>,
}

#[derive(Default)]
pub(crate) struct Timers {
    entries: Slab<Entry>,
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    next_seq: u64,
    /// Entries not fired yet (the live heap items).
    armed: usize,
}

impl Timers {
    /// Timers not fired yet.
    pub(crate) fn pending(&self) -> usize {
        self.armed
    }

    /// Registers a timer; returns its key.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> usize {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.entries.insert(Entry {
            seq,
            waker: Some(waker),
        });
        self.heap.push(Reverse((deadline, seq, key)));
        self.armed += 1;
        key
    }

    /// Replaces the waker of an armed timer.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        if let Some(Entry {
            waker: Some(current),
            ..
        }) = self.entries.get_mut(key)
            && !current.will_wake(waker)
        {
            current.clone_from(waker);
        }
    }

    /// Releases a timer, fired or not (rule 1).
    pub(crate) fn remove(&mut self, key: usize) {
        if let Some(entry) = self.entries.try_remove(key) {
            if entry.waker.is_some() {
                self.armed -= 1;
            }
            self.compact_if_stale();
        }
    }

    /// The nearest deadline of an armed timer.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    /// Takes the wakers of every timer due at `now`.
    pub(crate) fn expire(&mut self, now: Instant, wakers: &mut Vec<Waker>) {
        loop {
            self.drop_stale_top();
            match self.heap.peek() {
                Some(Reverse((deadline, _, _))) if *deadline <= now => {}
                _ => return,
            }
            let Some(Reverse((_, _, key))) = self.heap.pop() else {
                return;
            };
            if let Some(waker) = self.entries[key].waker.take() {
                self.armed -= 1;
                wakers.push(waker);
            }
        }
    }

    /// Whether the heap's top is stale, and pops it if so (rule 2).
    fn drop_stale_top(&mut self) {
        while let Some(Reverse((_, seq, key))) = self.heap.peek() {
            match self.entries.get(*key) {
                Some(entry) if entry.seq == *seq && entry.waker.is_some() => return,
                _ => {
                    self.heap.pop();
                }
            }
        }
    }

    /// Rule 3: keeps a workload of always-cancelled timeouts from growing the heap.
    fn compact_if_stale(&mut self) {
        if self.heap.len() > 2 * self.armed + 1024 {
            let entries = &self.entries;
            self.heap.retain(|Reverse((_, seq, key))| {
                entries
                    .get(*key)
                    .is_some_and(|e| e.seq == *seq && e.waker.is_some())
            });
        }
    }

    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn expires_in_deadline_order_and_only_when_due() {
        let mut timers = Timers::default();
        let t0 = Instant::now();
        let keys: Vec<usize> = [30u64, 10, 20]
            .iter()
            .map(|ms| timers.insert(t0 + Duration::from_millis(*ms), Waker::noop().clone()))
            .collect();
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));
        let mut woken = Vec::new();
        timers.expire(t0 + Duration::from_millis(5), &mut woken);
        assert!(woken.is_empty());
        timers.expire(t0 + Duration::from_millis(20), &mut woken);
        assert_eq!(woken.len(), 2);
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(30)));
        for key in keys {
            timers.remove(key);
        }
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn a_removed_timer_never_fires_even_when_its_key_is_reused() {
        let mut timers = Timers::default();
        let t0 = Instant::now();
        let early = timers.insert(t0, Waker::noop().clone());
        timers.remove(early);
        let late = timers.insert(t0 + Duration::from_secs(60), Waker::noop().clone());
        assert_eq!(late, early, "the slab reuses the key");
        let mut woken = Vec::new();
        timers.expire(t0 + Duration::from_millis(1), &mut woken);
        assert!(
            woken.is_empty(),
            "the stale heap item did not fire the new timer"
        );
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_secs(60)));
    }

    #[test]
    fn cancelled_timers_do_not_pile_up() {
        let mut timers = Timers::default();
        let far = Instant::now() + Duration::from_secs(3600);
        // Enough to compact the heap several times; Miri runs fewer.
        let rounds = if cfg!(miri) { 5_000 } else { 100_000 };
        for _ in 0..rounds {
            let key = timers.insert(far, Waker::noop().clone());
            timers.remove(key);
        }
        assert!(
            timers.heap_len() <= 1024 + 1,
            "heap kept {} stale items",
            timers.heap_len()
        );
    }
}

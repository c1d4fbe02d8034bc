//! The lock-free queues under the cross-worker channel: many producers, one consumer.
//!
//! - [`Ring`], for bounded channels up to [`RING_MAX`] messages: a fixed array of slots,
//!   each with a sequence number (Vyukov's bounded queue, with the slot claim made by one
//!   `fetch_add` since a permit guarantees the slot is free). No allocation per message.
//! - [`List`], for unbounded and very large channels: a linked list of one node per
//!   message (Vyukov's intrusive MPSC queue). Only the consumer frees nodes, and only a
//!   node whose successor is linked, so no producer can still be writing into it.
//!
//! A producer that has claimed its place but not finished writing holds the consumer up
//! at that place (it sees "empty" until the write lands, then is woken), never lets it
//! skip or read half a message.
//!
//! Owns: the queues and the memory of the messages in them. Must not wake anyone: the
//! channel (`mod.rs`) does, after a push.

use std::mem::MaybeUninit;
use std::ptr;

use super::permits::{Permit, Permits};
use super::prims::{AtomicPtr, AtomicUsize, Cell, Ordering, Padded, spin};

/// The largest bounded channel kept in a ring; larger ones use a [`List`] and permits,
/// so that `channel(1_000_000)` does not allocate a million slots up front.
pub(super) const RING_MAX: usize = 4096;

struct Slot<T> {
    /// `pos` while free for the message at position `pos`; `pos + 1` once it holds it.
    seq: AtomicUsize,
    value: Cell<MaybeUninit<T>>,
}

/// A bounded queue of `permits`' capacity; a message goes in only with a permit of its
/// own [`Permits`], which the consumer releases when it takes the message.
pub(super) struct Ring<T> {
    slots: Box<[Slot<T>]>,
    mask: usize,
    /// The next position a producer claims.
    tail: Padded<AtomicUsize>,
    /// The next position the consumer takes (written by the consumer only).
    head: Padded<AtomicUsize>,
    pub(super) permits: Permits,
}

// SAFETY: a message is written by exactly one producer (the claimant of its position) and
// read by the one consumer, each handing over through the slot's `seq` (release/acquire);
// so sending the ring or sharing it between threads moves only `T`s, which are `Send`.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    pub(super) fn new(capacity: usize) -> Ring<T> {
        assert!((1..=RING_MAX).contains(&capacity));
        let len = capacity.next_power_of_two();
        Ring {
            slots: (0..len)
                .map(|i| Slot {
                    seq: AtomicUsize::new(i),
                    value: Cell::new(MaybeUninit::uninit()),
                })
                .collect(),
            mask: len - 1,
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
            permits: Permits::new(capacity),
        }
    }

    /// Queues `value` with `permit`, which travels with it until the consumer takes it.
    ///
    /// # Panics
    ///
    /// If `permit` is not one of this ring's own.
    pub(super) fn push(&self, permit: Permit<'_>, value: T) {
        assert!(permit.is_from(&self.permits), "a permit of another channel");
        permit.into_message();
        let pos = self.tail.0.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[pos & self.mask];
        // Permits count the messages claimed and not yet taken: at most `capacity` <=
        // `slots.len()` of them, so the message `slots.len()` positions back has been
        // taken, and its slot's release store is done; it may just not be visible yet.
        while slot.seq.load(Ordering::Acquire) != pos {
            spin();
        }
        // SAFETY: `seq == pos`: the slot is free and this producer alone claimed `pos`;
        // the consumer reads it only after the store of `pos + 1` below.
        slot.value.with_mut(|v| unsafe { (*v).write(value) });
        slot.seq.store(pos.wrapping_add(1), Ordering::Release);
    }

    /// Takes the next message, if written. Consumer only (the channel's `&mut Receiver`
    /// or its last owner), and the caller releases one permit for each message taken.
    pub(super) fn pop(&self) -> Option<T> {
        let pos = self.head.0.load(Ordering::Relaxed);
        let slot = &self.slots[pos & self.mask];
        if slot.seq.load(Ordering::Acquire) != pos.wrapping_add(1) {
            return None;
        }
        // SAFETY: `seq == pos + 1`: the producer of `pos` wrote the value and released it
        // to us; no one else reads position `pos`.
        let value = slot.value.with_mut(|v| unsafe { (*v).assume_init_read() });
        slot.seq
            .store(pos.wrapping_add(self.slots.len()), Ordering::Release);
        self.head.0.store(pos.wrapping_add(1), Ordering::Relaxed);
        Some(value)
    }

    /// Messages claimed and not taken (some may still be being written).
    pub(super) fn len(&self) -> usize {
        let head = self.head.0.load(Ordering::Relaxed);
        self.tail.0.load(Ordering::Relaxed).wrapping_sub(head)
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: no producer is left, every claimed message is written.
        while self.pop().is_some() {}
    }
}

struct Node<T> {
    next: AtomicPtr<Node<T>>,
    value: Cell<MaybeUninit<T>>,
}

impl<T> Node<T> {
    fn boxed(value: MaybeUninit<T>) -> *mut Node<T> {
        Box::into_raw(Box::new(Node {
            next: AtomicPtr::new(ptr::null_mut()),
            value: Cell::new(value),
        }))
    }
}

/// An unbounded queue: one node per message.
pub(super) struct List<T> {
    /// The last node linked (producers swap themselves in).
    last: Padded<AtomicPtr<Node<T>>>,
    /// The consumer's stub: the node before the next message (its value already taken).
    stub: Padded<AtomicPtr<Node<T>>>,
    /// Messages pushed and not taken.
    len: AtomicUsize,
    /// Permits, for a bounded channel too large for a [`Ring`].
    pub(super) permits: Option<Permits>,
}

// SAFETY: as for `Ring`: each message is written by one producer before it links the node
// (release), read by the one consumer after it sees the link (acquire); nodes are freed by
// the consumer only.
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    pub(super) fn new(permits: Option<Permits>) -> List<T> {
        let stub = Node::boxed(MaybeUninit::uninit());
        List {
            last: Padded(AtomicPtr::new(stub)),
            stub: Padded(AtomicPtr::new(stub)),
            len: AtomicUsize::new(0),
            permits,
        }
    }

    /// Queues `value`; with `permit` for a bounded list (which travels with the message).
    ///
    /// # Panics
    ///
    /// If a bounded list gets no permit of its own, or an unbounded one gets one.
    pub(super) fn push(&self, permit: Option<Permit<'_>>, value: T) {
        match (&self.permits, permit) {
            (None, None) => {}
            (Some(permits), Some(permit)) if permit.is_from(permits) => permit.into_message(),
            _ => panic!("a permit that does not match the channel"),
        }
        let node = Node::boxed(MaybeUninit::new(value));
        self.len.fetch_add(1, Ordering::Relaxed);
        let prev = self.last.0.swap(node, Ordering::AcqRel);
        // SAFETY: `prev` is alive: the consumer frees a node only once its `next` is set,
        // and only this producer sets `prev.next` (it alone swapped `prev` out).
        unsafe { (*prev).next.store(node, Ordering::Release) };
    }

    /// Takes the next message, if linked. Consumer only, as for [`Ring::pop`].
    pub(super) fn pop(&self) -> Option<T> {
        let stub = self.stub.0.load(Ordering::Relaxed);
        // SAFETY: the stub is alive: only the consumer (us) frees nodes, and it is the
        // newest node the consumer has reached.
        let next = unsafe { (*stub).next.load(Ordering::Acquire) };
        if next.is_null() {
            return None;
        }
        // SAFETY: `next` was linked by its producer after it wrote the value (release,
        // acquired above); it becomes the stub, its value moved out exactly once.
        let value = unsafe { (*next).value.with_mut(|v| (*v).assume_init_read()) };
        self.stub.0.store(next, Ordering::Relaxed);
        // SAFETY: the old stub's successor is linked, so no producer touches it any more,
        // and its value was taken (or it was the first, empty stub).
        drop(unsafe { Box::from_raw(stub) });
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(value)
    }

    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        // `&mut self`: no producer is left and every node is linked.
        while self.pop().is_some() {}
        let stub = self.stub.0.load(Ordering::Relaxed);
        // SAFETY: the last node, its value taken; nothing else refers to it.
        drop(unsafe { Box::from_raw(stub) });
    }
}

//! A set of futures polled together, each only when its own waker fired.
//!
//! Each child gets a waker that queues the child's index and wakes the parent, so one
//! child's completion costs one poll, not a poll of every child. Wakers are `Send + Sync`
//! (a child may be woken from another thread). Dropping the set drops every child still
//! running: for in-place futures that is cancellation.
//!
//! Owns: the set and its per-child wakers. Must not poll a child that was not woken.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

#[derive(Default)]
struct ReadyQueue {
    indices: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
}

impl ReadyQueue {
    fn push(&self, index: usize) {
        self.indices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        if let Some(parent) = &*self.parent.lock().unwrap_or_else(|e| e.into_inner()) {
            parent.wake_by_ref();
        }
    }

    fn pop(&self) -> Option<usize> {
        self.indices.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn set_parent(&self, waker: &Waker) {
        let mut parent = self.parent.lock().unwrap_or_else(|e| e.into_inner());
        match &*parent {
            Some(w) if w.will_wake(waker) => {}
            _ => *parent = Some(waker.clone()),
        }
    }
}

struct ChildWaker {
    index: usize,
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.push(self.index);
        }
    }
}

struct Child<F> {
    future: Option<Pin<Box<F>>>,
    waker: Arc<ChildWaker>,
}

pub(crate) struct FutureSet<F> {
    children: Vec<Child<F>>,
    /// Slots of finished children, reused by later pushes: a long-lived set holds as
    /// many slots as it ever ran at once, not as it ever ran.
    free: Vec<usize>,
    ready: Arc<ReadyQueue>,
    running: usize,
}

impl<F: Future> FutureSet<F> {
    pub(crate) fn new() -> Self {
        FutureSet {
            children: Vec::new(),
            free: Vec::new(),
            ready: Arc::default(),
            running: 0,
        }
    }

    /// Adds a future; returns its index: the order of insertion while nothing has
    /// finished, a finished child's slot after that. (A stale waker of that child may
    /// poll the new one once: a spurious poll, which futures allow.)
    pub(crate) fn push(&mut self, future: F) -> usize {
        let index = self.free.pop().unwrap_or(self.children.len());
        let waker = Arc::new(ChildWaker {
            index,
            queued: AtomicBool::new(true),
            ready: self.ready.clone(),
        });
        let child = Child {
            future: Some(Box::pin(future)),
            waker,
        };
        match self.children.get_mut(index) {
            Some(slot) => *slot = child,
            None => self.children.push(child),
        }
        self.ready.push(index);
        self.running += 1;
        index
    }

    /// Slots the set holds (running children plus reusable ones).
    #[cfg(test)]
    pub(crate) fn slots(&self) -> usize {
        self.children.len()
    }

    /// Futures still running.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// The running futures, for e.g. cancelling spawned tasks.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &F> {
        self.children.iter().filter_map(|c| c.future.as_deref())
    }

    /// The next future to finish, with its index; `None` when all have finished.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if self.running == 0 {
            return Poll::Ready(None);
        }
        self.ready.set_parent(cx.waker());
        while let Some(index) = self.ready.pop() {
            let child = &mut self.children[index];
            child.waker.queued.store(false, Ordering::Release);
            let Some(future) = child.future.as_mut() else {
                continue;
            };
            let waker = Waker::from(child.waker.clone());
            if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
                child.future = None;
                self.free.push(index);
                self.running -= 1;
                return Poll::Ready(Some((index, output)));
            }
        }
        Poll::Pending
    }

    /// Waits for the next future to finish.
    pub(crate) async fn next(&mut self) -> Option<(usize, F::Output)> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use std::future::ready;
    use std::task::{Context, Poll, Waker};

    use super::FutureSet;

    /// A set that runs 1,000 futures, at most 3 at a time, holds 3 slots; indices are the
    /// insertion order until something finishes.
    #[test]
    fn finished_slots_are_reused() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut set = FutureSet::new();
        assert_eq!(
            (set.push(ready(0)), set.push(ready(1)), set.push(ready(2))),
            (0, 1, 2)
        );
        let mut finished = 0;
        for i in 3..1000 {
            let Poll::Ready(Some(_)) = set.poll_next(&mut cx) else {
                panic!("a ready future did not finish")
            };
            finished += 1;
            set.push(ready(i));
        }
        while let Poll::Ready(Some(_)) = set.poll_next(&mut cx) {
            finished += 1;
        }
        assert_eq!((finished, set.running(), set.slots()), (1000, 0, 3));
    }
}

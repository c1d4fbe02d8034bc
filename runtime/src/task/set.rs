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
    ready: Arc<ReadyQueue>,
    running: usize,
}

impl<F: Future> FutureSet<F> {
    pub(crate) fn new() -> Self {
        FutureSet {
            children: Vec::new(),
            ready: Arc::default(),
            running: 0,
        }
    }

    /// Adds a future; returns its index (the order of insertion).
    pub(crate) fn push(&mut self, future: F) -> usize {
        let index = self.children.len();
        let waker = Arc::new(ChildWaker {
            index,
            queued: AtomicBool::new(true),
            ready: self.ready.clone(),
        });
        self.children.push(Child {
            future: Some(Box::pin(future)),
            waker,
        });
        self.ready.push(index);
        self.running += 1;
        index
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

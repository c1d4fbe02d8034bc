//! Multi-producer, single-consumer channels across workers (and threads), without a lock
//! per message.
//!
//! Messages go through a lock-free queue (`queue.rs`): a ring of slots for bounded
//! channels (up to 4096 messages; larger ones use the list), a linked list of nodes for
//! unbounded ones. A bounded channel's room is a semaphore (`permits.rs`) whose fast path
//! is one atomic; only senders that find the channel full take its lock, to wait in line.
//!
//! Waking the receiver takes no lock either unless it is parked. One atomic word, `rx`,
//! holds the sender count and a `PARKED` bit. The receiver registers its waker, sets
//! `PARKED` with a `fetch_or` (which also tells it whether senders remain), and looks at
//! the queue again; a sender pushes, then clears `PARKED` with a `fetch_and` and wakes the
//! receiver if the bit was set; the last sender's `fetch_sub` is followed by the same.
//! Both sides read-modify-write the one word, so their steps are totally ordered and
//! synchronize: either the receiver's `fetch_or` comes after the sender's `fetch_and`
//! (and sees the message the sender pushed before it), or the sender's `fetch_and` sees
//! the bit. Only a sender that finds the bit takes the waker's lock.
//!
//! Owns: the channel and its wake-up protocol. Must not wake under a lock.

mod permits;
mod prims;
mod queue;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use permits::{NoPermit, Place};
use prims::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use queue::{List, RING_MAX, Ring};

use crate::sync::{SendError, TrySendError};

enum Queue<T> {
    Ring(Ring<T>),
    List(List<T>),
}

/// In `Chan::rx`: the receiver's waker is registered and it found nothing.
const PARKED: usize = 1;
/// In `Chan::rx`: one sender (the count is the rest of the word).
const SENDER: usize = 2;

struct Chan<T> {
    queue: Queue<T>,
    /// The number of senders (in units of `SENDER`) and the `PARKED` bit.
    rx: AtomicUsize,
    /// Set once the receiver is closed or gone: sends fail from then on.
    rx_closed: AtomicBool,
    rx_waker: Mutex<Option<Waker>>,
}

impl<T> Chan<T> {
    fn new(capacity: Option<usize>) -> Arc<Chan<T>> {
        let queue = match capacity {
            Some(capacity) if capacity <= RING_MAX => Queue::Ring(Ring::new(capacity)),
            Some(capacity) => Queue::List(List::new(Some(permits::Permits::new(capacity)))),
            None => Queue::List(List::new(None)),
        };
        Arc::new(Chan {
            queue,
            rx: AtomicUsize::new(SENDER),
            rx_closed: AtomicBool::new(false),
            rx_waker: Mutex::new(None),
        })
    }

    fn permits(&self) -> Option<&permits::Permits> {
        match &self.queue {
            Queue::Ring(ring) => Some(&ring.permits),
            Queue::List(list) => list.permits.as_ref(),
        }
    }

    /// Queues `value` (with its permit, for a bounded channel) and wakes the receiver if
    /// it is parked.
    fn push(&self, permit: Option<permits::Permit<'_>>, value: T) {
        match &self.queue {
            Queue::Ring(ring) => ring.push(permit.expect("a bounded channel's permit"), value),
            Queue::List(list) => list.push(permit, value),
        }
        self.wake_receiver();
    }

    /// Takes the next message. Only the receiver calls this (through `&mut Receiver`), or
    /// the channel's last owner.
    fn pop(&self) -> Option<T> {
        let value = match &self.queue {
            Queue::Ring(ring) => ring.pop(),
            Queue::List(list) => list.pop(),
        }?;
        // The message's permit comes back with it.
        if let Some(permits) = self.permits() {
            permits.release();
        }
        Some(value)
    }

    fn len(&self) -> usize {
        match &self.queue {
            Queue::Ring(ring) => ring.len(),
            Queue::List(list) => list.len(),
        }
    }

    /// The sender's half of the wake-up protocol, after a push or the last sender's exit:
    /// wakes the receiver if it is parked.
    fn wake_receiver(&self) {
        if self.rx.fetch_and(!PARKED, Ordering::AcqRel) & PARKED != 0 {
            let waker = self
                .rx_waker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// The receiver's poll: a message, `None` at the end, or parked.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(value) = self.pop() {
            return Poll::Ready(Some(value));
        }
        if self.rx.load(Ordering::Acquire) < SENDER || self.rx_closed.load(Ordering::Acquire) {
            return Poll::Ready(self.pop());
        }
        {
            let mut waker = self.rx_waker.lock().unwrap_or_else(|e| e.into_inner());
            match &*waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        let rx = self.rx.fetch_or(PARKED, Ordering::AcqRel);
        // A message pushed (or the last sender gone) before that: take it now.
        if let Some(value) = self.pop() {
            self.rx.fetch_and(!PARKED, Ordering::Relaxed);
            return Poll::Ready(Some(value));
        }
        if rx < SENDER || self.rx_closed.load(Ordering::Acquire) {
            return Poll::Ready(self.pop());
        }
        Poll::Pending
    }

    /// Refuses further messages and wakes the senders waiting for room.
    fn close(&self) {
        self.rx_closed.store(true, Ordering::Release);
        if let Some(permits) = self.permits() {
            permits.close();
        }
    }
}

/// A bounded channel across workers holding at most `capacity` messages; senders wait
/// (first come, first served) while it is full.
///
/// # Panics
///
/// If `capacity` is zero.
///
/// ```
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// let sum = rt.block_on(async {
///     let (tx, mut rx) = ringlet::sync::shared::mpsc::channel(64);
///     ringlet::spawn_on(1, move || async move {
///         for i in 1..=100u64 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut sum = 0;
///     while let Some(i) = rx.recv().await {
///         sum += i;
///     }
///     sum
/// });
/// assert_eq!(sum, 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T: Send>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "a bounded channel needs a capacity of at least 1"
    );
    let chan = Chan::new(Some(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// An unbounded channel across workers: `send` never waits (and is not `async`), as in
/// the local flavour. Each message costs an allocation, where a bounded channel's do not.
pub fn unbounded_channel<T: Send>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = Chan::new(None);
    (
        UnboundedSender {
            sender: Sender { chan: chan.clone() },
        },
        Receiver { chan },
    )
}

/// The sending side of an unbounded channel; `Send + Sync` when `T: Send`. Clone it for
/// more producers.
pub struct UnboundedSender<T> {
    sender: Sender<T>,
}

// Not derived: a derive would ask `T: Clone`, and the values are never cloned.
impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            sender: self.sender.clone(),
        }
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let chan = &self.sender.chan;
        if chan.rx_closed.load(Ordering::Acquire) {
            return Err(SendError(value));
        }
        chan.push(None, value);
        Ok(())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::mpsc::UnboundedSender")
            .finish_non_exhaustive()
    }
}

/// The sending side; `Send + Sync` when `T: Send`. Clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full. Dropping the future while it
    /// waits gives up its place (passing on the room it was given, if any); the value is
    /// dropped with it, never half-sent.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone.
    ///
    /// # Cancel safety
    ///
    /// Dropped while it waits for room, it gives up its place (passing on room it was
    /// given) and the value is dropped with it; never half-sent.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            place: None,
        }
    }

    /// Sends `value` if there is room now and no sender is waiting ahead.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let chan = &self.chan;
        if chan.rx_closed.load(Ordering::Acquire) {
            return Err(TrySendError::Closed(value));
        }
        let permit = match chan.permits() {
            None => None,
            Some(permits) => match permits.try_acquire() {
                Ok(permit) => Some(permit),
                Err(NoPermit::Full) => return Err(TrySendError::Full(value)),
                Err(NoPermit::Closed) => return Err(TrySendError::Closed(value)),
            },
        };
        chan.push(permit, value);
        Ok(())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.rx_closed.load(Ordering::Acquire)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.rx.fetch_add(SENDER, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.rx.fetch_sub(SENDER, Ordering::AcqRel) < 2 * SENDER {
            // The last one: a parked receiver must see the end.
            self.chan.wake_receiver();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::mpsc::Sender")
            .finish_non_exhaustive()
    }
}

/// The future of [`Sender::send`].
#[must_use = "send does nothing unless awaited"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    /// Our place in line once we had to wait.
    place: Option<Place>,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let chan = this.chan;
        let permit = match chan.permits() {
            None => None,
            Some(permits) => match permits.poll_acquire(&mut this.place, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(permit)) => Some(permit),
                Poll::Ready(Err(())) => None,
            },
        };
        let value = this.value.take().expect("send polled after completion");
        if chan.rx_closed.load(Ordering::Acquire) || (permit.is_none() && chan.permits().is_some())
        {
            return Poll::Ready(Err(SendError(value))); // a permit drops back
        }
        chan.push(permit, value);
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if let (Some(place), Some(permits)) = (self.place.take(), self.chan.permits()) {
            permits.cancel(place);
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::mpsc::SendFuture")
            .field("waiting", &self.place.is_some())
            .finish()
    }
}

/// The receiving side; `Send` when `T: Send`, so it can move to any worker.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// The next message; `None` once every sender is gone (or the channel was closed) and
    /// the queue is empty. Cancelling it loses nothing: a message is only taken when
    /// returned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is only taken when it is returned.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Takes a message if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        self.chan.pop()
    }

    /// Refuses further messages; those queued can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Messages queued (a sender in the middle of a send may be counted already).
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close();
        // Drop what is queued now; a message a sender adds after this is dropped with the
        // channel, when its last sender goes.
        while self.chan.pop().is_some() {}
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::mpsc::Receiver")
            .field("queued", &self.len())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;

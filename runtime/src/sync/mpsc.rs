//! Local multi-producer, single-consumer channels: bounded (with backpressure) and
//! unbounded, for tasks on one worker.
//!
//! Owns: the local channel (its backpressure is a `Semaphore`). Must not lose a message to
//! cancellation: `recv` takes one only when it returns it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::semaphore::Semaphore;
use super::{SendError, TrySendError};

struct Queue<T> {
    items: VecDeque<T>,
    receiver_waker: Option<Waker>,
    senders: usize,
    receiver_alive: bool,
}

struct Chan<T> {
    queue: RefCell<Queue<T>>,
    /// Free slots of a bounded channel; `None` for an unbounded one. Waiting senders queue
    /// on it first come, first served.
    slots: Option<Semaphore>,
}

impl<T> Chan<T> {
    fn new(capacity: Option<usize>) -> Rc<Self> {
        Rc::new(Chan {
            queue: RefCell::new(Queue {
                items: VecDeque::with_capacity(capacity.unwrap_or(0).min(1024)),
                receiver_waker: None,
                senders: 1,
                receiver_alive: true,
            }),
            slots: capacity.map(Semaphore::new),
        })
    }

    fn push(&self, value: T) {
        let mut queue = self.queue.borrow_mut();
        queue.items.push_back(value);
        if let Some(waker) = queue.receiver_waker.take() {
            waker.wake();
        }
    }
}

/// Creates a bounded channel holding at most `capacity` messages: `send` waits while it is
/// full (backpressure), and waiting senders are served in order.
///
/// # Panics
///
/// If `capacity` is zero.
///
/// ```
/// ringlet::run(async {
///     let (tx, mut rx) = ringlet::sync::mpsc::channel(2);
///     ringlet::spawn(async move {
///         for i in 0..5 {
///             tx.send(i).await.unwrap(); // waits while 2 are queued
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "a bounded channel needs a capacity of at least 1"
    );
    let chan = Chan::new(Some(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates an unbounded channel: `send` never waits.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = Chan::new(None);
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The sending side of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room while the channel is full. Dropping the future
    /// while it waits gives up its place in line; the value is dropped with it, never
    /// half-sent.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone.
    ///
    /// # Cancel safety
    ///
    /// Dropped while it waits for room, it gives up its place in line and the value is
    /// dropped with it; a value it returned `Ok` for was sent.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let slots = self.chan.slots.as_ref().expect("bounded channel");
        match slots.acquire().await {
            Ok(permit) if self.chan.queue.borrow().receiver_alive => {
                permit.forget(); // the slot now holds the message; recv frees it
                self.chan.push(value);
                Ok(())
            }
            _ => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is room right now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if !self.chan.queue.borrow().receiver_alive {
            return Err(TrySendError::Closed(value));
        }
        let slots = self.chan.slots.as_ref().expect("bounded channel");
        match slots.try_acquire() {
            Ok(permit) => {
                permit.forget();
                self.chan.push(value);
                Ok(())
            }
            Err(_) => Err(TrySendError::Full(value)),
        }
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.chan.queue.borrow().receiver_alive
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.queue.borrow_mut().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop_sender(&self.chan);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender").finish_non_exhaustive()
    }
}

/// The sending side of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if !self.chan.queue.borrow().receiver_alive {
            return Err(SendError(value));
        }
        self.chan.push(value);
        Ok(())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.chan.queue.borrow().receiver_alive
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.queue.borrow_mut().senders += 1;
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        drop_sender(&self.chan);
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .finish_non_exhaustive()
    }
}

fn drop_sender<T>(chan: &Chan<T>) {
    let mut queue = chan.queue.borrow_mut();
    queue.senders -= 1;
    if queue.senders == 0
        && let Some(waker) = queue.receiver_waker.take()
    {
        waker.wake();
    }
}

/// The receiving side of a channel.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// The next message, in the order sent; `None` once every sender is gone and the
    /// queue is empty. Cancelling it loses nothing: a message is only taken when returned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is only taken when it is returned.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut queue = self.chan.queue.borrow_mut();
            if let Some(value) = queue.items.pop_front() {
                drop(queue);
                if let Some(slots) = &self.chan.slots {
                    slots.add_permits(1);
                }
                return Poll::Ready(Some(value));
            }
            if queue.senders == 0 {
                return Poll::Ready(None);
            }
            queue.receiver_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Takes a message if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        let value = self.chan.queue.borrow_mut().items.pop_front()?;
        if let Some(slots) = &self.chan.slots {
            slots.add_permits(1);
        }
        Some(value)
    }

    /// Refuses further messages; those already queued can still be received.
    pub fn close(&mut self) {
        self.chan.queue.borrow_mut().receiver_alive = false;
        if let Some(slots) = &self.chan.slots {
            slots.close(); // wakes blocked senders with an error
        }
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.chan.queue.borrow().items.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        // Drop queued messages now rather than when the last sender goes.
        let items = std::mem::take(&mut self.chan.queue.borrow_mut().items);
        drop(items);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("queued", &self.len())
            .finish()
    }
}

//! Multi-producer, single-consumer channels across workers (and threads).
//!
//! Owns: the cross-worker channel and its FIFO of waiting senders. Must not wake under its
//! lock.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::sync::{SendError, TrySendError};

struct State<T> {
    items: VecDeque<T>,
    capacity: usize,
    senders: usize,
    receiver_alive: bool,
    receiver_waker: Option<Waker>,
    /// Senders waiting for room, first come first served: (key, seq) in arrival order.
    waiting: Slab<(u64, Option<Waker>)>,
    order: VecDeque<(usize, u64)>,
    next_seq: u64,
}

impl<T> State<T> {
    /// The first live waiter in line, dropping cancelled ones.
    fn front(&mut self) -> Option<usize> {
        while let Some(&(key, seq)) = self.order.front() {
            if self.waiting.get(key).is_some_and(|w| w.0 == seq) {
                return Some(key);
            }
            self.order.pop_front();
        }
        None
    }

    /// The waker of the first sender in line, to wake once the lock is released: a
    /// waker may run arbitrary code, which must not find the lock held.
    fn front_waker(&mut self) -> Option<Waker> {
        let key = self.front()?;
        self.waiting[key].1.take()
    }

    /// Every waiting sender's waker, to wake once the lock is released.
    fn sender_wakers(&mut self) -> Vec<Waker> {
        self.waiting
            .iter_mut()
            .filter_map(|(_, (_, waker))| waker.take())
            .collect()
    }
}

struct Chan<T> {
    state: Mutex<State<T>>,
}

impl<T> Chan<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn new_chan<T>(capacity: usize) -> Arc<Chan<T>> {
    Arc::new(Chan {
        state: Mutex::new(State {
            items: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            senders: 1,
            receiver_alive: true,
            receiver_waker: None,
            waiting: Slab::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }),
    })
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
    let chan = new_chan(capacity);
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// An unbounded channel across workers: `send` never waits (and is not `async`), as in
/// the local flavour.
pub fn unbounded_channel<T: Send>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = new_chan(usize::MAX);
    (
        UnboundedSender {
            sender: Sender { chan: chan.clone() },
        },
        Receiver { chan },
    )
}

/// The sending side of an unbounded channel; `Send + Sync` when `T: Send`. Clone it for
/// more producers.
#[derive(Clone)]
pub struct UnboundedSender<T> {
    sender: Sender<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.sender.try_send(value).map_err(|e| match e {
            TrySendError::Closed(value) | TrySendError::Full(value) => SendError(value),
        })
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
    /// waits gives up its place (passing a wake-up on if it had one); the value is dropped
    /// with it, never half-sent.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is gone.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            queued: None,
        }
    }

    /// Sends `value` if there is room now and no sender is waiting ahead.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = self.chan.lock();
        if !state.receiver_alive {
            return Err(TrySendError::Closed(value));
        }
        if state.items.len() >= state.capacity || state.front().is_some() {
            return Err(TrySendError::Full(value));
        }
        let waker = push(&mut state, value);
        drop(state);
        wake(waker);
        Ok(())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.chan.lock().receiver_alive
    }
}

/// Queues `value`; returns the receiver's waker, to wake after the lock is released.
#[must_use]
fn push<T>(state: &mut State<T>, value: T) -> Option<Waker> {
    state.items.push_back(value);
    state.receiver_waker.take()
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.chan.lock();
        state.senders -= 1;
        let waker = if state.senders == 0 {
            state.receiver_waker.take()
        } else {
            None
        };
        drop(state);
        wake(waker);
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
    /// Our place in line once we had to wait: (key, seq).
    queued: Option<(usize, u64)>,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut state = this.chan.lock();
        let value = this.value.take().expect("send polled after completion");
        if !state.receiver_alive {
            if let Some((key, _)) = this.queued.take() {
                state.waiting.remove(key);
            }
            return Poll::Ready(Err(SendError(value)));
        }
        let my_turn = match this.queued {
            None => state.front().is_none(),
            Some((key, _)) => state.front() == Some(key),
        };
        if my_turn && state.items.len() < state.capacity {
            if let Some((key, _)) = this.queued.take() {
                state.waiting.remove(key);
            }
            let receiver = push(&mut state, value);
            // Room may remain for the next sender in line.
            let next = if state.items.len() < state.capacity {
                state.front_waker()
            } else {
                None
            };
            drop(state);
            wake(receiver);
            wake(next);
            return Poll::Ready(Ok(()));
        }
        this.value = Some(value);
        match this.queued {
            Some((key, _)) => state.waiting[key].1 = Some(cx.waker().clone()),
            None => {
                let seq = state.next_seq;
                state.next_seq += 1;
                let key = state.waiting.insert((seq, Some(cx.waker().clone())));
                state.order.push_back((key, seq));
                this.queued = Some((key, seq));
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if let Some((key, _)) = self.queued.take() {
            let mut state = self.chan.lock();
            let was_front = state.front() == Some(key);
            state.waiting.remove(key);
            // We may have been woken for a free slot: pass it on.
            let next = if was_front && state.items.len() < state.capacity {
                state.front_waker()
            } else {
                None
            };
            drop(state);
            wake(next);
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::mpsc::SendFuture")
            .field("waiting", &self.queued.is_some())
            .finish()
    }
}

/// The receiving side; `Send` when `T: Send`, so it can move to any worker.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// The next message; `None` once every sender is gone and the queue is empty.
    /// Cancelling it loses nothing: a message is only taken when returned.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut state = self.chan.lock();
            if let Some(value) = state.items.pop_front() {
                let next = state.front_waker();
                drop(state);
                wake(next);
                return Poll::Ready(Some(value));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            match &state.receiver_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.receiver_waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// Takes a message if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut state = self.chan.lock();
        let value = state.items.pop_front()?;
        let next = state.front_waker();
        drop(state);
        wake(next);
        Some(value)
    }

    /// Refuses further messages; those queued can still be received.
    pub fn close(&mut self) {
        let mut state = self.chan.lock();
        state.receiver_alive = false;
        let senders = state.sender_wakers();
        drop(state);
        senders.into_iter().for_each(Waker::wake);
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.chan.lock().items.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (items, senders) = {
            let mut state = self.chan.lock();
            state.receiver_alive = false;
            (std::mem::take(&mut state.items), state.sender_wakers())
        };
        senders.into_iter().for_each(Waker::wake);
        drop(items); // outside the lock: a message's destructor may use the channel
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::mpsc::Receiver")
            .field("queued", &self.len())
            .finish()
    }
}

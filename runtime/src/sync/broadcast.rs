//! A local broadcast channel: every receiver sees every message, for tasks on one worker.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::SendError;

/// Why [`Receiver::recv`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and this receiver has seen every message.
    Closed,
    /// This receiver fell behind by more than the channel's capacity: it missed this many
    /// messages and continues from the oldest one still held.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("broadcast channel closed"),
            RecvError::Lagged(n) => write!(f, "receiver lagged behind and missed {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

struct State<T> {
    /// The last `capacity` messages; the front one has sequence number `head`.
    buf: VecDeque<T>,
    head: u64,
    capacity: usize,
    senders: usize,
    receivers: usize,
    waiting: Vec<Waker>,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
    }
}

/// Creates a broadcast channel that holds the last `capacity` messages for receivers that
/// have not seen them yet.
///
/// # Panics
///
/// If `capacity` is zero.
///
/// ```
/// ringlet::run(async {
///     let (tx, mut a) = ringlet::sync::broadcast::channel(16);
///     let mut b = tx.subscribe();
///     tx.send("hi").unwrap();
///     assert_eq!(a.recv().await, Ok("hi"));
///     assert_eq!(b.recv().await, Ok("hi"));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "a broadcast channel needs a capacity of at least 1"
    );
    let state = Rc::new(RefCell::new(State {
        buf: VecDeque::with_capacity(capacity.min(1024)),
        head: 0,
        capacity,
        senders: 1,
        receivers: 1,
        waiting: Vec::new(),
    }));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state, next: 0 },
    )
}

/// The sending side of a broadcast channel; clone it for more senders.
pub struct Sender<T> {
    state: Rc<RefCell<State<T>>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver; returns how many there are. Never waits: a
    /// receiver that falls more than `capacity` messages behind is told it lagged.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let waiting = {
            let mut state = self.state.borrow_mut();
            if state.receivers == 0 {
                return Err(SendError(value));
            }
            state.buf.push_back(value);
            if state.buf.len() > state.capacity {
                state.buf.pop_front();
                state.head += 1;
            }
            std::mem::take(&mut state.waiting)
        };
        for waker in waiting {
            waker.wake();
        }
        Ok(self.state.borrow().receivers)
    }

    /// A new receiver that sees the messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.state.borrow_mut();
        state.receivers += 1;
        Receiver {
            state: self.state.clone(),
            next: state.tail(),
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        self.state.borrow().receivers
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.state.borrow_mut().senders += 1;
        Sender {
            state: self.state.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.state.borrow_mut();
            state.senders -= 1;
            if state.senders > 0 {
                return;
            }
            std::mem::take(&mut state.waiting)
        };
        for waker in waiting {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

/// A receiving side of a broadcast channel.
pub struct Receiver<T> {
    state: Rc<RefCell<State<T>>>,
    /// Sequence number of the next message this receiver will see.
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// The next message. Cancelling it loses nothing.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] if messages were overwritten before this receiver saw them
    /// (the next call continues with the oldest one held); [`RecvError::Closed`] once
    /// every sender is gone and everything was seen.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            if self.next < state.head {
                let missed = state.head - self.next;
                self.next = state.head;
                return Poll::Ready(Err(RecvError::Lagged(missed)));
            }
            if self.next < state.tail() {
                let value = state.buf[(self.next - state.head) as usize].clone();
                self.next += 1;
                return Poll::Ready(Ok(value));
            }
            if state.senders == 0 {
                return Poll::Ready(Err(RecvError::Closed));
            }
            if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                state.waiting.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.state.borrow_mut().receivers -= 1;
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

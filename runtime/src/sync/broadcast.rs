//! Broadcast channels: every receiver sees every message, in either flavour.
//!
//! Owns: [`Sender`] and [`Receiver`], generic over the flavour (default [`Local`]: what
//! `ringlet::sync::broadcast` names), and [`channel`];
//! [`shared::broadcast`](crate::sync::shared::broadcast) is the same in the cross-worker
//! flavour.

use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll, Waker};

use super::SendError;
use super::flavor::{Flavor, Local};

/// Why a broadcast `recv` returned no message.
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

/// The channel's state; sequence numbers count every message ever sent.
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
    fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "a broadcast channel needs a capacity of at least 1"
        );
        State {
            buf: VecDeque::with_capacity(capacity.min(1024)),
            head: 0,
            capacity,
            senders: 1,
            receivers: 1,
            waiting: Vec::new(),
        }
    }

    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

fn send<T, F: Flavor>(g: &F::Cell<State<T>>, value: T) -> Result<usize, SendError<T>> {
    let (receivers, wakers) = F::with(g, |s| {
        if s.receivers == 0 {
            return Err(SendError(value));
        }
        s.buf.push_back(value);
        if s.buf.len() > s.capacity {
            s.buf.pop_front();
            s.head += 1;
        }
        Ok((s.receivers, std::mem::take(&mut s.waiting)))
    })?;
    wake_all(wakers);
    Ok(receivers)
}

/// A new receiver's starting point (it sees what is sent from now on).
fn subscribe<T, F: Flavor>(g: &F::Cell<State<T>>) -> u64 {
    F::with(g, |s| {
        s.receivers += 1;
        s.tail()
    })
}

fn poll_recv<T: Clone, F: Flavor>(
    g: &F::Cell<State<T>>,
    next: &mut u64,
    cx: &mut Context<'_>,
) -> Poll<Result<T, RecvError>> {
    F::with(g, |s| {
        if *next < s.head {
            let missed = s.head - *next;
            *next = s.head;
            return Poll::Ready(Err(RecvError::Lagged(missed)));
        }
        if *next < s.tail() {
            let value = s.buf[(*next - s.head) as usize].clone();
            *next += 1;
            return Poll::Ready(Ok(value));
        }
        if s.senders == 0 {
            return Poll::Ready(Err(RecvError::Closed));
        }
        if !s.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    })
}

fn add_sender<T, F: Flavor>(g: &F::Cell<State<T>>) {
    F::with(g, |s| s.senders += 1);
}

fn drop_sender<T, F: Flavor>(g: &F::Cell<State<T>>) {
    let wakers = F::with(g, |s| {
        s.senders -= 1;
        if s.senders > 0 {
            Vec::new()
        } else {
            std::mem::take(&mut s.waiting)
        }
    });
    wake_all(wakers);
}

fn drop_receiver<T, F: Flavor>(g: &F::Cell<State<T>>) {
    F::with(g, |s| s.receivers -= 1);
}

fn receiver_count<T, F: Flavor>(g: &F::Cell<State<T>>) -> usize {
    F::with(g, |s| s.receivers)
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
    pair(capacity)
}

/// A broadcast channel in flavour `F`.
pub(crate) fn pair<T, F: Flavor>(capacity: usize) -> (Sender<T, F>, Receiver<T, F>) {
    let state = F::ptr(F::cell(State::new(capacity)));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state, next: 0 },
    )
}

/// The sending side of a broadcast channel; clone it for more senders.
pub struct Sender<T, F: Flavor = Local> {
    state: F::Ptr<F::Cell<State<T>>>,
}

impl<T: Clone, F: Flavor> Sender<T, F> {
    /// Sends `value` to every receiver; returns how many there are. Never waits: a
    /// receiver that falls more than `capacity` messages behind is told it lagged.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        send::<T, F>(&self.state, value)
    }

    /// A new receiver that sees the messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T, F> {
        Receiver {
            next: subscribe::<T, F>(&self.state),
            state: self.state.clone(),
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        receiver_count::<T, F>(&self.state)
    }
}

impl<T, F: Flavor> Clone for Sender<T, F> {
    fn clone(&self) -> Self {
        add_sender::<T, F>(&self.state);
        Sender {
            state: self.state.clone(),
        }
    }
}

impl<T, F: Flavor> Drop for Sender<T, F> {
    fn drop(&mut self) {
        drop_sender::<T, F>(&self.state);
    }
}

impl<T, F: Flavor> fmt::Debug for Sender<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

/// A receiving side of a broadcast channel.
pub struct Receiver<T, F: Flavor = Local> {
    state: F::Ptr<F::Cell<State<T>>>,
    /// Sequence number of the next message this receiver will see.
    next: u64,
}

impl<T: Clone, F: Flavor> Receiver<T, F> {
    /// The next message. Cancelling it loses nothing.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] if messages were overwritten before this receiver saw them
    /// (the next call continues with the oldest one held); [`RecvError::Closed`] once
    /// every sender is gone and everything was seen.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is only taken when it is returned.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| poll_recv::<T, F>(&self.state, &mut self.next, cx)).await
    }
}

impl<T, F: Flavor> Drop for Receiver<T, F> {
    fn drop(&mut self) {
        drop_receiver::<T, F>(&self.state);
    }
}

impl<T, F: Flavor> fmt::Debug for Receiver<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

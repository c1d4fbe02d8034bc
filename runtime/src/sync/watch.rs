//! Watch channels: one value, observed by many receivers. The algorithm is written once
//! over the flavour's guard (`RefCell` or `Mutex`); the local flavour lives here, the
//! cross-worker one in `shared`.

use std::cell::{Ref, RefCell};
use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::waitlist::Guard;
use super::{RecvError, SendError};

pub(crate) struct State<T> {
    value: T,
    version: u64,
    sender_alive: bool,
    receivers: usize,
    wakers: Vec<Waker>,
}

impl<T> State<T> {
    pub(crate) fn new(value: T) -> Self {
        State {
            value,
            version: 0,
            sender_alive: true,
            receivers: 1,
            wakers: Vec::new(),
        }
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

pub(crate) fn send<T>(g: &impl Guard<State<T>>, value: T) -> Result<(), SendError<T>> {
    let wakers = g.with(|s| {
        if s.receivers == 0 {
            return Err(SendError(value));
        }
        s.value = value;
        s.version += 1;
        Ok(std::mem::take(&mut s.wakers))
    })?;
    wake_all(wakers);
    Ok(())
}

pub(crate) fn send_modify<T>(g: &impl Guard<State<T>>, modify: impl FnOnce(&mut T)) {
    let wakers = g.with(|s| {
        modify(&mut s.value);
        s.version += 1;
        std::mem::take(&mut s.wakers)
    });
    wake_all(wakers);
}

/// A new receiver's version (the current value counts as seen).
pub(crate) fn subscribe<T>(g: &impl Guard<State<T>>) -> u64 {
    g.with(|s| {
        s.receivers += 1;
        s.version
    })
}

pub(crate) fn add_receiver<T>(g: &impl Guard<State<T>>) {
    g.with(|s| s.receivers += 1);
}

pub(crate) fn drop_receiver<T>(g: &impl Guard<State<T>>) {
    g.with(|s| s.receivers -= 1);
}

pub(crate) fn drop_sender<T>(g: &impl Guard<State<T>>) {
    let wakers = g.with(|s| {
        s.sender_alive = false;
        std::mem::take(&mut s.wakers)
    });
    wake_all(wakers);
}

pub(crate) fn receiver_count<T>(g: &impl Guard<State<T>>) -> usize {
    g.with(|s| s.receivers)
}

pub(crate) fn version<T>(g: &impl Guard<State<T>>) -> u64 {
    g.with(|s| s.version)
}

pub(crate) fn poll_changed<T>(
    g: &impl Guard<State<T>>,
    seen: &mut u64,
    cx: &mut Context<'_>,
) -> Poll<Result<(), RecvError>> {
    g.with(|s| {
        if s.version != *seen {
            *seen = s.version;
            return Poll::Ready(Ok(()));
        }
        if !s.sender_alive {
            return Poll::Ready(Err(RecvError(())));
        }
        if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            s.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    })
}

/// Reads the value with `read` (for the cross-worker flavour, which cannot lend a `Ref`).
pub(crate) fn read<T, R>(g: &impl Guard<State<T>>, read: impl FnOnce(&T) -> R) -> R {
    g.with(|s| read(&s.value))
}

/// Creates a watch channel holding `init`. Receivers see the latest value; a receiver
/// that was slow sees only the newest, never a backlog.
///
/// ```
/// ringlet::run(async {
///     let (tx, mut rx) = ringlet::sync::watch::channel("starting");
///     tx.send("ready").unwrap();
///     rx.changed().await.unwrap();
///     assert_eq!(*rx.borrow_and_update(), "ready");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let state = Rc::new(RefCell::new(State::new(init)));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state, seen: 0 },
    )
}

/// The sending side of a watch channel.
pub struct Sender<T> {
    state: Rc<RefCell<State<T>>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies every receiver.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        send(&*self.state, value)
    }

    /// Changes the value in place and notifies every receiver.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        send_modify(&*self.state, modify);
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref::map(self.state.borrow(), |s| &s.value)
    }

    /// A new receiver; it counts the current value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            seen: subscribe(&*self.state),
            state: self.state.clone(),
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        receiver_count(&*self.state)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop_sender(&*self.state);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

/// A receiving side of a watch channel.
pub struct Receiver<T> {
    state: Rc<RefCell<State<T>>>,
    seen: u64,
}

impl<T> Receiver<T> {
    /// The current value (not marking it seen). Do not hold it across `.await`.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref::map(self.state.borrow(), |s| &s.value)
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.seen = version(&*self.state);
        self.borrow()
    }

    /// Waits until the value changes from the last one seen, and marks it seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone (and nothing new was sent).
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        std::future::poll_fn(|cx| poll_changed(&*self.state, &mut self.seen, cx)).await
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        add_receiver(&*self.state);
        Receiver {
            state: self.state.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        drop_receiver(&*self.state);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

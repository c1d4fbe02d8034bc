//! Watch channels: one value, observed by many receivers, in either flavour.
//!
//! Owns: [`Sender`], [`Receiver`] and the value lent by `borrow` ([`Ref`]), generic over
//! the flavour (default [`Local`]: what `ringlet::sync::watch` names), and [`channel`];
//! [`shared::watch`](crate::sync::shared::watch) is the same in the cross-worker flavour.
//! The state sits in the flavour's reader-writer cell: borrows share it.

use std::fmt;
use std::ops::Deref;
use std::task::{Context, Poll, Waker};

use super::flavor::{Flavor, Local};
use super::{RecvError, SendError};

struct State<T> {
    value: T,
    version: u64,
    sender_alive: bool,
    receivers: usize,
    wakers: Vec<Waker>,
}

impl<T> State<T> {
    fn new(value: T) -> Self {
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

fn send<T, F: Flavor>(g: &F::RwCell<State<T>>, value: T) -> Result<(), SendError<T>> {
    let wakers = F::with_write(g, |s| {
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

fn send_modify<T, F: Flavor>(g: &F::RwCell<State<T>>, modify: impl FnOnce(&mut T)) {
    let wakers = F::with_write(g, |s| {
        modify(&mut s.value);
        s.version += 1;
        std::mem::take(&mut s.wakers)
    });
    wake_all(wakers);
}

/// A new receiver's version (the current value counts as seen).
fn subscribe<T, F: Flavor>(g: &F::RwCell<State<T>>) -> u64 {
    F::with_write(g, |s| {
        s.receivers += 1;
        s.version
    })
}

fn add_receiver<T, F: Flavor>(g: &F::RwCell<State<T>>) {
    F::with_write(g, |s| s.receivers += 1);
}

fn drop_receiver<T, F: Flavor>(g: &F::RwCell<State<T>>) {
    F::with_write(g, |s| s.receivers -= 1);
}

fn drop_sender<T, F: Flavor>(g: &F::RwCell<State<T>>) {
    let wakers = F::with_write(g, |s| {
        s.sender_alive = false;
        std::mem::take(&mut s.wakers)
    });
    wake_all(wakers);
}

fn receiver_count<T, F: Flavor>(g: &F::RwCell<State<T>>) -> usize {
    F::read(g).receivers
}

fn poll_changed<T, F: Flavor>(
    g: &F::RwCell<State<T>>,
    seen: &mut u64,
    cx: &mut Context<'_>,
) -> Poll<Result<(), RecvError>> {
    F::with_write(g, |s| {
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

/// Runs `read` on the value.
fn read<T, R, F: Flavor>(g: &F::RwCell<State<T>>, read: impl FnOnce(&T) -> R) -> R {
    read(&F::read(g).value)
}

/// Creates a watch channel holding `init`, for tasks on one worker. Receivers see the
/// latest value; a receiver that was slow sees only the newest, never a backlog.
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
    pair(init)
}

/// A watch channel in flavour `F`.
pub(crate) fn pair<T, F: Flavor>(init: T) -> (Sender<T, F>, Receiver<T, F>) {
    let state = F::ptr(F::rw_cell(State::new(init)));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state, seen: 0 },
    )
}

/// The value of a watch channel, lent by `borrow`: the sender waits to change it until
/// this is dropped (in the shared flavour), or panics if it tries (in the local one). Do
/// not hold it across `.await`.
pub struct Ref<'a, T: 'a, F: Flavor = Local> {
    state: F::Read<'a, State<T>>,
}

impl<T, F: Flavor> Deref for Ref<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.state.value
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for Ref<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending side of a watch channel.
pub struct Sender<T, F: Flavor = Local> {
    state: F::Ptr<F::RwCell<State<T>>>,
}

impl<T, F: Flavor> Sender<T, F> {
    /// Replaces the value and notifies every receiver.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        send::<T, F>(&self.state, value)
    }

    /// Changes the value in place and notifies every receiver.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        send_modify::<T, F>(&self.state, modify);
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T, F> {
        Ref {
            state: F::read(&self.state),
        }
    }

    /// Runs `f` on the current value.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        read::<T, R, F>(&self.state, f)
    }

    /// A new receiver; it counts the current value as seen.
    pub fn subscribe(&self) -> Receiver<T, F> {
        Receiver {
            seen: subscribe::<T, F>(&self.state),
            state: self.state.clone(),
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        receiver_count::<T, F>(&self.state)
    }
}

impl<T, F: Flavor> Drop for Sender<T, F> {
    fn drop(&mut self) {
        drop_sender::<T, F>(&self.state);
    }
}

impl<T, F: Flavor> fmt::Debug for Sender<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

/// A receiving side of a watch channel.
pub struct Receiver<T, F: Flavor = Local> {
    state: F::Ptr<F::RwCell<State<T>>>,
    seen: u64,
}

impl<T, F: Flavor> Receiver<T, F> {
    /// The current value (not marking it seen). Do not hold it across `.await`.
    pub fn borrow(&self) -> Ref<'_, T, F> {
        Ref {
            state: F::read(&self.state),
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T, F> {
        let state = F::read(&self.state);
        self.seen = state.version;
        Ref { state }
    }

    /// Runs `f` on the current value (not marking it seen).
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        read::<T, R, F>(&self.state, f)
    }

    /// Runs `f` on the current value, marking it seen.
    pub fn read_and_update<R>(&mut self, f: impl FnOnce(&T) -> R) -> R {
        let state = F::read(&self.state);
        self.seen = state.version;
        f(&state.value)
    }

    /// Waits until the value changes from the last one seen, and marks it seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone (and nothing new was sent).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the value is marked seen only when this returns.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        std::future::poll_fn(|cx| poll_changed::<T, F>(&self.state, &mut self.seen, cx)).await
    }
}

impl<T, F: Flavor> Clone for Receiver<T, F> {
    fn clone(&self) -> Self {
        add_receiver::<T, F>(&self.state);
        Receiver {
            state: self.state.clone(),
            seen: self.seen,
        }
    }
}

impl<T, F: Flavor> Drop for Receiver<T, F> {
    fn drop(&mut self) {
        drop_receiver::<T, F>(&self.state);
    }
}

impl<T, F: Flavor> fmt::Debug for Receiver<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

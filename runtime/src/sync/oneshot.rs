//! One-shot channels: one value, from one task to another, in either flavour.
//!
//! Owns: [`Sender`] and [`Receiver`], generic over the flavour (default [`Local`]: the
//! types `ringlet::sync::oneshot` names), and [`channel`]; the cross-worker channel is
//! [`shared::oneshot`](crate::sync::shared::oneshot), the same types in [`Shared`].
//!
//! [`Shared`]: crate::sync::shared::Shared

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::RecvError;
use super::flavor::{Flavor, Local};

struct State<T> {
    value: Option<T>,
    receiver_waker: Option<Waker>,
    sender_alive: bool,
    receiver_alive: bool,
}

/// Creates a one-shot channel for tasks on one worker.
///
/// ```
/// ringlet::run(async {
///     let (tx, rx) = ringlet::sync::oneshot::channel();
///     ringlet::spawn(async move { tx.send("done").unwrap() });
///     assert_eq!(rx.await, Ok("done"));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    pair()
}

/// A one-shot channel in flavour `F`.
pub(crate) fn pair<T, F: Flavor>() -> (Sender<T, F>, Receiver<T, F>) {
    let state = F::ptr(F::cell(State {
        value: None,
        receiver_waker: None,
        sender_alive: true,
        receiver_alive: true,
    }));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state },
    )
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Sends the one value. Dropping it unsent tells the receiver ([`RecvError`]).
pub struct Sender<T, F: Flavor = Local> {
    state: F::Ptr<F::Cell<State<T>>>,
}

impl<T, F: Flavor> Sender<T, F> {
    /// Sends `value`.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), T> {
        let waker = F::with(&self.state, |s| {
            if !s.receiver_alive {
                return Err(value);
            }
            s.value = Some(value);
            Ok(s.receiver_waker.take())
        })?;
        wake(waker);
        Ok(())
    }

    /// Whether the receiver has been dropped.
    pub fn is_closed(&self) -> bool {
        F::with(&self.state, |s| !s.receiver_alive)
    }
}

impl<T, F: Flavor> Drop for Sender<T, F> {
    fn drop(&mut self) {
        wake(F::with(&self.state, |s| {
            s.sender_alive = false;
            s.receiver_waker.take()
        }));
    }
}

impl<T, F: Flavor> fmt::Debug for Sender<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

/// Receives the one value: a future of `Result<T, RecvError>`.
pub struct Receiver<T, F: Flavor = Local> {
    state: F::Ptr<F::Cell<State<T>>>,
}

impl<T, F: Flavor> Receiver<T, F> {
    /// Takes the value if it has been sent.
    ///
    /// # Errors
    ///
    /// `Ok(None)` while nothing was sent yet; [`RecvError`] if the sender is gone.
    pub fn try_recv(&mut self) -> Result<Option<T>, RecvError> {
        F::with(&self.state, |s| match s.value.take() {
            Some(value) => Ok(Some(value)),
            None if s.sender_alive => Ok(None),
            None => Err(RecvError(())),
        })
    }
}

impl<T, F: Flavor> Future for Receiver<T, F> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        F::with(&self.state, |s| {
            if let Some(value) = s.value.take() {
                return Poll::Ready(Ok(value));
            }
            if !s.sender_alive {
                return Poll::Ready(Err(RecvError(())));
            }
            match &mut s.receiver_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }
}

impl<T, F: Flavor> Drop for Receiver<T, F> {
    fn drop(&mut self) {
        F::with(&self.state, |s| s.receiver_alive = false);
    }
}

impl<T, F: Flavor> fmt::Debug for Receiver<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

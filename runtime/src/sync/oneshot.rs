//! A local one-shot channel: one value, from one task to another on the same worker.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::RecvError;

struct Shared<T> {
    value: Option<T>,
    receiver_waker: Option<Waker>,
    sender_alive: bool,
    receiver_alive: bool,
}

/// Creates a one-shot channel.
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
    let shared = Rc::new(RefCell::new(Shared {
        value: None,
        receiver_waker: None,
        sender_alive: true,
        receiver_alive: true,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Sends the one value. Dropping it unsent tells the receiver ([`RecvError`]).
pub struct Sender<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), T> {
        let mut shared = self.shared.borrow_mut();
        if !shared.receiver_alive {
            return Err(value);
        }
        shared.value = Some(value);
        if let Some(waker) = shared.receiver_waker.take() {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver has been dropped.
    pub fn is_closed(&self) -> bool {
        !self.shared.borrow().receiver_alive
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.sender_alive = false;
        if let Some(waker) = shared.receiver_waker.take() {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

/// Receives the one value: a future of `Result<T, RecvError>`.
pub struct Receiver<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent.
    ///
    /// # Errors
    ///
    /// `Ok(None)` while nothing was sent yet; [`RecvError`] if the sender is gone.
    pub fn try_recv(&mut self) -> Result<Option<T>, RecvError> {
        let mut shared = self.shared.borrow_mut();
        match shared.value.take() {
            Some(value) => Ok(Some(value)),
            None if shared.sender_alive => Ok(None),
            None => Err(RecvError(())),
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut shared = self.shared.borrow_mut();
        if let Some(value) = shared.value.take() {
            return Poll::Ready(Ok(value));
        }
        if !shared.sender_alive {
            return Poll::Ready(Err(RecvError(())));
        }
        shared.receiver_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.borrow_mut().receiver_alive = false;
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

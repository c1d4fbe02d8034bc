//! A local watch channel: one value, observed by many receivers, for tasks on one worker.

use std::cell::{Ref, RefCell};
use std::fmt;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::{RecvError, SendError};

struct State<T> {
    value: T,
    version: u64,
    sender_alive: bool,
    receivers: usize,
    wakers: Vec<Waker>,
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
    let state = Rc::new(RefCell::new(State {
        value: init,
        version: 0,
        sender_alive: true,
        receivers: 1,
        wakers: Vec::new(),
    }));
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
        if self.state.borrow().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_modify(|v| *v = value);
        Ok(())
    }

    /// Changes the value in place and notifies every receiver.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        let wakers = {
            let mut state = self.state.borrow_mut();
            modify(&mut state.value);
            state.version += 1;
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref::map(self.state.borrow(), |s| &s.value)
    }

    /// A new receiver; it counts the current value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.state.borrow_mut();
        state.receivers += 1;
        Receiver {
            state: self.state.clone(),
            seen: state.version,
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        self.state.borrow().receivers
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let wakers = {
            let mut state = self.state.borrow_mut();
            state.sender_alive = false;
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
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
        let state = self.state.borrow();
        self.seen = state.version;
        Ref::map(state, |s| &s.value)
    }

    /// Waits until the value changes from the last one seen, and marks it seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone (and nothing new was sent).
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        std::future::poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            if state.version != self.seen {
                self.seen = state.version;
                return Poll::Ready(Ok(()));
            }
            if !state.sender_alive {
                return Poll::Ready(Err(RecvError(())));
            }
            if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                state.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.state.borrow_mut().receivers += 1;
        Receiver {
            state: self.state.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.state.borrow_mut().receivers -= 1;
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

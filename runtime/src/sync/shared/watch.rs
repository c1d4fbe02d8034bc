//! Watch channels across workers: [`crate::sync::watch`]'s algorithm behind a lock.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::sync::watch::{
    State, add_receiver, drop_receiver, drop_sender, poll_changed, read, receiver_count, send,
    send_modify, subscribe, version,
};
use crate::sync::{RecvError, SendError};

/// Creates a watch channel whose ends may live on any worker.
///
/// ```
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let (tx, mut rx) = ringlet::sync::shared::watch::channel(0);
///     ringlet::spawn_on(1, move || async move { tx.send(5).unwrap() }).await.unwrap();
///     rx.changed().await.unwrap();
///     assert_eq!(rx.read(|v| *v), 5);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T: Send>(init: T) -> (Sender<T>, Receiver<T>) {
    let state = Arc::new(Mutex::new(State::new(init)));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state, seen: 0 },
    )
}

/// The sending side.
pub struct Sender<T> {
    state: Arc<Mutex<State<T>>>,
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

    /// Reads the current value through `f` (the lock is held only during the call).
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        read(&*self.state, f)
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
        f.debug_struct("shared::watch::Sender")
            .finish_non_exhaustive()
    }
}

/// A receiving side.
pub struct Receiver<T> {
    state: Arc<Mutex<State<T>>>,
    seen: u64,
}

impl<T> Receiver<T> {
    /// Reads the current value through `f`, without marking it seen.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        read(&*self.state, f)
    }

    /// Reads the current value through `f` and marks it seen.
    pub fn read_and_update<R>(&mut self, f: impl FnOnce(&T) -> R) -> R {
        self.seen = version(&*self.state);
        self.read(f)
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
        f.debug_struct("shared::watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

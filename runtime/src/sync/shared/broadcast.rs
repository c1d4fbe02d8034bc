//! Broadcast channels across workers: [`crate::sync::broadcast`]'s algorithm behind a lock.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::sync::SendError;
pub use crate::sync::broadcast::RecvError;
use crate::sync::broadcast::{
    State, add_sender, drop_receiver, drop_sender, poll_recv, receiver_count, send, subscribe,
};

/// Creates a broadcast channel whose ends may live on any worker.
///
/// # Panics
///
/// If `capacity` is zero.
///
/// ```
/// let rt = ringlet::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let (tx, mut rx) = ringlet::sync::shared::broadcast::channel(8);
///     let mut remote = tx.subscribe();
///     let got = ringlet::spawn_on(1, move || async move { remote.recv().await });
///     tx.send(7).unwrap();
///     assert_eq!(rx.recv().await, Ok(7));
///     assert_eq!(got.await.unwrap(), Ok(7));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<T: Clone + Send>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let state = Arc::new(Mutex::new(State::new(capacity)));
    (
        Sender {
            state: state.clone(),
        },
        Receiver { state, next: 0 },
    )
}

/// The sending side; clone it for more senders.
pub struct Sender<T> {
    state: Arc<Mutex<State<T>>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver; returns how many there are.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        send(&*self.state, value)
    }

    /// A new receiver that sees the messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            next: subscribe(&*self.state),
            state: self.state.clone(),
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        receiver_count(&*self.state)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        add_sender(&*self.state);
        Sender {
            state: self.state.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop_sender(&*self.state);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::broadcast::Sender")
            .finish_non_exhaustive()
    }
}

/// A receiving side.
pub struct Receiver<T> {
    state: Arc<Mutex<State<T>>>,
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// The next message. Cancelling it loses nothing.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] or [`RecvError::Closed`], as for the local flavour.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| poll_recv(&*self.state, &mut self.next, cx)).await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        drop_receiver(&*self.state);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

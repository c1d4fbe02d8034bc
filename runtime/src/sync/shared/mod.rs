//! The cross-worker (`Send + Sync`) flavour of [`crate::sync`]: the same types and the
//! same API, for tasks on different workers or plain threads. Each type here is the
//! flavour-generic one of [`crate::sync::generic`] in [`Shared`]; they cost a lock and
//! atomics the local flavour does not pay, so use these only where values cross workers.
//!
//! Owns: the names of the shared flavour. Must not implement anything twice: only `mpsc`
//! has a shared implementation of its own.

pub mod mpsc;

pub use super::generic::Shared;

super::flavour_names!(Shared);

/// One-shot channels across workers: [`crate::sync::oneshot`]'s types in [`Shared`].
pub mod oneshot {
    use super::Shared;

    /// Sends the one value; see [`crate::sync::oneshot::Sender`].
    pub type Sender<T> = crate::sync::oneshot::Sender<T, Shared>;
    /// Receives the one value; see [`crate::sync::oneshot::Receiver`].
    pub type Receiver<T> = crate::sync::oneshot::Receiver<T, Shared>;

    /// Creates a one-shot channel whose ends may be on different workers.
    ///
    /// ```
    /// let rt = ringlet::Runtime::builder().workers(2).build()?;
    /// let answer = rt.block_on(async {
    ///     let (tx, rx) = ringlet::sync::shared::oneshot::channel();
    ///     ringlet::spawn_on(1, move || async move { tx.send(42).unwrap() });
    ///     rx.await.unwrap()
    /// });
    /// assert_eq!(answer, 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn channel<T: Send>() -> (Sender<T>, Receiver<T>) {
        crate::sync::oneshot::pair()
    }
}

/// Watch channels across workers: [`crate::sync::watch`]'s types in [`Shared`].
pub mod watch {
    use super::Shared;

    /// The sending side; see [`crate::sync::watch::Sender`].
    pub type Sender<T> = crate::sync::watch::Sender<T, Shared>;
    /// A receiving side; see [`crate::sync::watch::Receiver`].
    pub type Receiver<T> = crate::sync::watch::Receiver<T, Shared>;
    /// The value lent by `borrow`; see [`crate::sync::watch::Ref`].
    pub type Ref<'a, T> = crate::sync::watch::Ref<'a, T, Shared>;

    /// Creates a watch channel holding `init`, whose ends may be on different workers.
    ///
    /// ```
    /// let rt = ringlet::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let (tx, mut rx) = ringlet::sync::shared::watch::channel(0);
    ///     ringlet::spawn_on(1, move || async move { tx.send(5).unwrap() }).await.unwrap();
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 5);
    ///     assert_eq!(rx.read(|v| *v), 5);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn channel<T: Send>(init: T) -> (Sender<T>, Receiver<T>) {
        crate::sync::watch::pair(init)
    }
}

/// Broadcast channels across workers: [`crate::sync::broadcast`]'s types in [`Shared`].
pub mod broadcast {
    use super::Shared;
    pub use crate::sync::broadcast::RecvError;

    /// The sending side; see [`crate::sync::broadcast::Sender`].
    pub type Sender<T> = crate::sync::broadcast::Sender<T, Shared>;
    /// A receiving side; see [`crate::sync::broadcast::Receiver`].
    pub type Receiver<T> = crate::sync::broadcast::Receiver<T, Shared>;

    /// Creates a broadcast channel holding the last `capacity` messages, whose ends may
    /// be on different workers.
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
        crate::sync::broadcast::pair(capacity)
    }
}

//! Cross-worker `Notify`, `Event` and `oneshot`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::semaphore::Semaphore;
use crate::sync::notify::{BarrierState, barrier_wait};
use crate::sync::{BarrierWaitResult, RecvError};

/// [`crate::sync::Notify`] across workers.
pub struct Notify {
    permits: Semaphore,
}

impl Notify {
    /// A `Notify` with no stored notification.
    pub fn new() -> Self {
        Notify {
            permits: Semaphore::with_cap(0, 1),
        }
    }

    /// Waits for a notification.
    pub async fn notified(&self) {
        self.permits.acquire().await.expect("never closed").forget();
    }

    /// Wakes one waiter, or stores a notification for the next one (at most one).
    pub fn notify_one(&self) {
        self.permits.core().notify_one();
    }

    /// Wakes every task waiting now; stores nothing for later ones.
    pub fn notify_waiters(&self) {
        self.permits.core().notify_waiters();
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::Notify").finish_non_exhaustive()
    }
}

/// [`crate::sync::Event`] across workers: `set` wakes every waiter on any worker.
#[derive(Default)]
pub struct Event {
    state: Mutex<(bool, Vec<Waker>)>,
}

impl Event {
    /// An event that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, Vec<Waker>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        let wakers = {
            let mut state = self.lock();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Clears the flag.
    pub fn clear(&self) {
        self.lock().0 = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.lock().0
    }

    /// Waits until the flag is set.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if state.0 {
                return Poll::Ready(());
            }
            if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
                state.1.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::Event")
            .field("set", &self.is_set())
            .finish()
    }
}

/// [`crate::sync::Barrier`] across workers.
pub struct Barrier {
    n: usize,
    state: Mutex<BarrierState>,
}

impl Barrier {
    /// A barrier for `n` tasks (`n` of 0 or 1 never waits).
    pub fn new(n: usize) -> Self {
        Barrier {
            n,
            state: Mutex::new(BarrierState::default()),
        }
    }

    /// Waits until `n` tasks, on any workers, are waiting.
    pub async fn wait(&self) -> BarrierWaitResult {
        barrier_wait(&self.state, self.n).await
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shared::Barrier")
            .field("n", &self.n)
            .finish()
    }
}

/// One-shot channels across workers.
pub mod oneshot {
    use super::*;

    struct Shared<T> {
        value: Option<T>,
        waker: Option<Waker>,
        sender_alive: bool,
        receiver_alive: bool,
    }

    fn lock<T>(shared: &Mutex<Shared<T>>) -> std::sync::MutexGuard<'_, Shared<T>> {
        shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a one-shot channel whose ends may live on different workers.
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
        let shared = Arc::new(Mutex::new(Shared {
            value: None,
            waker: None,
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

    /// Sends the one value.
    pub struct Sender<T> {
        shared: Arc<Mutex<Shared<T>>>,
    }

    impl<T> Sender<T> {
        /// Sends `value`.
        ///
        /// # Errors
        ///
        /// Gives `value` back if the receiver is gone.
        pub fn send(self, value: T) -> Result<(), T> {
            let waker = {
                let mut shared = lock(&self.shared);
                if !shared.receiver_alive {
                    return Err(value);
                }
                shared.value = Some(value);
                shared.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
            Ok(())
        }

        /// Whether the receiver is gone.
        pub fn is_closed(&self) -> bool {
            !lock(&self.shared).receiver_alive
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            let waker = {
                let mut shared = lock(&self.shared);
                shared.sender_alive = false;
                shared.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    impl<T> fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("shared::oneshot::Sender")
                .finish_non_exhaustive()
        }
    }

    /// Receives the one value: a future of `Result<T, RecvError>`.
    pub struct Receiver<T> {
        shared: Arc<Mutex<Shared<T>>>,
    }

    impl<T> Future for Receiver<T> {
        type Output = Result<T, RecvError>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut shared = lock(&self.shared);
            if let Some(value) = shared.value.take() {
                return Poll::Ready(Ok(value));
            }
            if !shared.sender_alive {
                return Poll::Ready(Err(RecvError(())));
            }
            shared.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            lock(&self.shared).receiver_alive = false;
        }
    }

    impl<T> fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("shared::oneshot::Receiver")
                .finish_non_exhaustive()
        }
    }
}

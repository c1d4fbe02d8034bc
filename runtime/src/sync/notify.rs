//! `Notify`, in either flavour: waking tasks without passing data.
//!
//! Owns: [`Notify`], a [`Semaphore`] capped at one stored permit plus the broadcast grant
//! of `notify_waiters` (wait-list rule 5).

use std::fmt;

use super::flavor::{Flavor, Local};
use super::semaphore::Semaphore;

/// Wakes waiting tasks without passing data, like tokio's `Notify`.
///
/// - [`notify_one`](Notify::notify_one) wakes the longest waiter, or, if none waits,
///   stores one notification that the next [`notified`](Notify::notified) consumes at once;
/// - [`notify_waiters`](Notify::notify_waiters) wakes everyone waiting now, storing nothing.
///
/// A waiter notified and then cancelled before it ran passes the notification on to the
/// next waiter: no wake-up is lost.
///
/// ```
/// use std::rc::Rc;
/// use ringlet::sync::Notify;
///
/// ringlet::run(async {
///     let notify = Rc::new(Notify::new());
///     let waiter = {
///         let notify = notify.clone();
///         ringlet::spawn(async move { notify.notified().await })
///     };
///     ringlet::yield_now().await;
///     notify.notify_one();
///     waiter.await.unwrap();
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Notify<F: Flavor = Local> {
    /// Notifications are permits: at most one is stored while nobody waits.
    permits: Semaphore<F>,
}

impl<F: Flavor> Notify<F> {
    /// A `Notify` with no stored notification.
    pub fn new() -> Self {
        Notify {
            permits: Semaphore::with_cap(0, 1),
        }
    }

    /// Waits for a notification.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a waiter notified and then dropped before it ran passes the
    /// notification on to the next waiter.
    pub async fn notified(&self) {
        self.permits.acquire().await.expect("never closed").forget();
    }

    /// Wakes one waiter, or stores a notification for the next one.
    pub fn notify_one(&self) {
        self.permits.core().notify_one();
    }

    /// Wakes every task waiting now; stores nothing for later ones.
    pub fn notify_waiters(&self) {
        self.permits.core().notify_waiters();
    }
}

impl<F: Flavor> Default for Notify<F> {
    fn default() -> Self {
        Notify::new()
    }
}

impl<F: Flavor> fmt::Debug for Notify<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("stored", &self.permits.available_permits())
            .finish()
    }
}

//! `Event`, in either flavour: asyncio's `Event`.
//!
//! Owns: [`Event`], a flag and its waiters in the flavour's cell.

use std::fmt;
use std::task::{Poll, Waker};

use super::flavor::{Flavor, Local};

/// A flag tasks can wait for: `set` wakes every waiter, `clear` resets it.
///
/// ```
/// use std::rc::Rc;
/// use ringlet::sync::Event;
///
/// ringlet::run(async {
///     let ready = Rc::new(Event::new());
///     let waiter = {
///         let ready = ready.clone();
///         ringlet::spawn(async move { ready.wait().await; "went" })
///     };
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "went");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Event<F: Flavor = Local> {
    state: F::Cell<(bool, Vec<Waker>)>,
}

impl<F: Flavor> Default for Event<F> {
    fn default() -> Self {
        Event {
            state: F::cell((false, Vec::new())),
        }
    }
}

impl<F: Flavor> Event<F> {
    /// An event that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        let wakers = {
            let mut state = F::lock(&self.state);
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Clears the flag; later `wait`s wait again.
    pub fn clear(&self) {
        F::lock(&self.state).0 = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        F::lock(&self.state).0
    }

    /// Waits until the flag is set (at once if it is).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: waiting changes nothing; the flag stays as it is.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = F::lock(&self.state);
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

impl<F: Flavor> fmt::Debug for Event<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

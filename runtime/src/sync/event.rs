//! `Event`: asyncio's `Event`, for tasks on one worker.

use std::cell::RefCell;
use std::fmt;
use std::task::{Poll, Waker};

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
#[derive(Default)]
pub struct Event {
    state: RefCell<(bool, Vec<Waker>)>,
}

impl Event {
    /// An event that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        let wakers = {
            let mut state = self.state.borrow_mut();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Clears the flag; later `wait`s wait again.
    pub fn clear(&self) {
        self.state.borrow_mut().0 = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.state.borrow().0
    }

    /// Waits until the flag is set (at once if it is).
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
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
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

//! Time on io_uring timeouts: [`sleep`], [`sleep_until`], [`interval`] and [`timeout`].
//!
//! A pending sleep is an entry in its worker's timer heap: no kernel timer and no timer
//! thread. The worker wakes due sleeps every turn and, when idle, waits in
//! `io_uring_enter` no longer than the nearest deadline. A sleep never ends early.
//!
//! Owns: the timer API (`Sleep`, `Deadline`, registering with the current worker's heap).
//! Must not arm kernel timers per sleep.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::executor::context;

mod interval;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};

/// Waits until `duration` has passed.
///
/// The clock starts when `sleep` is called, not when the future is first polled.
///
/// # Cancel safety
///
/// Cancel safe: dropping a sleep removes its timer entry; nothing else happens.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
///
/// # Cancel safety
///
/// Cancel safe, as [`sleep`].
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        inner: Deadline::new(deadline),
        _not_send: PhantomData,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// It registers with the timers of the worker that polls it; dropping it unregisters.
///
/// # Panics
///
/// Polling it outside a ringlet runtime panics.
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    inner: Deadline,
    _not_send: PhantomData<*const ()>,
}

impl Sleep {
    /// When the sleep ends.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline
    }
}

/// A sleep's registration: which worker's timers, and the key there.
#[derive(Clone, Copy, Debug)]
struct TimerKey {
    worker: usize,
    key: usize,
}

/// Registers a timer with the current worker; `None` outside a runtime.
fn insert_timer(deadline: Instant, waker: std::task::Waker) -> Option<TimerKey> {
    context::with_current(|core| TimerKey {
        worker: core.shared.id(),
        key: core.timers.borrow_mut().insert(deadline, waker),
    })
}

/// Updates the waker of a timer of the current worker; `false` if `timer` belongs to
/// another worker (the caller registers anew).
fn update_timer(timer: TimerKey, waker: &std::task::Waker) -> bool {
    context::with_current(|core| {
        let mine = core.shared.id() == timer.worker;
        if mine {
            core.timers.borrow_mut().set_waker(timer.key, waker);
        }
        mine
    })
    .unwrap_or(false)
}

/// Releases a timer. A timer of a worker that is not current here (its runtime is gone,
/// or another runtime runs on this thread now) dies with that worker.
fn remove_timer(timer: TimerKey) {
    context::with_current(|core| {
        if core.shared.id() == timer.worker {
            core.timers.borrow_mut().remove(timer.key);
        }
    });
}

/// A deadline and its entry in the timers of the worker that last polled it: the state
/// of every sleep future.
pub(crate) struct Deadline {
    deadline: Instant,
    timer: Option<TimerKey>,
}

impl Deadline {
    pub(crate) fn new(deadline: Instant) -> Deadline {
        Deadline {
            deadline,
            timer: None,
        }
    }

    #[cfg_attr(
        not(feature = "compat"),
        expect(dead_code, reason = "only the compat layer uses it")
    )]
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline; the next poll registers it.
    #[cfg_attr(
        not(feature = "compat"),
        expect(dead_code, reason = "only the compat layer uses it")
    )]
    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(timer) = self.timer.take() {
            remove_timer(timer);
        }
    }

    /// Ready once the deadline has passed; until then registered, with the waker of
    /// `cx`, on the current worker. `what` names the caller in the panic outside a
    /// runtime.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, what: &str) -> Poll<()> {
        if Instant::now() >= self.deadline {
            if let Some(timer) = self.timer.take() {
                remove_timer(timer);
            }
            return Poll::Ready(());
        }
        match self.timer {
            Some(timer) if update_timer(timer, cx.waker()) => {}
            _ => {
                let timer = insert_timer(self.deadline, cx.waker().clone())
                    .unwrap_or_else(|| panic!("{what} polled outside a ringlet runtime"));
                if let Some(old) = self.timer.replace(timer) {
                    remove_timer(old);
                }
            }
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            remove_timer(timer);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.poll(cx, "ringlet::time::sleep")
    }
}

/// The error of [`timeout`]: the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(_: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, "deadline has elapsed")
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`].
    #[must_use = "a timeout does nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

/// Runs `future` for at most `duration` (asyncio's `wait_for`). If time runs out first the
/// future is dropped — cancelling its in-flight ops — and the result is `Err(Elapsed)`.
///
/// # Cancel safety
///
/// Dropping it drops `future` (with `future`'s own cancel safety) and its timer. When the
/// time runs out, `future` is dropped the same way: a stream read under a timeout loses no
/// data (see [`TcpStream::read`](crate::net::TcpStream::read)), a write may have sent part
/// of its buffer.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.sleep).poll(cx).map(|()| Err(Elapsed(())))
    }
}

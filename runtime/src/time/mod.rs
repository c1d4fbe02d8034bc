//! Time on io_uring timeouts: [`sleep`], [`sleep_until`], [`interval`] and [`timeout`].
//!
//! A sleep is one `IORING_OP_TIMEOUT` in the kernel: no timer wheel in user space, no
//! timer thread. Dropping a sleep cancels its timeout.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use uring_driver::Op;
use uring_driver::op::Timeout as TimeoutOp;

use crate::executor::worker;

mod interval;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};

/// Waits until `duration` has passed.
///
/// The clock starts when `sleep` is called, not when the future is first polled.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline, op: None }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// # Panics
///
/// Polling it outside a ringlet runtime panics.
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    op: Option<Op<TimeoutOp>>,
}

impl Sleep {
    /// When the sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let op = match &mut self.op {
                Some(op) => op,
                None => {
                    let remaining = self.deadline.saturating_duration_since(Instant::now());
                    if remaining.is_zero() {
                        return Poll::Ready(());
                    }
                    let driver = worker::current_driver()
                        .expect("ringlet::time::sleep polled outside a ringlet runtime");
                    self.op.insert(Op::timeout(&driver, remaining))
                }
            };
            let result: io::Result<()> = std::task::ready!(Pin::new(op).poll(cx));
            self.op = None;
            if result.is_err() {
                // The timer could not be armed (e.g. ENOMEM): let other tasks run, then
                // retry. A sleep never ends early.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // The timer fired: the loop re-checks the clock and re-arms for anything left.
        }
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

//! The runtime glue hyper 1.x asks for: an executor for its background tasks and a timer.
//!
//! Owns: `HyperExecutor`, `HyperTimer`, `HyperSleep`. Must not be used for ringlet's own
//! sleeps: `HyperSleep` is `Send` only because hyper demands it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::time::Deadline;

/// hyper's `Executor`: spawns hyper's background futures (HTTP/2 connection tasks, for
/// instance) as detached tasks on the current worker. Use it inside a ringlet runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperExecutor;

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        // Dropping the handle detaches the task.
        drop(crate::spawn(async move {
            future.await;
        }));
    }
}

/// hyper's `Timer`, on the timers of the worker that polls each sleep (no kernel timer
/// per sleep, as for [`crate::time::sleep`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperTimer;

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep::until(Instant::now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep::until(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => ours.as_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep of [`HyperTimer`]. hyper needs it `Send + Sync`; it registers with the
/// worker that polls it, and a sleep dropped on another thread than that worker's
/// leaves its timer entry to that worker until the worker ends (a few bytes).
pub struct HyperSleep {
    inner: Deadline,
}

impl HyperSleep {
    fn until(deadline: Instant) -> HyperSleep {
        HyperSleep {
            inner: Deadline::new(deadline),
        }
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().inner.reset(deadline);
    }
}

impl fmt::Debug for HyperSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperSleep")
            .field("deadline", &self.inner.deadline())
            .finish()
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().inner.poll(cx, "ringlet::compat::HyperSleep")
    }
}

impl hyper::rt::Sleep for HyperSleep {}

//! `interval`: a sleep that re-arms at a fixed period, with a choice of what to do about
//! missed ticks.
//!
//! Owns: `Interval` and `MissedTickBehavior`. Must not keep a timer of its own: it is a
//! `Sleep` reset each tick.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{Sleep, sleep_until};

/// What an [`Interval`] does when ticks were missed (the task was busy past a deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up (keeps the average rate).
    #[default]
    Burst,
    /// Restart the schedule from now: the next tick is one period after the late one.
    Delay,
    /// Drop the missed ticks: the next tick is the next multiple of the period on the
    /// original schedule.
    Skip,
}

/// Ticks every `period`, starting now (the first tick completes at once).
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// ringlet::run(async {
///     let mut ticks = ringlet::time::interval(Duration::from_millis(5));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "interval period must be greater than zero"
    );
    Interval {
        period,
        behavior: MissedTickBehavior::default(),
        sleep: sleep_until(start),
    }
}

/// The stream of ticks made by [`interval`].
///
/// Cancelling a `tick()` (dropping it) loses nothing: the deadline lives in the
/// `Interval`, so the next `tick()` completes at the same instant.
pub struct Interval {
    period: Duration,
    behavior: MissedTickBehavior,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick; returns the instant it was scheduled for.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the deadline lives in the `Interval`, so the next `tick()` completes at
    /// the same instant.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(Pin::new(&mut self.sleep).poll(cx));
        let scheduled = self.sleep.deadline();
        let now = Instant::now();
        let next = match self.behavior {
            MissedTickBehavior::Burst => scheduled + self.period,
            MissedTickBehavior::Delay => now + self.period,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled);
                let periods = behind.as_nanos() / self.period.as_nanos() + 1;
                scheduled + self.period * u32::try_from(periods).unwrap_or(u32::MAX)
            }
        };
        self.sleep = sleep_until(next);
        Poll::Ready(scheduled)
    }

    /// Sets the missed-tick policy (default [`MissedTickBehavior::Burst`]).
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }

    /// The missed-tick policy.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep = sleep_until(Instant::now() + self.period);
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("behavior", &self.behavior)
            .field("next", &self.sleep.deadline())
            .finish()
    }
}

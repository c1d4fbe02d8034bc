//! `Barrier`, in either flavour: a meeting point for `n` tasks.
//!
//! Owns: [`Barrier`] and [`BarrierWaitResult`]; the round counter and its waiters live in
//! the flavour's cell.

use std::fmt;
use std::task::{Poll, Waker};

use super::flavor::{Flavor, Local};

/// A meeting point: `n` tasks call [`wait`](Barrier::wait), and all continue once the
/// last one arrives. Reusable: the next `n` waits form the next round.
///
/// A waiter cancelled before its round completes is taken out of the count, so the round
/// then waits for someone else instead of releasing early.
///
/// ```
/// use std::rc::Rc;
/// use ringlet::sync::Barrier;
///
/// ringlet::run(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             ringlet::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let leaders = ringlet::task::gather(tasks).await.into_iter().filter(|l| *l.as_ref().unwrap()).count();
///     assert_eq!(leaders, 1);
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Barrier<F: Flavor = Local> {
    n: usize,
    state: F::Cell<BarrierState>,
}

/// A barrier's round: how many arrived, and a counter of completed rounds.
#[derive(Default)]
struct BarrierState {
    arrived: usize,
    round: u64,
    wakers: Vec<Waker>,
}

/// The result of a barrier's `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this waiter completed the round (exactly one per round).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl<F: Flavor> Barrier<F> {
    /// A barrier for `n` tasks (`n` of 0 or 1 never waits).
    pub fn new(n: usize) -> Self {
        Barrier {
            n,
            state: F::cell(BarrierState::default()),
        }
    }

    /// Waits until `n` tasks are waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a waiter dropped before its round completes is taken out of the round's
    /// count, as if it had never arrived.
    pub async fn wait(&self) -> BarrierWaitResult {
        barrier_wait::<F>(&self.state, self.n).await
    }
}

/// The barrier algorithm, over either flavour's guard.
async fn barrier_wait<F: Flavor>(state: &F::Cell<BarrierState>, n: usize) -> BarrierWaitResult {
    let arrival = F::with(state, |s| {
        s.arrived += 1;
        if s.arrived >= n {
            s.arrived = 0;
            s.round += 1;
            Err(std::mem::take(&mut s.wakers))
        } else {
            Ok(s.round)
        }
    });
    let round = match arrival {
        Ok(round) => round,
        Err(wakers) => {
            for waker in wakers {
                waker.wake();
            }
            return BarrierWaitResult(true);
        }
    };
    let mut leave = LeaveOnDrop::<F> {
        state,
        round,
        armed: true,
    };
    std::future::poll_fn(|cx| {
        F::with(state, |s| {
            if s.round != round {
                return Poll::Ready(());
            }
            if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                s.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
    })
    .await;
    leave.armed = false;
    BarrierWaitResult(false)
}

/// Takes a cancelled waiter out of its round's count.
struct LeaveOnDrop<'a, F: Flavor> {
    state: &'a F::Cell<BarrierState>,
    round: u64,
    armed: bool,
}

impl<F: Flavor> Drop for LeaveOnDrop<'_, F> {
    fn drop(&mut self) {
        if self.armed {
            let round = self.round;
            F::with(self.state, |s| {
                if s.round == round {
                    s.arrived -= 1;
                }
            });
        }
    }
}

impl<F: Flavor> fmt::Debug for Barrier<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &F::with(&self.state, |s| s.arrived))
            .finish()
    }
}

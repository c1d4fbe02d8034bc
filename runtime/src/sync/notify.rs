//! `Notify` and `Barrier`: waking and meeting points for tasks on one worker.

use std::cell::RefCell;
use std::fmt;
use std::task::{Poll, Waker};

use super::semaphore::Semaphore;
use super::waitlist::Guard;

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
pub struct Notify {
    /// Notifications are permits: at most one is stored while nobody waits.
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

    /// Wakes one waiter, or stores a notification for the next one.
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
        f.debug_struct("Notify")
            .field("stored", &self.permits.available_permits())
            .finish()
    }
}

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
pub struct Barrier {
    n: usize,
    state: RefCell<BarrierState>,
}

/// A barrier's round: how many arrived, and a counter of completed rounds.
#[derive(Default)]
pub(crate) struct BarrierState {
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

impl Barrier {
    /// A barrier for `n` tasks (`n` of 0 or 1 never waits).
    pub fn new(n: usize) -> Self {
        Barrier {
            n,
            state: RefCell::new(BarrierState::default()),
        }
    }

    /// Waits until `n` tasks are waiting.
    pub async fn wait(&self) -> BarrierWaitResult {
        barrier_wait(&self.state, self.n).await
    }
}

/// The barrier algorithm, over either flavour's guard.
pub(crate) async fn barrier_wait<G: Guard<BarrierState>>(state: &G, n: usize) -> BarrierWaitResult {
    let arrival = state.with(|s| {
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
    let mut leave = LeaveOnDrop {
        state,
        round,
        armed: true,
    };
    std::future::poll_fn(|cx| {
        state.with(|s| {
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
struct LeaveOnDrop<'a, G: Guard<BarrierState>> {
    state: &'a G,
    round: u64,
    armed: bool,
}

impl<G: Guard<BarrierState>> Drop for LeaveOnDrop<'_, G> {
    fn drop(&mut self) {
        if self.armed {
            let round = self.round;
            self.state.with(|s| {
                if s.round == round {
                    s.arrived -= 1;
                }
            });
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &self.state.borrow().arrived)
            .finish()
    }
}

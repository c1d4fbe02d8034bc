//! `spawn_blocking`: run blocking code on a bounded pool of threads.
//!
//! Owns: the blocking pool. Must not run async code on its threads.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use super::JoinError;

/// Most threads the blocking pool runs at once; further jobs wait in its queue.
pub const MAX_BLOCKING_THREADS: usize = 64;
/// How long an idle pool thread waits for work before exiting.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

#[derive(Default)]
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(Pool::default)
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn submit(&'static self, job: Job) {
        let mut state = self.lock();
        state.queue.push_back(job);
        // A woken idle thread counts as idle until it runs, so compare with the queue: more
        // jobs waiting than idle threads to take them means another thread is needed.
        if state.queue.len() <= state.idle || state.threads >= MAX_BLOCKING_THREADS {
            drop(state);
            self.work.notify_one();
        } else {
            state.threads += 1;
            drop(state);
            let spawned = thread::Builder::new()
                .name("ringlet-blocking".into())
                .spawn(move || self.worker());
            if spawned.is_err() {
                // No thread now: the job waits for a running pool thread; with none, the
                // next submit tries again.
                self.lock().threads -= 1;
            }
        }
    }

    fn worker(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job();
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, IDLE_TIMEOUT)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

struct Shared<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs `f` on the blocking thread pool (at most [`MAX_BLOCKING_THREADS`] threads) and
/// returns a future of its result. Use it for blocking syscalls, CPU-heavy work or
/// libraries without async APIs, so the worker stays free for I/O.
///
/// Dropping the handle does not stop `f` (blocking code cannot be interrupted); its result
/// is discarded.
///
/// ```
/// let n = ringlet::run(async {
///     ringlet::task::spawn_blocking(|| (1..=10u64).product::<u64>()).await
/// })?;
/// assert_eq!(n.unwrap(), 3_628_800);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Cancel safety
///
/// Dropping the handle does not stop `f` (blocking code cannot be interrupted); its result
/// is discarded.
pub fn spawn_blocking<F, T>(f: F) -> BlockingHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let shared = Arc::new(Mutex::new(Shared {
        result: None,
        waker: None,
    }));
    let done = shared.clone();
    pool().submit(Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f));
        let mut shared = done.lock().unwrap_or_else(|e| e.into_inner());
        shared.result = Some(result);
        if let Some(waker) = shared.waker.take() {
            drop(shared);
            waker.wake();
        }
    }));
    BlockingHandle { shared }
}

/// The future of [`spawn_blocking`]: `Ok(output)`, or `Err(JoinError::Panicked)`.
#[must_use = "dropping a BlockingHandle discards the result"]
pub struct BlockingHandle<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> Future for BlockingHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        match shared.result.take() {
            Some(Ok(value)) => Poll::Ready(Ok(value)),
            Some(Err(payload)) => Poll::Ready(Err(JoinError::Panicked(payload))),
            None => {
                match &shared.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => shared.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for BlockingHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingHandle").finish_non_exhaustive()
    }
}

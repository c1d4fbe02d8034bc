//! The task cell's state machine without a worker or a ring: tasks are run by draining
//! the remote queue by hand (the eventfd wake-up is a plain `write`). Runs under Miri,
//! which checks the `unsafe` in `raw.rs`: aliasing of the stage, pinning, and races between
//! wakers on other threads and the owner.

use std::collections::VecDeque;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use super::*;
use crate::executor::join::JoinHandle;

/// A worker's shared half, made the owner of this thread for the test (the guard is
/// leaked: each test runs on its own thread).
fn new_shared() -> Arc<Shared> {
    let shared = Shared::new(None, false, None).expect("eventfd").0;
    std::mem::forget(local::OwnerGuard::new(shared.id()));
    shared
}

fn spawn<F: Future + 'static>(
    shared: &Arc<Shared>,
    future: F,
) -> (Arc<TaskCell<F>>, JoinHandle<F::Output>) {
    let cell = TaskCell::new(
        future,
        shared.clone(),
        0,
        super::super::task_info::TaskInfo::here(),
    );
    cell.schedule();
    (cell.clone(), JoinHandle::new(cell))
}

/// Runs every queued task once; returns how many ran.
fn run_queued(shared: &Shared) -> usize {
    let mut local = VecDeque::new();
    let jobs = shared.drain_into(&mut local);
    assert!(jobs.is_empty());
    let ran = local.len();
    for task in local {
        task.run();
    }
    ran
}

fn poll_join<T>(handle: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(Waker::noop()))
}

/// Pending until `ready_after` polls; checks in `Drop` that it was never moved after
/// its first poll.
struct Pinned {
    at: usize,
    polls: usize,
    ready_after: usize,
    moved: Arc<AtomicBool>,
    drops: Arc<AtomicUsize>,
    _pin: PhantomPinned,
}

impl Pinned {
    fn new(ready_after: usize) -> (Self, Arc<AtomicBool>, Arc<AtomicUsize>) {
        let moved = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(AtomicUsize::new(0));
        let me = Pinned {
            at: 0,
            polls: 0,
            ready_after,
            moved: moved.clone(),
            drops: drops.clone(),
            _pin: PhantomPinned,
        };
        (me, moved, drops)
    }
}

impl Future for Pinned {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        // SAFETY: only the address is recorded; nothing moves out.
        let this = unsafe { self.get_unchecked_mut() };
        this.at = this as *mut Pinned as usize;
        this.polls += 1;
        if this.polls >= this.ready_after {
            return Poll::Ready(this.polls);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if self.at != 0 && self.at != self as *mut Pinned as usize {
            self.moved.store(true, Ordering::SeqCst);
        }
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn completes_and_drops_the_future_in_place() {
    let shared = new_shared();
    let (future, moved, drops) = Pinned::new(3);
    let (_cell, mut handle) = spawn(&shared, future);
    assert!(poll_join(&mut handle).is_pending());
    while run_queued(&shared) > 0 {}
    assert_eq!(poll_join(&mut handle).map(Result::unwrap), Poll::Ready(3));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(!moved.load(Ordering::SeqCst));
    assert!(handle.is_finished());
}

#[test]
fn cancel_drops_the_future_in_place() {
    let shared = new_shared();
    let (future, moved, drops) = Pinned::new(usize::MAX);
    let (_cell, mut handle) = spawn(&shared, future);
    run_queued(&shared);
    assert!(handle.cancel());
    while run_queued(&shared) > 0 {}
    assert!(matches!(
        poll_join(&mut handle),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(!moved.load(Ordering::SeqCst));
    assert!(!handle.cancel(), "cancelling a finished task reports false");
}

#[test]
fn shutdown_drops_pending_futures_in_place_detached_or_not() {
    for detach in [false, true] {
        let shared = new_shared();
        let (future, moved, drops) = Pinned::new(usize::MAX);
        let (cell, handle) = spawn(&shared, future);
        run_queued(&shared);
        let handle = if detach {
            drop(handle);
            None
        } else {
            Some(handle)
        };
        cell.shutdown();
        assert_eq!(drops.load(Ordering::SeqCst), 1, "detach {detach}");
        assert!(!moved.load(Ordering::SeqCst), "detach {detach}");
        if let Some(mut handle) = handle {
            assert!(matches!(
                poll_join(&mut handle),
                Poll::Ready(Err(JoinError::Cancelled))
            ));
        }
        // A queued run after shutdown finds the task complete.
        while run_queued(&shared) > 0 {}
    }
}

#[test]
fn panics_in_poll_and_in_drop_are_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("in drop");
        }
    }
    let shared = new_shared();
    let (_cell, mut handle) = spawn(&shared, async { panic!("in poll") });
    run_queued(&shared);
    match poll_join(&mut handle) {
        Poll::Ready(Err(error)) => assert_eq!(error.panic_message(), Some("in poll")),
        _ => panic!("the panic was not reported"),
    }
    // A destructor panicking while the cancelled future is dropped in place.
    let (_cell, mut handle) = spawn(&shared, async {
        let _guard = PanicOnDrop;
        std::future::pending::<()>().await;
    });
    run_queued(&shared);
    assert!(handle.cancel());
    while run_queued(&shared) > 0 {}
    assert!(matches!(
        poll_join(&mut handle),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
}

#[test]
fn detached_output_is_dropped_on_completion() {
    let shared = new_shared();
    let dropped = Arc::new(AtomicBool::new(false));
    struct Output(Arc<AtomicBool>);
    impl Drop for Output {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = dropped.clone();
    let (_cell, handle) = spawn(&shared, async move { Output(flag) });
    drop(handle);
    run_queued(&shared);
    assert!(dropped.load(Ordering::SeqCst));
}

/// Wakers on other threads race the owner running the task: each wake is seen (the
/// task runs again), a task is queued at most once at a time, and nothing is touched
/// after completion.
#[test]
fn wakes_from_other_threads_race_the_owner() {
    let shared = new_shared();
    let rounds = if cfg!(miri) { 20 } else { 2_000 };
    let waker_slot: Arc<std::sync::Mutex<Option<Waker>>> = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let (slot, seen_in_task) = (waker_slot.clone(), seen.clone());
    let (_cell, mut handle) = spawn(
        &shared,
        std::future::poll_fn(move |cx| {
            let n = seen_in_task.fetch_add(1, Ordering::SeqCst);
            *slot.lock().unwrap() = Some(cx.waker().clone());
            if n >= rounds {
                Poll::Ready(n)
            } else {
                Poll::Pending
            }
        }),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let wakers: Vec<_> = (0..2)
        .map(|_| {
            let (slot, stop) = (waker_slot.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let waker = slot.lock().unwrap().clone();
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    let result = loop {
        if let Poll::Ready(result) = poll_join(&mut handle) {
            break result;
        }
        let ran = run_queued(&shared);
        assert!(ran <= 1, "a task queued twice");
        std::thread::yield_now();
    };
    stop.store(true, Ordering::SeqCst);
    for thread in wakers {
        thread.join().unwrap();
    }
    assert_eq!(result.unwrap(), rounds);
    while run_queued(&shared) > 0 {}
    // The last waker (on this thread now) dropping the cell drops an empty stage.
    waker_slot.lock().unwrap().take();
}

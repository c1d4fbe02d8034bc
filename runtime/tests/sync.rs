//! Local Mutex and Semaphore: exclusion, FIFO order, closing, and cancellation safety.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ringlet::sync::{Mutex, Semaphore, TryAcquireError};
use ringlet::task::{gather, select};
use ringlet::time::sleep;
use ringlet::{spawn, yield_now};

/// One worker: these primitives are for tasks that share a worker.
fn run<F: Future>(f: F) -> F::Output {
    ringlet::Runtime::builder()
        .workers(1)
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn mutex_excludes_across_awaits_under_contention() {
    run(async {
        let state = Rc::new(Mutex::new(0u64));
        let inside = Rc::new(Cell::new(0));
        let max_inside = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..500)
            .map(|i| {
                let (state, inside, max_inside) =
                    (state.clone(), inside.clone(), max_inside.clone());
                spawn(async move {
                    let mut guard = state.lock().await;
                    inside.set(inside.get() + 1);
                    max_inside.set(max_inside.get().max(inside.get()));
                    let seen = *guard;
                    if i % 3 == 0 {
                        sleep(Duration::from_micros(50)).await;
                    } else {
                        yield_now().await;
                    }
                    *guard = seen + 1;
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        for t in gather(tasks).await {
            t.unwrap();
        }
        assert_eq!(*state.lock().await, 500, "no lost update");
        assert_eq!(max_inside.get(), 1, "never two holders at once");
    });
}

#[test]
fn mutex_hands_off_in_arrival_order() {
    run(async {
        let lock = Rc::new(Mutex::new(Vec::new()));
        let first = lock.lock().await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let lock = lock.clone();
                spawn(async move { lock.lock().await.push(i) })
            })
            .collect();
        yield_now().await; // all queue behind `first`, in spawn order
        assert!(lock.try_lock().is_none());
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock.lock().await, (0..20).collect::<Vec<_>>());
    });
}

#[test]
fn semaphore_caps_concurrency() {
    run(async {
        let limit = Rc::new(Semaphore::new(3));
        let running = Rc::new(Cell::new(0));
        let peak = Rc::new(Cell::new(0));
        let jobs = (0..30).map(|i| {
            let (limit, running, peak) = (limit.clone(), running.clone(), peak.clone());
            async move {
                let _permit = limit.acquire().await.unwrap();
                running.set(running.get() + 1);
                peak.set(peak.get().max(running.get()));
                sleep(Duration::from_millis(1 + i % 3)).await;
                running.set(running.get() - 1);
            }
        });
        gather(jobs).await;
        assert_eq!(peak.get(), 3);
        assert_eq!(limit.available_permits(), 3);
    });
}

#[test]
fn a_large_request_is_not_overtaken_by_small_ones() {
    run(async {
        let sem = Rc::new(Semaphore::new(2));
        let order = Rc::new(RefCell::new(Vec::new()));
        let held = sem.acquire_many(2).await.unwrap();
        let big = {
            let (sem, order) = (sem.clone(), order.clone());
            spawn(async move {
                let _p = sem.acquire_many(2).await.unwrap();
                order.borrow_mut().push("big");
            })
        };
        yield_now().await;
        let small = {
            let (sem, order) = (sem.clone(), order.clone());
            spawn(async move {
                let _p = sem.acquire().await.unwrap();
                order.borrow_mut().push("small");
            })
        };
        yield_now().await;
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(held);
        big.await.unwrap();
        small.await.unwrap();
        assert_eq!(*order.borrow(), ["big", "small"]);
    });
}

#[test]
fn closing_wakes_waiters_with_an_error() {
    run(async {
        let sem = Rc::new(Semaphore::new(0));
        let waiter = {
            let sem = sem.clone();
            spawn(async move { sem.acquire().await.map(drop) })
        };
        yield_now().await;
        sem.close();
        assert!(waiter.await.unwrap().is_err());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        assert!(sem.acquire().await.is_err());
    });
}

#[test]
fn a_granted_but_dropped_waiter_passes_its_permit_on() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut a = Box::pin(sem.acquire());
    let mut b = Box::pin(sem.acquire());
    assert!(a.as_mut().poll(&mut cx).is_pending());
    assert!(b.as_mut().poll(&mut cx).is_pending());
    drop(held); // granted to `a`, which is never polled again
    drop(a);
    match b.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(permit)) => drop(permit),
        other => panic!("the permit was lost: {other:?}"),
    }
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn cancelling_waiters_at_random_points_never_loses_a_permit() {
    // xorshift with a fixed seed: a failure replays exactly.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let plans: Vec<(u64, u64, usize)> = (0..400)
        .map(|_| (next() % 300, next() % 300, 1 + (next() % 3) as usize))
        .collect();
    run(async move {
        let sem = Rc::new(Semaphore::new(4));
        let acquired = Rc::new(Cell::new(0u32));
        let jobs = plans.into_iter().map(|(give_up_us, hold_us, n)| {
            let (sem, acquired) = (sem.clone(), acquired.clone());
            async move {
                let attempt = async {
                    let permit = sem.acquire_many(n).await.unwrap();
                    acquired.set(acquired.get() + 1);
                    sleep(Duration::from_micros(hold_us)).await;
                    drop(permit);
                };
                // Give up after a random time: the acquire (or the hold) is dropped
                // wherever it is.
                let _ = select(sleep(Duration::from_micros(give_up_us)), pin!(attempt)).await;
            }
        });
        gather(jobs).await;
        assert_eq!(sem.available_permits(), 4, "every permit came back");
        assert!(acquired.get() > 0, "some attempts got through");
        // And the semaphore still works for a full-width request.
        let all = sem.try_acquire_many(4).unwrap();
        assert_eq!(all.num_permits(), 4);
    });
}

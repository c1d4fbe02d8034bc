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

#[test]
fn rwlock_shares_reads_excludes_writes_and_does_not_starve_writers() {
    use ringlet::sync::RwLock;
    run(async {
        let lock = Rc::new(RwLock::new(0u32));
        let readers_in = Rc::new(Cell::new(0));
        let peak_readers = Rc::new(Cell::new(0));
        let readers: Vec<_> = (0..10)
            .map(|_| {
                let (lock, readers_in, peak) =
                    (lock.clone(), readers_in.clone(), peak_readers.clone());
                spawn(async move {
                    let guard = lock.read().await;
                    readers_in.set(readers_in.get() + 1);
                    peak.set(peak.get().max(readers_in.get()));
                    sleep(Duration::from_millis(5)).await;
                    readers_in.set(readers_in.get() - 1);
                    *guard
                })
            })
            .collect();
        yield_now().await;
        // A writer queues behind the readers...
        let writer = {
            let (lock, readers_in) = (lock.clone(), readers_in.clone());
            spawn(async move {
                let mut guard = lock.write().await;
                assert_eq!(readers_in.get(), 0, "a writer never overlaps a reader");
                *guard = 42;
            })
        };
        yield_now().await;
        // ...and a reader arriving after it waits for it (no writer starvation).
        assert!(lock.try_read().is_none());
        let late_reader = {
            let lock = lock.clone();
            spawn(async move { *lock.read().await })
        };
        for r in gather(readers).await {
            assert_eq!(r.unwrap(), 0);
        }
        writer.await.unwrap();
        assert_eq!(late_reader.await.unwrap(), 42);
        assert!(peak_readers.get() > 1, "readers shared the lock");
    });
}

#[test]
fn notify_stores_one_wakes_all_and_passes_on_a_cancelled_notification() {
    use ringlet::sync::Notify;
    run(async {
        let notify = Rc::new(Notify::new());
        notify.notify_one();
        notify.notify_one(); // at most one is stored
        notify.notified().await;
        let mut cx = Context::from_waker(Waker::noop());
        let mut pending = Box::pin(notify.notified());
        assert!(
            pending.as_mut().poll(&mut cx).is_pending(),
            "only one was stored"
        );
        drop(pending);

        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let notify = notify.clone();
                spawn(async move { notify.notified().await })
            })
            .collect();
        yield_now().await;
        notify.notify_waiters();
        for w in gather(waiters).await {
            w.unwrap();
        }
        let mut later = Box::pin(notify.notified());
        assert!(
            later.as_mut().poll(&mut cx).is_pending(),
            "notify_waiters stores nothing"
        );

        // Notified, then cancelled before it ran: the next waiter gets it.
        let mut next = Box::pin(notify.notified());
        assert!(next.as_mut().poll(&mut cx).is_pending());
        notify.notify_one(); // goes to `later`, first in line
        drop(later);
        assert!(
            next.as_mut().poll(&mut cx).is_ready(),
            "the notification was passed on"
        );
    });
}

#[test]
fn barrier_releases_rounds_with_one_leader_and_discounts_cancelled_waiters() {
    use ringlet::sync::Barrier;
    run(async {
        let barrier = Rc::new(Barrier::new(3));
        for _round in 0..3 {
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let barrier = barrier.clone();
                    spawn(async move { barrier.wait().await.is_leader() })
                })
                .collect();
            let leaders = gather(tasks)
                .await
                .into_iter()
                .filter(|l| *l.as_ref().unwrap())
                .count();
            assert_eq!(leaders, 1);
        }
        // Two arrive, one of them gives up: the third arrival must not release the round.
        let mut cx = Context::from_waker(Waker::noop());
        let mut a = Box::pin(barrier.wait());
        let mut b = Box::pin(barrier.wait());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        drop(b);
        let mut c = Box::pin(barrier.wait());
        assert!(
            c.as_mut().poll(&mut cx).is_pending(),
            "released with a cancelled waiter"
        );
        let d = barrier.wait().await;
        assert!(d.is_leader());
        assert!(a.as_mut().poll(&mut cx).is_ready());
        assert!(c.as_mut().poll(&mut cx).is_ready());
    });
}

#[test]
fn watch_shows_the_latest_value_and_reports_a_gone_sender() {
    use ringlet::sync::watch;
    run(async {
        let (tx, mut rx) = watch::channel(0);
        for i in 1..=5 {
            tx.send(i).unwrap();
        }
        rx.changed().await.unwrap();
        assert_eq!(
            *rx.borrow_and_update(),
            5,
            "only the latest value, no backlog"
        );
        let mut other = rx.clone(); // has seen 5 too
        let waiter = spawn(async move {
            other.changed().await.unwrap();
            let seen = *other.borrow_and_update();
            (seen, other.changed().await.is_err())
        });
        yield_now().await;
        tx.send_modify(|v| *v += 10);
        yield_now().await;
        drop(tx);
        assert_eq!(waiter.await.unwrap(), (15, true));
        assert!(rx.changed().await.is_ok(), "the 15 not yet seen by rx");
        assert!(rx.changed().await.is_err(), "then the sender is gone");
    });
}

#[test]
fn a_task_panicking_while_holding_a_lock_releases_it_unpoisoned() {
    run(async {
        let m = Rc::new(Mutex::new(0));
        let holder = {
            let m = m.clone();
            spawn(async move {
                let mut guard = m.lock().await;
                *guard += 1;
                yield_now().await;
                panic!("boom while holding the lock");
            })
        };
        yield_now().await; // the holder takes the lock
        let waiter = {
            let m = m.clone();
            spawn(async move { *m.lock().await += 10 })
        };
        let err = holder.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("boom while holding the lock"));
        // Unwinding dropped the guard: the queued waiter gets the lock, and the value
        // written before the panic stays (no poisoning, as with tokio's Mutex).
        waiter.await.unwrap();
        assert_eq!(*m.lock().await, 11);
    });
}

#[test]
fn a_task_panicking_while_holding_a_shared_lock_releases_it() {
    let rt = ringlet::Runtime::builder().workers(2).build().unwrap();
    let m = std::sync::Arc::new(ringlet::sync::shared::Mutex::new(0));
    rt.block_on(async {
        let holder = {
            let m = m.clone();
            ringlet::spawn_on(1, move || async move {
                let mut guard = m.lock().await;
                *guard += 1;
                panic!("boom on worker 1");
            })
        };
        let err = holder.await.unwrap_err();
        assert!(err.is_panic());
        *m.lock().await += 10;
        assert_eq!(*m.lock().await, 11);
    });
}

#[test]
fn try_acquire_owned_takes_a_permit_that_moves_into_a_task_on_both_flavours() {
    use std::sync::Arc;
    ringlet::run(async {
        let local = Rc::new(Semaphore::new(1));
        let permit = local.clone().try_acquire_owned().unwrap();
        assert!(matches!(
            local.clone().try_acquire_owned(),
            Err(TryAcquireError::NoPermits)
        ));
        ringlet::spawn(async move { drop(permit) }).await.unwrap();
        drop(local.clone().try_acquire_owned().unwrap());
        local.close();
        assert!(matches!(
            local.try_acquire_owned(),
            Err(TryAcquireError::Closed)
        ));

        let shared = Arc::new(ringlet::sync::shared::Semaphore::new(1));
        let permit = shared.clone().try_acquire_owned().unwrap();
        assert!(shared.clone().try_acquire_owned().is_err());
        std::thread::spawn(move || drop(permit)).join().unwrap();
        assert_eq!(shared.available_permits(), 1);
    })
    .unwrap();
}

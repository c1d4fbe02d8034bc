//! Cross-worker Mutex, Semaphore, Notify, Event and oneshot, used from two workers.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ringlet::sync::shared::{Event, Mutex, Notify, Semaphore, oneshot};
use ringlet::task::{gather, select};
use ringlet::time::sleep;
use ringlet::{Runtime, spawn_on, yield_now};

fn two_workers() -> Runtime {
    Runtime::builder().workers(2).build().unwrap()
}

#[test]
fn shared_mutex_excludes_across_workers() {
    two_workers().block_on(async {
        let counter = Arc::new(Mutex::new(0u64));
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|worker| {
                let (counter, inside, peak) = (counter.clone(), inside.clone(), peak.clone());
                spawn_on(worker, move || async move {
                    for i in 0..300u32 {
                        let mut guard = counter.lock().await;
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        let seen = *guard;
                        if i % 10 == 0 {
                            sleep(Duration::from_micros(100)).await;
                        } else {
                            yield_now().await;
                        }
                        *guard = seen + 1;
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in gather(handles).await {
            h.unwrap();
        }
        assert_eq!(*counter.lock().await, 600, "no lost update across workers");
        assert_eq!(peak.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn shared_semaphore_caps_and_survives_random_cancellation_across_workers() {
    two_workers().block_on(async {
        let sem = Arc::new(Semaphore::new(3));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let got = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2u64)
            .map(|worker| {
                let (sem, in_flight, peak, got) =
                    (sem.clone(), in_flight.clone(), peak.clone(), got.clone());
                spawn_on(worker as usize, move || async move {
                    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (worker + 1);
                    for _ in 0..300 {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let (give_up, hold) = (seed % 200, (seed >> 8) % 200);
                        let attempt = async {
                            let _permit = sem.acquire().await.unwrap();
                            got.fetch_add(1, Ordering::SeqCst);
                            // Counted while the permit is held, even if cancelled here.
                            let _held = InFlight::enter(&in_flight, &peak);
                            sleep(Duration::from_micros(hold)).await;
                        };
                        // Cancelled at a random point: while queued, or while holding.
                        let _ = select(sleep(Duration::from_micros(give_up)), pin!(attempt)).await;
                    }
                })
            })
            .collect();
        for h in gather(handles).await {
            h.unwrap();
        }
        assert_eq!(sem.available_permits(), 3, "every permit came back");
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(got.load(Ordering::SeqCst) > 0);
    });
}

#[test]
fn notify_event_and_oneshot_cross_workers() {
    two_workers().block_on(async {
        let notify = Arc::new(Notify::new());
        let event = Arc::new(Event::new());
        let (tx, rx) = oneshot::channel();
        let remote = {
            let (notify, event) = (notify.clone(), event.clone());
            spawn_on(1, move || async move {
                notify.notified().await;
                event.wait().await;
                tx.send(ringlet::worker_index()).unwrap();
            })
        };
        sleep(Duration::from_millis(10)).await;
        notify.notify_one();
        event.set();
        assert_eq!(rx.await, Ok(Some(1)));
        remote.await.unwrap();

        let (tx, rx) = oneshot::channel::<u8>();
        spawn_on(1, move || async move { drop(tx) }).await.unwrap();
        assert!(rx.await.is_err(), "a dropped sender is reported");
    });
}

/// Counts itself in `in_flight` (and the peak) until dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(in_flight: &'a AtomicUsize, peak: &AtomicUsize) -> Self {
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        InFlight(in_flight)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn shared_rwlock_barrier_broadcast_and_watch_across_workers() {
    use ringlet::sync::shared::{Barrier, RwLock, broadcast, watch};
    two_workers().block_on(async {
        // RwLock: a writer on worker 1, readers on worker 0.
        let lock = Arc::new(RwLock::new(0u32));
        let writer = {
            let lock = lock.clone();
            spawn_on(1, move || async move {
                for _ in 0..100 {
                    *lock.write().await += 1;
                    yield_now().await;
                }
            })
        };
        let mut last = 0;
        while !writer.is_finished() {
            let now = *lock.read().await;
            assert!(now >= last, "reads never go backwards");
            last = now;
            yield_now().await;
        }
        writer.await.unwrap();
        assert_eq!(*lock.read().await, 100);

        // Barrier: one task per worker meets; exactly one leader.
        let barrier = Arc::new(Barrier::new(2));
        let remote = {
            let barrier = barrier.clone();
            spawn_on(1, move || async move { barrier.wait().await.is_leader() })
        };
        let here = barrier.wait().await.is_leader();
        assert!(here ^ remote.await.unwrap(), "exactly one leader");

        // broadcast: a receiver on each worker gets every message.
        let (tx, mut rx) = broadcast::channel(16);
        let mut remote_rx = tx.subscribe();
        let remote = spawn_on(1, move || async move {
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(remote_rx.recv().await.unwrap());
            }
            got
        });
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        assert_eq!(remote.await.unwrap(), [0, 1, 2]);
        for i in 0..3 {
            assert_eq!(rx.recv().await, Ok(i));
        }

        // watch: a value set on worker 1 is seen on worker 0.
        let (wtx, mut wrx) = watch::channel("init");
        spawn_on(1, move || async move {
            wtx.send("from worker 1").unwrap();
        })
        .await
        .unwrap();
        wrx.changed().await.unwrap();
        assert_eq!(wrx.read_and_update(|v| *v), "from worker 1");
        assert!(wrx.changed().await.is_err(), "the sender is gone");
    });
}

//! Local channels and Event: order, backpressure, closing, and cancellation safety.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use ringlet::sync::mpsc;
use ringlet::sync::{Event, RecvError, SendError, TrySendError, broadcast, oneshot};
use ringlet::task::{Either, gather, select};
use ringlet::time::sleep;
use ringlet::{spawn, yield_now};

fn run<F: Future>(f: F) -> F::Output {
    ringlet::Runtime::builder()
        .workers(1)
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn oneshot_delivers_and_reports_closed_sides() {
    run(async {
        let (tx, rx) = oneshot::channel();
        spawn(async move { tx.send(7).unwrap() }).await.unwrap();
        assert_eq!(rx.await, Ok(7));

        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        let err: RecvError = rx.await.unwrap_err();
        assert_eq!(err.to_string(), "channel closed: the sender is gone");

        let (tx, rx) = oneshot::channel();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send("back"), Err("back"));
    });
}

#[test]
fn bounded_channel_keeps_order_and_applies_backpressure() {
    run(async {
        let (tx, mut rx) = mpsc::channel(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        let blocked = {
            let tx = tx.clone();
            spawn(async move { tx.send(3).await })
        };
        yield_now().await;
        assert!(!blocked.is_finished(), "a full channel makes send wait");
        assert_eq!(rx.recv().await, Some(1));
        blocked.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        drop(tx);
        assert_eq!(rx.recv().await, None, "all senders gone, queue drained");
    });
}

#[test]
fn many_producers_deliver_every_message_exactly_once() {
    run(async {
        let (tx, mut rx) = mpsc::channel(16);
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let tx = tx.clone();
                spawn(async move {
                    for i in 0..25_000u64 {
                        tx.send(p * 1_000_000 + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut last = [None::<u64>; 4];
        let mut count = 0;
        while let Some(v) = rx.recv().await {
            let (p, i) = ((v / 1_000_000) as usize, v % 1_000_000);
            assert!(
                last[p].is_none_or(|l| l + 1 == i),
                "producer {p} out of order"
            );
            last[p] = Some(i);
            count += 1;
        }
        assert_eq!(count, 100_000);
        for p in gather(producers).await {
            p.unwrap();
        }
    });
}

#[test]
fn a_dropped_receiver_fails_senders_with_their_message() {
    run(async {
        let (tx, rx) = mpsc::channel(1);
        tx.send("queued").await.unwrap();
        let waiting = {
            let tx = tx.clone();
            spawn(async move { tx.send("waiting").await })
        };
        yield_now().await;
        drop(rx);
        assert_eq!(waiting.await.unwrap(), Err(SendError("waiting")));
        assert!(tx.is_closed());
        assert!(matches!(
            tx.try_send("late"),
            Err(TrySendError::Closed("late"))
        ));

        let (utx, urx) = mpsc::unbounded_channel();
        utx.send(1).unwrap();
        drop(urx);
        assert_eq!(utx.send(2), Err(SendError(2)));
    });
}

#[test]
fn unbounded_send_never_waits() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 10_000);
        drop(tx);
        let mut n = 0;
        while let Some(i) = rx.recv().await {
            assert_eq!(i, n);
            n += 1;
        }
        assert_eq!(n, 10_000);
    });
}

#[test]
fn a_cancelled_recv_loses_no_message() {
    run(async {
        let (tx, mut rx) = mpsc::channel(4);
        let producer = spawn(async move {
            for i in 0..2_000u32 {
                if i % 7 == 0 {
                    sleep(Duration::from_micros(200)).await;
                }
                tx.send(i).await.unwrap();
            }
        });
        let mut expected = 0;
        let mut timeouts = 0;
        loop {
            match select(pin!(rx.recv()), sleep(Duration::from_micros(50))).await {
                Either::Left(Some(i)) => {
                    assert_eq!(i, expected, "a message was lost or reordered");
                    expected += 1;
                }
                Either::Left(None) => break,
                Either::Right(()) => timeouts += 1, // recv dropped mid-wait
            }
        }
        assert_eq!(expected, 2_000);
        assert!(timeouts > 0, "the race did cancel some receives");
        producer.await.unwrap();
    });
}

#[test]
fn event_wakes_every_waiter_and_can_be_cleared() {
    run(async {
        let event = Rc::new(Event::new());
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let event = event.clone();
                spawn(async move { event.wait().await })
            })
            .collect();
        yield_now().await;
        assert!(waiters.iter().all(|w| !w.is_finished()));
        event.set();
        for w in gather(waiters).await {
            w.unwrap();
        }
        assert!(event.is_set());
        event.wait().await; // set: returns at once
        event.clear();
        assert!(!event.is_set());
        let late = {
            let event = event.clone();
            spawn(async move { event.wait().await })
        };
        yield_now().await;
        assert!(!late.is_finished());
        event.set();
        late.await.unwrap();
    });
}

#[test]
fn broadcast_reaches_every_receiver_and_reports_lag() {
    run(async {
        let (tx, mut early) = broadcast::channel(4);
        tx.send(1).unwrap();
        let mut late = tx.subscribe(); // sees only what comes next
        for i in 2..=7 {
            assert_eq!(tx.send(i).unwrap(), 2, "two receivers");
        }
        // `early` missed 1..=3 (capacity 4 keeps 4..=7).
        assert_eq!(early.recv().await, Err(broadcast::RecvError::Lagged(3)));
        for i in 4..=7 {
            assert_eq!(early.recv().await, Ok(i));
        }
        // `late` subscribed before 2 but 2 and 3 were overwritten too.
        assert_eq!(late.recv().await, Err(broadcast::RecvError::Lagged(2)));
        assert_eq!(late.recv().await, Ok(4));
        drop(tx);
        for i in 5..=7 {
            assert_eq!(late.recv().await, Ok(i));
        }
        assert_eq!(late.recv().await, Err(broadcast::RecvError::Closed));
    });
}

#[test]
fn broadcast_wakes_waiting_receivers_and_refuses_without_receivers() {
    run(async {
        let (tx, rx) = broadcast::channel::<u32>(8);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = tx.subscribe();
                spawn(async move { rx.recv().await })
            })
            .collect();
        drop(rx);
        yield_now().await;
        tx.send(42).unwrap();
        for w in gather(waiters).await {
            assert_eq!(w.unwrap(), Ok(42));
        }
        assert_eq!(tx.receiver_count(), 0);
        assert_eq!(tx.send(1), Err(SendError(1)));
    });
}

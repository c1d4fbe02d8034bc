//! Cross-worker mpsc: messages between workers, none lost or duplicated.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ringlet::sync::shared::mpsc;
use ringlet::sync::{SendError, TrySendError};
use ringlet::{Runtime, spawn_on};

#[test]
fn a_million_messages_cross_workers_exactly_once_in_order() {
    const N: u64 = 1_000_000;
    let rt = Runtime::builder().workers(2).build().unwrap();
    let start = Instant::now();
    let (count, sum) = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(1024);
        let producer = spawn_on(1, move || async move {
            assert_eq!(ringlet::worker_index(), Some(1));
            for i in 0..N {
                tx.send(i).await.unwrap();
            }
        });
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(i) = rx.recv().await {
            assert_eq!(i, count, "lost, duplicated or reordered");
            count += 1;
            sum += i;
        }
        producer.await.unwrap();
        (count, sum)
    });
    assert_eq!(count, N);
    assert_eq!(sum, N * (N - 1) / 2);
    eprintln!("{N} cross-worker messages in {:?}", start.elapsed());
}

#[test]
fn producers_on_every_worker_keep_their_own_order() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let remote = {
            let tx = tx.clone();
            spawn_on(1, move || async move {
                for i in 0..10_000u32 {
                    tx.send((1u8, i)).await.unwrap();
                }
            })
        };
        let local = ringlet::spawn(async move {
            for i in 0..10_000u32 {
                tx.send((0u8, i)).await.unwrap();
            }
        });
        let mut next = [0u32; 2];
        while let Some((p, i)) = rx.recv().await {
            assert_eq!(i, next[p as usize]);
            next[p as usize] += 1;
        }
        assert_eq!(next, [10_000, 10_000]);
        remote.await.unwrap();
        local.await.unwrap();
    });
}

#[test]
fn closed_sides_report_and_hand_the_message_back() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = mpsc::channel(1);
        tx.send(1).await.unwrap();
        let waiting = {
            let tx = tx.clone();
            spawn_on(1, move || async move { tx.send(2).await })
        };
        // Let the remote sender queue up behind the full channel.
        ringlet::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(rx);
        assert_eq!(waiting.await.unwrap(), Err(SendError(2)));
        assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));

        let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
        drop(tx);
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn a_cancelled_waiting_sender_passes_the_free_slot_on() {
    let (tx, mut rx) = mpsc::channel(1);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(tx.try_send(0).is_ok());
    let mut a = tx.send(1);
    let mut b = tx.send(2);
    assert!(Pin::new(&mut a).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut b).poll(&mut cx).is_pending());
    assert_eq!(rx.try_recv(), Some(0)); // frees the slot for `a`, first in line
    assert!(
        matches!(tx.try_send(9), Err(TrySendError::Full(9))),
        "no cutting in line"
    );
    drop(a); // `a` gives up: the slot goes to `b`
    assert!(matches!(
        Pin::new(&mut b).poll(&mut cx),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(rx.try_recv(), Some(2));
}

/// An unbounded sender clones whatever its values are (no `T: Clone` asked).
#[test]
fn unbounded_senders_of_values_that_cannot_be_cloned_clone() {
    struct NotClone(u8);
    let (tx, mut rx) = ringlet::sync::shared::mpsc::unbounded_channel::<NotClone>();
    let second = tx.clone();
    tx.send(NotClone(1)).unwrap();
    second.send(NotClone(2)).unwrap();
    drop((tx, second));
    let got = ringlet::run(async move {
        let mut got = Vec::new();
        while let Some(NotClone(n)) = rx.recv().await {
            got.push(n);
        }
        got
    })
    .unwrap();
    assert_eq!(got, [1, 2]);
}

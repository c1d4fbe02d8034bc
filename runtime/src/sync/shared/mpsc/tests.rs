//! The channel on plain threads, no runtime: sizes small enough for Miri, which checks
//! the queues' unsafe code and their atomics (`cargo +nightly miri test -p ringlet --lib
//! mpsc`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use super::{channel, unbounded_channel};
use crate::sync::TrySendError;

/// A waker that unparks a thread.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` to completion on this thread, parking between polls.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

fn scale(n: u64) -> u64 {
    if cfg!(miri) { n / 100 } else { n }
}

/// Producers on threads, each sending `per` numbers in order; the receiver checks every
/// producer's order and the total.
fn many_producers(capacity: Option<usize>, producers: u64, per: u64) {
    let (send, mut rx): (Box<dyn Fn(u64) + Send + Sync>, _) = match capacity {
        Some(capacity) => {
            let (tx, rx) = channel::<u64>(capacity);
            (Box::new(move |v| block_on(tx.send(v)).unwrap()), rx)
        }
        None => {
            let (tx, rx) = unbounded_channel::<u64>();
            (Box::new(move |v| tx.send(v).unwrap()), rx)
        }
    };
    let send = Arc::new(send);
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let send = send.clone();
            thread::spawn(move || {
                for i in 0..per {
                    send(p << 32 | i);
                }
            })
        })
        .collect();
    drop(send);
    let mut next = vec![0u64; producers as usize];
    let mut total = 0;
    while let Some(v) = block_on(rx.recv()) {
        let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
        assert_eq!(i, next[p], "producer {p}: lost, duplicated or reordered");
        next[p] += 1;
        total += 1;
    }
    assert_eq!(total, producers * per);
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_small_ring_laps_many_times_without_loss() {
    many_producers(Some(2), 3, scale(20_000));
}

#[test]
fn a_full_size_ring_under_three_producers() {
    many_producers(Some(1024), 3, scale(20_000));
}

#[test]
fn a_large_bounded_channel_uses_the_list() {
    many_producers(Some(super::RING_MAX + 1), 3, scale(20_000));
}

#[test]
fn an_unbounded_channel_under_three_producers() {
    many_producers(None, 3, scale(20_000));
}

/// Counts drops, to check that nothing queued is leaked or dropped twice.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn queued_messages_are_dropped_once_with_the_receiver_or_the_channel() {
    for capacity in [Some(4), Some(super::RING_MAX + 1), None] {
        let drops = Arc::new(AtomicUsize::new(0));
        let msg = || Counted(drops.clone());
        match capacity {
            Some(capacity) => {
                let (tx, mut rx) = channel(capacity);
                for _ in 0..3 {
                    assert!(tx.try_send(msg()).is_ok());
                }
                drop(rx.try_recv());
                assert_eq!(drops.load(Ordering::SeqCst), 1);
                drop(rx); // drops the two queued
                assert_eq!(drops.load(Ordering::SeqCst), 3);
                assert!(matches!(tx.try_send(msg()), Err(TrySendError::Closed(_))));
                assert_eq!(drops.load(Ordering::SeqCst), 4);
            }
            None => {
                let (tx, rx) = unbounded_channel();
                for _ in 0..3 {
                    assert!(tx.send(msg()).is_ok());
                }
                drop(tx); // the receiver still holds them
                assert_eq!(drops.load(Ordering::SeqCst), 0);
                drop(rx);
                assert_eq!(drops.load(Ordering::SeqCst), 3);
            }
        }
    }
}

#[test]
fn a_full_channel_refuses_try_send_and_frees_room_on_receive() {
    let (tx, mut rx) = channel::<u32>(2);
    assert!(tx.try_send(1).is_ok());
    assert!(tx.try_send(2).is_ok());
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_recv(), Some(1));
    assert!(tx.try_send(3).is_ok());
    assert_eq!(rx.try_recv(), Some(2));
    assert_eq!(rx.try_recv(), Some(3));
    assert_eq!(rx.try_recv(), None);
    assert!(rx.is_empty());
}

#[test]
fn a_receiver_parked_on_another_thread_wakes_for_each_message_and_for_the_end() {
    let (tx, mut rx) = channel::<u32>(1);
    let receiver = thread::spawn(move || {
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        got
    });
    for i in 0..scale(2_000) as u32 {
        if i % 7 == 0 {
            thread::yield_now(); // let the receiver park now and then
        }
        block_on(tx.send(i)).unwrap();
    }
    drop(tx);
    let got = receiver.join().unwrap();
    assert_eq!(got, (0..scale(2_000) as u32).collect::<Vec<_>>());
}

//! Every interleaving of senders, a parked receiver and the permits, under loom:
//! `LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg loom" cargo test -p ringlet --lib --release
//! mpsc`. A lost wake-up leaves a thread parked forever, which loom reports as a deadlock.

use loom::future::block_on;
use loom::thread;

use super::{channel, unbounded_channel};

#[test]
fn two_senders_into_a_one_slot_channel_wake_the_receiver_and_each_other() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u32>(1);
        let tx2 = tx.clone();
        let a = thread::spawn(move || block_on(tx.send(1)).unwrap());
        let b = thread::spawn(move || block_on(tx2.send(2)).unwrap());
        let mut got = [block_on(rx.recv()), block_on(rx.recv())];
        got.sort();
        assert_eq!(got, [Some(1), Some(2)]);
        assert_eq!(block_on(rx.recv()), None, "both senders are gone");
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn a_waiting_sender_sees_the_receiver_go() {
    loom::model(|| {
        let (tx, rx) = channel::<u32>(1);
        tx.try_send(0).unwrap();
        let sender = thread::spawn(move || block_on(tx.send(1)).is_err());
        drop(rx);
        assert!(sender.join().unwrap(), "the send fails, never hangs");
    });
}

#[test]
fn an_unbounded_message_and_the_last_sender_wake_a_parked_receiver() {
    loom::model(|| {
        let (tx, mut rx) = unbounded_channel::<u32>();
        let sender = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_on(rx.recv()), Some(7));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

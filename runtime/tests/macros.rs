//! `#[ringlet::test]`, `#[ringlet::main]`'s options, `select!`, `join!` and `try_join!`.

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use ringlet::sync::mpsc;
use ringlet::time::sleep;

/// Records its name in `log` when dropped.
struct Guard(&'static str, Rc<RefCell<Vec<&'static str>>>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.1.borrow_mut().push(self.0);
    }
}

/// Pending forever; records its drop.
async fn forever(name: &'static str, log: Rc<RefCell<Vec<&'static str>>>) -> u32 {
    let _guard = Guard(name, log);
    pending().await
}

/// A future that fails the test if it is ever polled.
struct NeverPoll;

impl Future for NeverPoll {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        panic!("a disabled branch was polled");
    }
}

#[ringlet::test]
async fn a_test_runs_on_one_worker_by_default() {
    assert_eq!(ringlet::worker_count(), Some(1));
    sleep(Duration::from_millis(1)).await;
}

#[ringlet::test(workers = 2)]
async fn a_test_can_ask_for_workers() -> std::io::Result<()> {
    assert_eq!(ringlet::worker_count(), Some(2));
    let on = ringlet::spawn_on(1, || async { ringlet::worker_index() }).await;
    assert_eq!(on.unwrap(), Some(1));
    let listener = ringlet::net::TcpListener::bind("127.0.0.1:0")?; // `?` works
    drop(listener);
    Ok(())
}

#[ringlet::test]
#[should_panic(expected = "inside the runtime")]
async fn should_panic_goes_beside_it() {
    panic!("inside the runtime");
}

#[ringlet::test]
async fn select_runs_the_first_to_complete_and_drops_the_rest() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let _sender = ringlet::spawn(async move { tx.send(5).await.unwrap() });
    let got = ringlet::select! {
        n = forever("a", log.clone()) => n,
        Some(mut n) = rx.recv() => {
            n += 1;
            n * 10
        }
        n = forever("c", log.clone()) => n,
    };
    assert_eq!(got, 60);
    let mut dropped = log.borrow().clone();
    dropped.sort();
    assert_eq!(
        dropped,
        ["a", "c"],
        "the losers were dropped before the handler"
    );
}

#[ringlet::test]
async fn a_branch_whose_pattern_fails_is_disabled_and_the_wait_goes_on() {
    let got = ringlet::select! {
        Some(n) = ready(None::<u32>) => n,
        n = async { sleep(Duration::from_millis(5)).await; 9 } => n + 1,
    };
    assert_eq!(got, 10);
}

#[ringlet::test]
async fn a_false_condition_disables_a_branch_without_polling_it() {
    let wanted = false;
    let got = ringlet::select! {
        n = NeverPoll, if wanted => n,
        n = ready(3) => n,
    };
    assert_eq!(got, 3);
}

#[ringlet::test]
async fn else_runs_when_every_branch_is_disabled() {
    let got = ringlet::select! {
        Some(n) = ready(None::<u32>) => n,
        n = NeverPoll, if false => n,
        else => 99,
    };
    assert_eq!(got, 99);
}

#[ringlet::test]
#[should_panic(expected = "every branch is disabled")]
async fn without_else_every_branch_disabled_panics() {
    let _: u32 = ringlet::select! {
        Some(n) = ready(None::<u32>) => n,
    };
}

#[ringlet::test]
async fn biased_polls_top_first_and_unbiased_is_fair() {
    for _ in 0..50 {
        let first = ringlet::select! {
            biased;
            _ = ready(()) => 1,
            _ = ready(()) => 2,
        };
        assert_eq!(first, 1);
    }
    let wins = Cell::new([0u32; 3]);
    for _ in 0..300 {
        let winner = ringlet::select! {
            _ = ready(()) => 0,
            _ = ready(()) => 1,
            _ = ready(()) => 2,
        };
        let mut counts = wins.get();
        counts[winner] += 1;
        wins.set(counts);
    }
    assert!(wins.get().iter().all(|&w| w > 50), "{:?}", wins.get());
}

#[ringlet::test]
async fn select_in_a_loop_with_a_channel_and_a_deadline() {
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let _sender = ringlet::spawn(async move {
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        // tx dropped: recv returns None, which disables that branch.
    });
    let mut got = Vec::new();
    let deadline = sleep(Duration::from_secs(5));
    let mut deadline = std::pin::pin!(deadline);
    let mut open = true;
    loop {
        ringlet::select! {
            message = rx.recv(), if open => match message {
                Some(n) => got.push(n),
                None => open = false,
            },
            _ = deadline.as_mut(), if open => panic!("the channel never closed"),
            else => break,
        }
    }
    assert_eq!(got, [0, 1, 2]);
}

#[ringlet::test]
async fn join_runs_its_futures_together_and_keeps_their_order() {
    // Each waits for the other: run one after the other, they would never finish.
    let (a_tx, mut a_rx) = mpsc::channel::<&str>(1);
    let (b_tx, mut b_rx) = mpsc::channel::<u32>(1);
    let (a, b, c) = ringlet::join!(
        async {
            a_tx.send("ping").await.unwrap();
            b_rx.recv().await.unwrap()
        },
        async {
            let got = a_rx.recv().await.unwrap();
            b_tx.send(7).await.unwrap();
            got
        },
        ready('c'),
    );
    assert_eq!((a, b, c), (7, "ping", 'c'));
    ringlet::join!();
}

#[ringlet::test]
async fn try_join_returns_every_value_or_the_first_error() {
    let all: Result<(u32, &str), String> = ringlet::try_join!(
        async {
            sleep(Duration::from_millis(5)).await;
            Ok(1)
        },
        async { Ok("two") },
    );
    assert_eq!(all, Ok((1, "two")));

    let log = Rc::new(RefCell::new(Vec::new()));
    let failed: Result<(u32, u32), String> =
        ringlet::try_join!(async { Ok(forever("slow", log.clone()).await) }, async {
            sleep(Duration::from_millis(5)).await;
            Err("broken".to_string())
        },);
    assert_eq!(failed, Err("broken".to_string()));
    assert_eq!(
        *log.borrow(),
        ["slow"],
        "the error dropped the future still running"
    );
}

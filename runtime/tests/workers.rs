//! Thread-per-core: several workers, one ring each, futures sent between them.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use ringlet::time::{sleep, timeout};
use ringlet::{JoinError, Runtime, spawn_on, worker_count, worker_index};

#[test]
fn block_on_all_runs_one_future_per_worker() {
    let rt = Runtime::builder().workers(4).build().unwrap();
    assert_eq!(rt.workers(), 4);
    let out = rt.block_on_all(|_| async {
        sleep(Duration::from_millis(10)).await;
        (
            worker_index().unwrap(),
            worker_count().unwrap(),
            std::thread::current().id(),
        )
    });
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    let indices: Vec<usize> = out.iter().map(|o| o.0).collect();
    assert_eq!(indices, [0, 1, 2, 3]);
    assert!(out.iter().all(|o| o.1 == 4));
    let mut threads: Vec<_> = out.iter().map(|o| o.2).collect();
    threads.dedup();
    assert_eq!(threads.len(), 4, "each worker is its own thread");
    assert_eq!(worker_index(), None, "outside the runtime");
}

#[test]
fn spawn_on_runs_on_the_chosen_worker_and_reports_panics() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let here = std::thread::current().id();
        let (index, there) = spawn_on(1, || async {
            (worker_index(), std::thread::current().id())
        })
        .await
        .unwrap();
        assert_eq!(index, Some(1));
        assert_ne!(there, here);
        let err = spawn_on(1, || async { panic!("remote boom") })
            .await
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("remote boom"));
        // The worker survives the panic.
        assert_eq!(spawn_on(1, || async { 5 }).await.unwrap(), 5);
    });
}

#[test]
#[should_panic(expected = "ringlet::spawn_on: no worker 9, the runtime has 2 (0 to 1)")]
fn spawn_on_a_worker_that_does_not_exist_fails_loudly() {
    let rt = ringlet::Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async { drop(spawn_on(9, || async {})) });
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn cancelling_a_remote_task_drops_it_on_its_worker() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let handle = spawn_on(1, move || async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        });
        sleep(Duration::from_millis(20)).await;
        assert!(!handle.is_finished());
        assert!(handle.cancel());
        assert!(matches!(handle.await, Err(JoinError::Cancelled)));
        assert!(dropped.load(Ordering::SeqCst));
    });
}

#[test]
fn dropping_the_runtime_cancels_tasks_on_every_worker() {
    let dropped = Arc::new(AtomicBool::new(false));
    let rt = Runtime::builder().workers(2).build().unwrap();
    let guard = SetOnDrop(dropped.clone());
    let mut handle = None;
    rt.block_on(async {
        handle = Some(spawn_on(1, move || async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        }));
        sleep(Duration::from_millis(20)).await;
    });
    let handle = handle.unwrap();
    drop(rt);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(handle.is_finished());
}

/// Two tasks on two workers take turns: each increments the counter on its turn and wakes
/// the other. Every turn needs exactly one cross-thread wake to be delivered; a lost one
/// deadlocks, caught by the timeout.
fn ping_pong(builder: ringlet::Builder, round_trips: u64) -> Duration {
    struct Board {
        turn: AtomicU64,
        wakers: Mutex<[Option<Waker>; 2]>,
    }
    let board = Arc::new(Board {
        turn: AtomicU64::new(0),
        wakers: Mutex::new([None, None]),
    });
    let player = move |me: u64, board: Arc<Board>| async move {
        let last = 2 * round_trips;
        loop {
            poll_fn(|cx| {
                let turn = board.turn.load(Ordering::SeqCst);
                if turn >= last || turn % 2 == me {
                    return Poll::Ready(());
                }
                board.wakers.lock().unwrap()[me as usize] = Some(cx.waker().clone());
                // The other side may have moved between the load and parking the waker.
                if board.turn.load(Ordering::SeqCst) != turn {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            })
            .await;
            let turn = board.turn.load(Ordering::SeqCst);
            if turn >= last {
                return turn;
            }
            board.turn.store(turn + 1, Ordering::SeqCst);
            let other = board.wakers.lock().unwrap()[1 - me as usize].take();
            if let Some(w) = other {
                w.wake();
            }
        }
    };
    let rt = builder.workers(2).build().unwrap();
    let start = Instant::now();
    let result = rt.block_on(timeout(Duration::from_secs(120), async {
        let board_b = board.clone();
        let b = spawn_on(1, move || player(1, board_b));
        let a = ringlet::spawn(player(0, board.clone()));
        (a.await.unwrap(), b.await.unwrap())
    }));
    let (a, b) = result.expect("a cross-thread wake was lost");
    assert_eq!((a, b), (2 * round_trips, 2 * round_trips));
    start.elapsed()
}

#[test]
fn cross_worker_ping_pong_loses_no_wake() {
    // 2 wakes per round trip, each crossing threads.
    let round_trips = std::env::var("RINGLET_PING_PONG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let took = ping_pong(Runtime::builder(), round_trips);
    eprintln!("{round_trips} cross-worker round trips in {took:?}");
}

#[test]
fn spinning_workers_lose_no_wake() {
    // Each side spins through the other's turn and mostly never sleeps; a wake that
    // lands while it spins, or just as it gives up and parks, must still arrive.
    for spin_us in [1, 50, 2_000] {
        let builder = Runtime::builder().spin_before_park(Duration::from_micros(spin_us));
        let took = ping_pong(builder, 20_000);
        eprintln!("20000 round trips spinning {spin_us} us before parking: {took:?}");
    }
}

#[test]
fn a_spinning_worker_never_delays_a_timer() {
    // The worker would spin for 10 s with nothing to do; a 5 ms sleep must end the spin
    // on time, not after it.
    let rt = Runtime::builder()
        .workers(1)
        .spin_before_park(Duration::from_secs(10))
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..5 {
            let start = Instant::now();
            sleep(Duration::from_millis(5)).await;
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(5), "{took:?}");
            assert!(
                took < Duration::from_secs(5),
                "the spin held the timer: {took:?}"
            );
        }
    });
}

#[test]
fn pin_cores_pins_each_worker_to_its_own_cpu() {
    fn allowed_cpus() -> String {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string()
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    // Pinning affects the building thread (worker 0): do it on a thread of its own.
    let pinned = std::thread::spawn(move || {
        let rt = Runtime::builder()
            .workers(cpus)
            .pin_cores(true)
            .build()
            .unwrap();
        rt.block_on_all(|_| async { allowed_cpus() })
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<String>>()
    })
    .join()
    .unwrap();
    assert_eq!(pinned.len(), cpus);
    for list in &pinned {
        assert!(
            list.parse::<usize>().is_ok(),
            "worker allowed on {list:?}, not one CPU"
        );
    }
    let mut distinct = pinned.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        cpus,
        "each worker on its own CPU: {pinned:?}"
    );
}

/// A task that wakes a task on another worker and then blocks its own thread until that
/// task has run (bad form in async code, but it must not hang): the wake has to reach the
/// other worker before this one enters its ring again, whichever way it travels.
fn wake_then_block(builder: ringlet::Builder) {
    let rt = builder.workers(2).build().unwrap();
    rt.block_on(async {
        for round in 0..200u32 {
            let (tx, mut rx) = ringlet::sync::shared::mpsc::channel::<u32>(1);
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let remote = spawn_on(1, move || async move {
                let got = rx.recv().await;
                done_tx.send(got).unwrap();
            });
            // Give the remote task time to park, so the send below must wake it.
            sleep(Duration::from_micros(200)).await;
            tx.try_send(round).unwrap();
            let got = done_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the woken worker never ran: its wake was held back");
            assert_eq!(got, Some(round));
            remote.await.unwrap();
        }
    });
}

#[test]
fn a_worker_that_blocks_right_after_a_cross_worker_wake_does_not_hang() {
    wake_then_block(Runtime::builder());
    wake_then_block(Runtime::builder().without(ringlet::KernelFeature::MsgRing));
    wake_then_block(Runtime::builder().spin_before_park(Duration::from_micros(100)));
}

/// Each worker gets its own value (here a non-Clone one), moved there: no shared slot to
/// take it from.
#[test]
fn block_on_each_hands_each_worker_its_value() {
    struct Shard(Vec<u32>);
    let rt = Runtime::builder().workers(3).build().unwrap();
    let shards = vec![Shard(vec![1]), Shard(vec![2, 2]), Shard(vec![3, 3, 3])];
    let out = rt.block_on_each(shards, |index, shard| async move {
        (index, worker_index().unwrap(), shard.0.iter().sum::<u32>())
    });
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, [(0, 0, 1), (1, 1, 4), (2, 2, 9)]);
}

#[test]
#[should_panic(expected = "one value per worker")]
fn block_on_each_wants_one_value_per_worker() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on_each(vec![1u8], |_, _| async {});
}

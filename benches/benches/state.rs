//! State across workers, the guide's two ways to keep it: a table of counters updated
//! from both workers of a two-worker runtime (pinned to CPUs 0 and 1), kept
//!
//! - `owner, messages`: by worker 0 alone. Worker 0 updates it directly; worker 1 sends
//!   each update there through a shared bounded channel and moves on.
//! - `owner, ask and wait`: the same, but worker 1 waits for the answer to each update
//!   (the new count, through a oneshot): what a read-your-write costs.
//! - `shared lock`: behind one `std::sync::Mutex` both workers take for each update.
//! - `shared lock, worker 0 only`: the lock taken by one worker, uncontended: the floor.
//!
//! Prints updates per second for each (median of 5 runs). Rerun with
//! `cargo bench -p ringlet-benches --bench state`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringlet::Runtime;
use ringlet::sync::shared::{mpsc, oneshot};

/// Updates each worker makes.
const UPDATES: u64 = 1_000_000;
/// Updates worker 1 makes when it waits for each answer.
const ASKS: u64 = 50_000;
/// Distinct keys.
const KEYS: u64 = 1024;
const RUNS: usize = 5;

fn runtime() -> Runtime {
    Runtime::builder()
        .workers(2)
        .pin_cores(true)
        .build()
        .expect("a two-worker runtime")
}

/// What each worker is handed.
enum Role {
    Owner(mpsc::Receiver<Message>),
    Sender(mpsc::Sender<Message>),
}

/// An update for the owner: the key, and where to answer if the sender waits.
struct Message {
    key: u64,
    answer: Option<oneshot::Sender<u64>>,
}

/// Worker 0 owns the table; worker 1 sends `updates` updates, waiting for each answer if
/// `ask`. Returns the time until every update is applied, and the updates made.
fn owner(rt: &Runtime, updates: u64, ask: bool) -> (Duration, u64) {
    let (tx, rx) = mpsc::channel::<Message>(1024);
    let start = Instant::now();
    let mine = if ask { 0 } else { updates };
    let done = rt.block_on_each(
        vec![Role::Owner(rx), Role::Sender(tx)],
        move |_, role| async move {
            match role {
                Role::Owner(mut rx) => {
                    let table = std::rc::Rc::new(std::cell::RefCell::new(HashMap::new()));
                    let applier = {
                        let table = table.clone();
                        ringlet::spawn(async move {
                            while let Some(Message { key, answer }) = rx.recv().await {
                                let mut table = table.borrow_mut();
                                let count = table.entry(key).or_insert(0u64);
                                *count += 1;
                                if let Some(answer) = answer {
                                    let _ = answer.send(*count);
                                }
                            }
                        })
                    };
                    for i in 0..mine {
                        *table.borrow_mut().entry(i % KEYS).or_insert(0) += 1;
                        if i % 64 == 63 {
                            ringlet::task::yield_now().await;
                        }
                    }
                    applier.await.expect("the applier runs to the end");
                    let total: u64 = table.borrow().values().sum();
                    total
                }
                Role::Sender(tx) => {
                    for i in 0..updates {
                        let (answer, count) = match ask {
                            true => {
                                let (answer, count) = oneshot::channel();
                                (Some(answer), Some(count))
                            }
                            false => (None, None),
                        };
                        let message = Message {
                            key: i % KEYS,
                            answer,
                        };
                        if tx.send(message).await.is_err() {
                            panic!("the owner is gone");
                        }
                        if let Some(count) = count {
                            count.await.expect("the owner answers");
                        }
                    }
                    0
                }
            }
        },
    );
    let elapsed = start.elapsed();
    let applied: u64 = done.into_iter().map(|r| r.expect("worker ran")).sum();
    assert_eq!(applied, mine + updates, "every update applied");
    (elapsed, applied)
}

/// Both workers (or worker 0 alone) update one table behind a `std::sync::Mutex`.
fn shared_lock(rt: &Runtime, both: bool) -> (Duration, u64) {
    let table = Arc::new(Mutex::new(HashMap::<u64, u64>::new()));
    let start = Instant::now();
    let shared = table.clone();
    let done = rt.block_on_each(vec![(), ()], move |index, ()| {
        let table = shared.clone();
        async move {
            let updates = if index == 0 || both { UPDATES } else { 0 };
            for i in 0..updates {
                *table
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(i % KEYS)
                    .or_insert(0) += 1;
            }
            updates
        }
    });
    let elapsed = start.elapsed();
    let applied: u64 = done.into_iter().map(|r| r.expect("worker ran")).sum();
    let total: u64 = table.lock().unwrap().values().sum();
    assert_eq!(total, applied, "every update applied");
    (elapsed, applied)
}

fn report(name: &str, mut run: impl FnMut() -> (Duration, u64)) {
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let (elapsed, updates) = run();
            updates as f64 / elapsed.as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[RUNS / 2];
    let show = |rate: f64| match rate {
        r if r >= 1e6 => format!("{:.1} M", r / 1e6),
        r => format!("{:.0} k", r / 1e3),
    };
    let runs: Vec<String> = rates.iter().map(|&r| show(r)).collect();
    println!(
        "{name:<28} {:>8} updates/s  (runs: {})",
        show(median),
        runs.join(", ")
    );
}

fn main() {
    // `cargo test --benches` runs this once, quickly.
    if !ringlet_benches::full_run() {
        let rt = runtime();
        assert_eq!(owner(&rt, 1000, false).1, 2000);
        assert_eq!(owner(&rt, 100, true).1, 100);
        assert_eq!(shared_lock(&rt, true).1, 2 * UPDATES);
        return;
    }
    let rt = runtime();
    println!("state across two workers, {KEYS} keys, median of {RUNS} runs");
    report("owner, messages", || owner(&rt, UPDATES, false));
    report("owner, ask and wait", || owner(&rt, ASKS, true));
    report("shared lock", || shared_lock(&rt, true));
    report("shared lock, worker 0 only", || shared_lock(&rt, false));
}

//! Core-to-core micro-benchmarks, ringlet against tokio's multi-thread runtime.
//!
//! Two workers pinned to CPUs 0 and 1: ringlet's (`pin_cores`); tokio's multi-thread
//! runtime with its two workers pinned as they start (`tokio`: its scheduler may keep
//! both ends of a conversation on one worker, so a message need not cross cores); and two
//! current-thread tokio runtimes on threads pinned to CPUs 0 and 1 (`tokio-pinned`: every
//! message crosses cores, as in ringlet). Every body is written once over
//! `ringlet_benches::adapter`. Ratio = tokio time / ringlet time (above 1.0: ringlet is
//! faster).
//!
//! - `mpsc_cross_worker`: a million messages through a bounded (1024) channel from a
//!   producer on one worker to a consumer on the other: throughput.
//! - `wake_round_trip`: a message to a task parked on the other worker and its reply:
//!   two wakes of a parked worker per round trip.
//! - `spawn_on_round_trip`: spawning a task on the other worker and awaiting its result.
//!
//! After the criterion groups, `cargo bench` also prints the distribution of single
//! wake-to-run latencies (the time from a send on one worker to the receiving task
//! running on the other), p50 and p99, measured over 100,000 round trips; and, as the
//! machine's floor, the same for two plain threads bouncing through `std::sync::mpsc`.
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench cross_worker
//! NO_MSG_RING=1 cargo bench -p ringlet-benches --bench cross_worker   # eventfd wakes
//! SPIN_US=50 cargo bench -p ringlet-benches --bench cross_worker      # spin before parking
//! ```

use std::time::{Duration, Instant};

use ringlet_benches::adapter::{Ringlet, Rt, Tokio, TokioPinned};
use ringlet_benches::{Bench, full_run};

const MESSAGES: u64 = 1_000_000;
const ROUND_TRIPS: u64 = 10_000;
const WAKES: u64 = 100_000;

/// Sends `n` messages through a bounded (1024) channel from one worker to another.
fn mpsc_cross_worker<R: Rt>(n: u64) -> Duration {
    R::block_on_two(async move {
        let (tx, mut rx) = R::remote_channel(1024);
        let start = Instant::now();
        let producer = R::spawn_remote(1, async move {
            for i in 0..n {
                R::remote_send(&tx, i).await;
            }
        });
        // The consumer on worker 0 (on tokio, block_on's thread is not a worker: the
        // consumer runs on one of its two workers).
        let consumer = R::spawn_remote(0, async move {
            let mut sum = 0;
            while let Some(i) = R::remote_recv(&mut rx).await {
                sum += i;
            }
            sum
        });
        producer.await;
        assert_eq!(consumer.await, n * (n - 1) / 2);
        start.elapsed()
    })
}

/// Bounces a timestamp between a task on worker 0 and one on worker 1, `n` times each
/// way; every hop finds the receiver parked. Returns the total time and each hop's
/// send-to-run latency.
fn bounce<R: Rt>(n: u64) -> (Duration, Vec<Duration>) {
    R::block_on_two(async move {
        let (to_one, mut at_one) = R::remote_channel::<Instant>(1);
        let (to_zero, mut at_zero) = R::remote_channel::<Instant>(1);
        let echo = R::spawn_remote(1, async move {
            let mut hops = Vec::with_capacity(n as usize);
            while let Some(sent) = R::remote_recv(&mut at_one).await {
                hops.push(sent.elapsed());
                R::remote_send(&to_zero, Instant::now()).await;
            }
            hops
        });
        let pinger = R::spawn_remote(0, async move {
            let mut hops = Vec::with_capacity(n as usize);
            let start = Instant::now();
            for _ in 0..n {
                R::remote_send(&to_one, Instant::now()).await;
                let sent = R::remote_recv(&mut at_zero)
                    .await
                    .expect("the echo is alive");
                hops.push(sent.elapsed());
            }
            (start.elapsed(), hops)
        });
        let (elapsed, mut hops) = pinger.await;
        hops.extend(echo.await);
        (elapsed, hops)
    })
}

fn wake_round_trip<R: Rt>(n: u64) -> Duration {
    bounce::<R>(n).0
}

/// Spawns `n` tasks, one at a time, on the other worker and awaits each one's result.
fn spawn_on_round_trip<R: Rt>(n: u64) -> Duration {
    R::block_on_two(async move {
        let driver = R::spawn_remote(0, async move {
            let start = Instant::now();
            let mut sum = 0;
            for i in 0..n {
                sum += R::spawn_remote(1, async move { i }).await;
            }
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        });
        driver.await
    })
}

/// p50 and p99 of single wake-to-run latencies, in µs.
fn wake_percentiles<R: Rt>(n: u64) -> (f64, f64) {
    let mut hops = bounce::<R>(n).1;
    hops.sort();
    let at = |q: f64| hops[((hops.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

/// The machine's floor for waking a sleeping thread on another core: two plain threads
/// pinned to CPUs 0 and 1 bouncing a timestamp through `std::sync::mpsc` (a futex), no
/// runtime at all. p50 and p99 of single hops, in µs.
fn thread_floor(n: u64) -> (f64, f64) {
    use std::sync::mpsc::sync_channel;
    let (to_one, at_one) = sync_channel::<Instant>(1);
    let (to_zero, at_zero) = sync_channel::<Instant>(1);
    let echo = std::thread::spawn(move || {
        ringlet_benches::pin_to_cpu(1);
        let mut hops = Vec::with_capacity(n as usize);
        while let Ok(sent) = at_one.recv() {
            hops.push(sent.elapsed());
            to_zero.send(Instant::now()).unwrap();
        }
        hops
    });
    let mut hops = ringlet_benches::keep_affinity(|| {
        ringlet_benches::pin_to_cpu(0);
        let mut hops = Vec::with_capacity(n as usize);
        for _ in 0..n {
            to_one.send(Instant::now()).unwrap();
            hops.push(at_zero.recv().unwrap().elapsed());
        }
        drop(to_one);
        hops
    });
    hops.extend(echo.join().unwrap());
    hops.sort();
    let at = |q: f64| hops[((hops.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

fn main() {
    let mut bench = Bench::new();
    bench.compare(
        "mpsc_cross_worker",
        MESSAGES,
        &[
            ("ringlet", mpsc_cross_worker::<Ringlet>),
            ("tokio", mpsc_cross_worker::<Tokio>),
            ("tokio-pinned", mpsc_cross_worker::<TokioPinned>),
        ],
    );
    bench.compare(
        "wake_round_trip",
        ROUND_TRIPS,
        &[
            ("ringlet", wake_round_trip::<Ringlet>),
            ("tokio", wake_round_trip::<Tokio>),
            ("tokio-pinned", wake_round_trip::<TokioPinned>),
        ],
    );
    bench.compare(
        "spawn_on_round_trip",
        ROUND_TRIPS,
        &[
            ("ringlet", spawn_on_round_trip::<Ringlet>),
            ("tokio", spawn_on_round_trip::<Tokio>),
            ("tokio-pinned", spawn_on_round_trip::<TokioPinned>),
        ],
    );
    let wakes = if full_run() { WAKES } else { 100 };
    for (name, percentiles) in [
        (
            "ringlet",
            wake_percentiles::<Ringlet> as fn(u64) -> (f64, f64),
        ),
        ("tokio", wake_percentiles::<Tokio>),
        ("tokio-pinned", wake_percentiles::<TokioPinned>),
        ("std-threads", thread_floor),
    ] {
        let (p50, p99) = percentiles(wakes);
        println!(
            "wake_to_run {name:<12} p50 {p50:>6.1} µs   p99 {p99:>7.1} µs   ({wakes} round trips)"
        );
    }
}

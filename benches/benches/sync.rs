//! Synchronization micro-benchmarks, ringlet against tokio.
//!
//! Same bodies on both runtimes through the `Runtime` adapter, interleaved runs, medians;
//! ratio = tokio time / ringlet time (above 1.0: ringlet is faster). Local primitives run
//! on one worker (tokio: current-thread); the cross-worker channel runs producer and
//! consumer on two workers (tokio: multi-thread runtime with two workers).
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench sync
//! ```

use std::time::{Duration, Instant};

use ringlet_benches::{REPEATS, compare, full_run};

const LOCKS: u64 = 1_000_000;
const MESSAGES: u64 = 1_000_000;

trait Runtime {
    /// Lock and unlock an uncontended mutex `n` times.
    fn uncontended_lock(n: u64) -> Duration;
    /// Acquire and release a semaphore permit `n` times.
    fn semaphore(n: u64) -> Duration;
    /// Send `n` messages through a bounded (1024) channel to a task on the same worker.
    fn mpsc_local(n: u64) -> Duration;
    /// Send `n` messages through a bounded (1024) channel from one worker to another.
    fn mpsc_cross_worker(n: u64) -> Duration;
    /// `n` round trips between two tasks on one worker: a message out on one bounded
    /// channel, its reply back on another.
    fn channel_round_trip(n: u64) -> Duration;
}

struct Ringlet;

fn one_worker() -> ringlet::Runtime {
    ringlet::Runtime::builder().workers(1).build().unwrap()
}

impl Runtime for Ringlet {
    fn uncontended_lock(n: u64) -> Duration {
        one_worker().block_on(async move {
            let m = ringlet::sync::Mutex::new(0u64);
            let start = Instant::now();
            for _ in 0..n {
                *m.lock().await += 1;
            }
            assert_eq!(m.into_inner(), n);
            start.elapsed()
        })
    }

    fn semaphore(n: u64) -> Duration {
        one_worker().block_on(async move {
            let s = ringlet::sync::Semaphore::new(1);
            let start = Instant::now();
            for _ in 0..n {
                drop(s.acquire().await.unwrap());
            }
            start.elapsed()
        })
    }

    fn mpsc_local(n: u64) -> Duration {
        one_worker().block_on(async move {
            let (tx, mut rx) = ringlet::sync::mpsc::channel(1024);
            let start = Instant::now();
            let producer = ringlet::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            let mut sum = 0;
            while let Some(i) = rx.recv().await {
                sum += i;
            }
            producer.await.unwrap();
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        })
    }

    fn channel_round_trip(n: u64) -> Duration {
        one_worker().block_on(async move {
            let (ping, mut pings) = ringlet::sync::mpsc::channel::<u64>(1);
            let (pong, mut pongs) = ringlet::sync::mpsc::channel::<u64>(1);
            let echo = ringlet::spawn(async move {
                while let Some(i) = pings.recv().await {
                    pong.send(i + 1).await.unwrap();
                }
            });
            let start = Instant::now();
            for i in 0..n {
                ping.send(i).await.unwrap();
                assert_eq!(pongs.recv().await, Some(i + 1));
            }
            let elapsed = start.elapsed();
            drop(ping);
            echo.await.unwrap();
            elapsed
        })
    }

    fn mpsc_cross_worker(n: u64) -> Duration {
        let rt = ringlet::Runtime::builder().workers(2).build().unwrap();
        rt.block_on(async move {
            let (tx, mut rx) = ringlet::sync::shared::mpsc::channel(1024);
            let start = Instant::now();
            let producer = ringlet::spawn_on(1, move || async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            let mut sum = 0;
            while let Some(i) = rx.recv().await {
                sum += i;
            }
            producer.await.unwrap();
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        })
    }
}

struct Tokio;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

impl Runtime for Tokio {
    fn uncontended_lock(n: u64) -> Duration {
        current_thread().block_on(async move {
            let m = tokio::sync::Mutex::new(0u64);
            let start = Instant::now();
            for _ in 0..n {
                *m.lock().await += 1;
            }
            assert_eq!(m.into_inner(), n);
            start.elapsed()
        })
    }

    fn semaphore(n: u64) -> Duration {
        current_thread().block_on(async move {
            let s = tokio::sync::Semaphore::new(1);
            let start = Instant::now();
            for _ in 0..n {
                drop(s.acquire().await.unwrap());
            }
            start.elapsed()
        })
    }

    fn mpsc_local(n: u64) -> Duration {
        current_thread().block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
            let start = Instant::now();
            let producer = tokio::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            let mut sum = 0;
            while let Some(i) = rx.recv().await {
                sum += i;
            }
            producer.await.unwrap();
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        })
    }

    fn channel_round_trip(n: u64) -> Duration {
        current_thread().block_on(async move {
            let (ping, mut pings) = tokio::sync::mpsc::channel::<u64>(1);
            let (pong, mut pongs) = tokio::sync::mpsc::channel::<u64>(1);
            let echo = tokio::spawn(async move {
                while let Some(i) = pings.recv().await {
                    pong.send(i + 1).await.unwrap();
                }
            });
            let start = Instant::now();
            for i in 0..n {
                ping.send(i).await.unwrap();
                assert_eq!(pongs.recv().await, Some(i + 1));
            }
            let elapsed = start.elapsed();
            drop(ping);
            echo.await.unwrap();
            elapsed
        })
    }

    fn mpsc_cross_worker(n: u64) -> Duration {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
            let start = Instant::now();
            let producer = tokio::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            // The consumer runs on a worker too (block_on's thread is not one).
            let consumer = tokio::spawn(async move {
                let mut sum = 0;
                while let Some(i) = rx.recv().await {
                    sum += i;
                }
                sum
            });
            producer.await.unwrap();
            assert_eq!(consumer.await.unwrap(), n * (n - 1) / 2);
            start.elapsed()
        })
    }
}

fn main() {
    let quick = !full_run();
    let scale = if quick { 1000 } else { 1 };
    println!("median of {REPEATS} interleaved runs per runtime");
    compare(
        "mutex lock+unlock",
        LOCKS / scale,
        Ringlet::uncontended_lock,
        Tokio::uncontended_lock,
    );
    compare(
        "semaphore acquire+release",
        LOCKS / scale,
        Ringlet::semaphore,
        Tokio::semaphore,
    );
    compare(
        "mpsc local, per message",
        MESSAGES / scale,
        Ringlet::mpsc_local,
        Tokio::mpsc_local,
    );
    compare(
        "channel round trip, local",
        MESSAGES / scale,
        Ringlet::channel_round_trip,
        Tokio::channel_round_trip,
    );
    compare(
        "mpsc cross-worker, per msg",
        MESSAGES / scale,
        Ringlet::mpsc_cross_worker,
        Tokio::mpsc_cross_worker,
    );
}

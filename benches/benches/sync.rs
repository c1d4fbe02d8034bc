//! Synchronization micro-benchmarks, ringlet against tokio.
//!
//! Each body is written once, generic over the runtime adapter
//! (`ringlet_benches::adapter`), measured by criterion (`ringlet_benches::Bench`); ratio =
//! tokio time / ringlet time (above 1.0: ringlet is faster). The primitives run on one
//! thread (ringlet: one worker; tokio: current-thread with a `LocalSet`); the cross-worker
//! benchmarks are in `cross_worker.rs`.
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench sync
//! ```

use std::time::{Duration, Instant};

use ringlet_benches::Bench;
use ringlet_benches::adapter::{Ringlet, Rt, Tokio};

const LOCKS: u64 = 1_000_000;
const MESSAGES: u64 = 1_000_000;

/// Lock and unlock an uncontended mutex `n` times.
fn uncontended_lock<R: Rt>(n: u64) -> Duration {
    R::block_on(async move {
        let m = R::mutex(0u64);
        let start = Instant::now();
        for _ in 0..n {
            R::with_lock(&m, |v| *v += 1).await;
        }
        let elapsed = start.elapsed();
        assert_eq!(R::into_inner(m), n);
        elapsed
    })
}

/// Acquire and release a semaphore permit `n` times.
fn semaphore<R: Rt>(n: u64) -> Duration {
    R::block_on(async move {
        let s = R::semaphore(1);
        let start = Instant::now();
        for _ in 0..n {
            R::acquire_release(&s).await;
        }
        start.elapsed()
    })
}

/// Send `n` messages through a bounded (1024) channel to a task on the same thread.
fn mpsc_local<R: Rt>(n: u64) -> Duration {
    R::block_on(async move {
        let (tx, mut rx) = R::channel(1024);
        let start = Instant::now();
        let producer = R::spawn(async move {
            for i in 0..n {
                R::send(&tx, i).await;
            }
        });
        let mut sum = 0;
        while let Some(i) = R::recv(&mut rx).await {
            sum += i;
        }
        producer.await;
        assert_eq!(sum, n * (n - 1) / 2);
        start.elapsed()
    })
}

/// `n` round trips between two tasks on one thread: a message out on one bounded channel,
/// its reply back on another.
fn channel_round_trip<R: Rt>(n: u64) -> Duration {
    R::block_on(async move {
        let (ping, mut pings) = R::channel::<u64>(1);
        let (pong, mut pongs) = R::channel::<u64>(1);
        let echo = R::spawn(async move {
            while let Some(i) = R::recv(&mut pings).await {
                R::send(&pong, i + 1).await;
            }
        });
        let start = Instant::now();
        for i in 0..n {
            R::send(&ping, i).await;
            assert_eq!(R::recv(&mut pongs).await, Some(i + 1));
        }
        let elapsed = start.elapsed();
        drop(ping);
        echo.await;
        elapsed
    })
}

fn main() {
    let mut bench = Bench::new();
    bench.compare(
        "mutex_lock_unlock",
        LOCKS,
        &[
            ("ringlet", uncontended_lock::<Ringlet>),
            ("tokio", uncontended_lock::<Tokio>),
        ],
    );
    bench.compare(
        "semaphore_acquire_release",
        LOCKS,
        &[
            ("ringlet", semaphore::<Ringlet>),
            ("tokio", semaphore::<Tokio>),
        ],
    );
    bench.compare(
        "mpsc_local",
        MESSAGES,
        &[
            ("ringlet", mpsc_local::<Ringlet>),
            ("tokio", mpsc_local::<Tokio>),
        ],
    );
    bench.compare(
        "channel_round_trip",
        MESSAGES,
        &[
            ("ringlet", channel_round_trip::<Ringlet>),
            ("tokio", channel_round_trip::<Tokio>),
        ],
    );
}

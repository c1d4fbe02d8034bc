//! Runtime micro-benchmarks, ringlet against tokio's current-thread runtime (epoll).
//!
//! Each body is written once, generic over the runtime adapter
//! (`ringlet_benches::adapter`), measured on both by criterion (`ringlet_benches::Bench`),
//! and reported as the median with the ratio tokio/ringlet (above 1.0 means ringlet is
//! faster).
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench runtime
//! ```

use std::time::{Duration, Instant};

use ringlet_benches::Bench;
use ringlet_benches::adapter::tcp_ping_pong_64;
use ringlet_benches::adapter::{Ringlet, Rt, Tokio};

const SPAWNS: u64 = 100_000;
const ROUND_TRIPS: u64 = 50_000;
const TIMERS: u64 = 100_000;
const TIMER_DELAY: Duration = Duration::from_millis(100);

/// Spawns `n` tasks and joins them all.
fn spawn_join<R: Rt>(n: u64) -> Duration {
    R::block_on_io(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| R::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        assert_eq!(sum, n * (n - 1) / 2);
        start.elapsed()
    })
}

/// Spawns `n` tasks that each sleep `TIMER_DELAY`, and joins them: the time beyond the
/// delay is the cost of creating, arming and firing the timers.
fn timers<R: Rt>(n: u64) -> Duration {
    R::block_on_io(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|_| R::spawn(R::sleep(TIMER_DELAY))).collect();
        for h in handles {
            h.await;
        }
        start.elapsed() - TIMER_DELAY
    })
}

fn main() {
    let mut bench = Bench::new();
    bench.compare(
        "spawn_join",
        SPAWNS,
        &[
            ("ringlet", spawn_join::<Ringlet>),
            ("tokio", spawn_join::<Tokio>),
        ],
    );
    bench.compare(
        "tcp_ping_pong_64B",
        ROUND_TRIPS,
        &[
            ("ringlet", tcp_ping_pong_64::<Ringlet>),
            ("tokio", tcp_ping_pong_64::<Tokio>),
        ],
    );
    bench.compare(
        "timers_overhead",
        TIMERS,
        &[("ringlet", timers::<Ringlet>), ("tokio", timers::<Tokio>)],
    );
}

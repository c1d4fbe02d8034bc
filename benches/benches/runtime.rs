//! Runtime micro-benchmarks, ringlet against tokio's current-thread runtime (epoll).
//!
//! Each benchmark body is written once per runtime behind the `Runtime` adapter, measured
//! the same way, repeated, and reported as the median with the ratio tokio/ringlet
//! (above 1.0 means ringlet is faster).
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench runtime
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringlet_benches::{REPEATS, compare, full_run};

const SPAWNS: u64 = 100_000;
const ROUND_TRIPS: u64 = 50_000;
const MESSAGE: usize = 64;
const TIMERS: u64 = 100_000;
const TIMER_DELAY: Duration = Duration::from_millis(100);

/// One runtime under test: the same bodies, measured the same way.
trait Runtime {
    /// Spawns `n` tasks and joins them all.
    fn spawn_join(n: u64) -> Duration;
    /// `n` round trips of a `MESSAGE`-byte ping-pong over one loopback TCP connection,
    /// client and server on the same single-threaded runtime.
    fn tcp_ping_pong(n: u64) -> Duration;
    /// Spawns `n` tasks that each sleep `TIMER_DELAY`, and joins them: the time beyond
    /// the delay is the cost of creating, arming and firing the timers.
    fn timers(n: u64) -> Duration;
}

struct Ringlet;

impl Runtime for Ringlet {
    fn spawn_join(n: u64) -> Duration {
        single_worker().block_on(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..n).map(|i| ringlet::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        })
    }

    fn tcp_ping_pong(n: u64) -> Duration {
        use ringlet::net::{TcpListener, TcpStream};
        single_worker().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let server = ringlet::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; MESSAGE];
                for _ in 0..n {
                    let (r, b) = s.read_exact(buf).await;
                    r.unwrap();
                    let (r, b) = s.write_all(b).await;
                    r.unwrap();
                    buf = b;
                }
            });
            let c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            let mut buf = vec![7u8; MESSAGE];
            let start = Instant::now();
            for _ in 0..n {
                let (r, b) = c.write_all(buf).await;
                r.unwrap();
                let (r, b) = c.read_exact(b).await;
                r.unwrap();
                buf = b;
            }
            let elapsed = start.elapsed();
            server.await.unwrap();
            elapsed
        })
    }

    fn timers(n: u64) -> Duration {
        single_worker().block_on(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..n)
                .map(|_| ringlet::spawn(ringlet::time::sleep(TIMER_DELAY)))
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            start.elapsed() - TIMER_DELAY
        })
    }
}

/// Both runtimes run on one thread: ringlet with one worker, tokio current-thread.
fn single_worker() -> ringlet::Runtime {
    ringlet::Runtime::builder().workers(1).build().unwrap()
}

struct Tokio;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap()
}

impl Runtime for Tokio {
    fn spawn_join(n: u64) -> Duration {
        tokio_rt().block_on(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, n * (n - 1) / 2);
            start.elapsed()
        })
    }

    fn tcp_ping_pong(n: u64) -> Duration {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};
        tokio_rt().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; MESSAGE];
                for _ in 0..n {
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                }
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            let mut buf = vec![7u8; MESSAGE];
            let start = Instant::now();
            for _ in 0..n {
                c.write_all(&buf).await.unwrap();
                c.read_exact(&mut buf).await.unwrap();
            }
            let elapsed = start.elapsed();
            server.await.unwrap();
            elapsed
        })
    }

    fn timers(n: u64) -> Duration {
        tokio_rt().block_on(async move {
            let start = Instant::now();
            let handles: Vec<_> = (0..n)
                .map(|_| tokio::spawn(tokio::time::sleep(TIMER_DELAY)))
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            start.elapsed() - TIMER_DELAY
        })
    }
}

fn main() {
    let quick = !full_run();
    let scale = if quick { 100 } else { 1 };
    println!("median of {REPEATS} interleaved runs per runtime");
    compare(
        "spawn+join",
        SPAWNS / scale,
        Ringlet::spawn_join,
        Tokio::spawn_join,
    );
    compare(
        "tcp ping-pong 64 B",
        ROUND_TRIPS / scale,
        Ringlet::tcp_ping_pong,
        Tokio::tcp_ping_pong,
    );
    compare(
        "100k timers (overhead)",
        TIMERS / scale,
        Ringlet::timers,
        Tokio::timers,
    );
}

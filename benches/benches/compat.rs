//! What the `compat` layer's copies cost: the same TCP exchange through ringlet's
//! owned-buffer API, through `ringlet::compat::Compat` (tokio's `AsyncRead`/`AsyncWrite`),
//! and on tokio itself, each on one thread.
//!
//! ```sh
//! cargo bench -p ringlet-benches --bench compat
//! ```
//!
//! Two exchanges: a 64-byte ping-pong (per-call overhead) and a 64 MiB bulk transfer in
//! 64 KiB writes (per-byte copy cost). Medians of interleaved runs.

use std::time::{Duration, Instant};

use ringlet_benches::adapter::{Net, Ringlet, RingletCompat, Tokio};
use ringlet_benches::{REPEATS, full_run, median};

const MESSAGE: usize = 64;
const CHUNK: usize = 64 << 10;

/// `n` round trips of a `MESSAGE`-byte ping-pong over one loopback TCP connection, both
/// ends on one thread.
fn ping_pong<R: Net>(n: u64) -> Duration {
    R::block_on_io(async move {
        let (listener, addr) = R::listen().await;
        let echo = R::spawn(async move {
            let mut s = R::accept(&listener).await;
            let mut buf = vec![0u8; MESSAGE];
            for _ in 0..n {
                buf = R::read_exact(&mut s, buf).await;
                buf = R::write_all(&mut s, buf).await;
            }
        });
        let mut c = R::connect(addr).await;
        let mut buf = vec![7u8; MESSAGE];
        let start = Instant::now();
        for _ in 0..n {
            buf = R::write_all(&mut c, buf).await;
            buf = R::read_exact(&mut c, buf).await;
        }
        let elapsed = start.elapsed();
        echo.await;
        elapsed
    })
}

/// Sends `chunks` chunks of `CHUNK` bytes one way, the receiver reading until EOF.
fn bulk<R: Net>(chunks: u64) -> Duration {
    R::block_on_io(async move {
        let (listener, addr) = R::listen().await;
        let accepted = R::spawn(async move { R::accept(&listener).await });
        let mut client = R::connect(addr).await;
        let mut server = accepted.await;
        let start = Instant::now();
        let sink = R::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0;
            loop {
                let (n, b) = R::read(&mut server, buf).await;
                if n == 0 {
                    return total;
                }
                total += n as u64;
                buf = b;
            }
        });
        let mut buf = vec![7u8; CHUNK];
        for _ in 0..chunks {
            buf = R::write_all(&mut client, buf).await;
        }
        R::shutdown_write(&mut client).await;
        assert_eq!(sink.await, chunks * CHUNK as u64);
        start.elapsed()
    })
}

/// Runs the three interleaved and prints per-op medians with the ratios that matter.
fn three_way(name: &str, unit: &str, ops: u64, runs: [fn(u64) -> Duration; 3]) {
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..REPEATS {
        for (run, s) in runs.iter().zip(&mut samples) {
            s.push(run(ops));
        }
    }
    let [owned, compat, tokio] = samples.map(|s| median(s).as_nanos() as f64 / ops as f64);
    println!(
        "{name:<22} owned {owned:>9.1} ns/{unit}  compat {compat:>9.1} ns/{unit}  tokio \
         {tokio:>9.1} ns/{unit}  compat/owned {:.2}x  tokio/compat {:.2}x",
        compat / owned,
        tokio / compat
    );
}

fn main() {
    let scale = if full_run() { 1 } else { 100 };
    three_way(
        "tcp ping-pong 64 B",
        "rt",
        100_000 / scale,
        [
            ping_pong::<Ringlet>,
            ping_pong::<RingletCompat>,
            ping_pong::<Tokio>,
        ],
    );
    three_way(
        "tcp bulk 64 MiB",
        "64KiB",
        1024 / scale.min(16),
        [bulk::<Ringlet>, bulk::<RingletCompat>, bulk::<Tokio>],
    );
}

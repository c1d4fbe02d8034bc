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

use ringlet_benches::Bench;
use ringlet_benches::adapter::{Net, Ringlet, RingletCompat, Tokio};

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

fn main() {
    let mut bench = Bench::new();
    bench.compare(
        "compat_ping_pong_64B",
        100_000,
        &[
            ("owned", ping_pong::<Ringlet>),
            ("compat", ping_pong::<RingletCompat>),
            ("tokio", ping_pong::<Tokio>),
        ],
    );
    bench.compare(
        "compat_bulk_64KiB_chunks",
        1024,
        &[
            ("owned", bulk::<Ringlet>),
            ("compat", bulk::<RingletCompat>),
            ("tokio", bulk::<Tokio>),
        ],
    );
}

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
use ringlet_benches::adapter::tcp_ping_pong_64;
use ringlet_benches::adapter::{Net, Ringlet, RingletCompat, Tokio};

const CHUNK: usize = 64 << 10;

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
            ("owned", tcp_ping_pong_64::<Ringlet>),
            ("compat", tcp_ping_pong_64::<RingletCompat>),
            ("tokio", tcp_ping_pong_64::<Tokio>),
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

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

use ringlet::compat::Compat;
use ringlet_benches::{REPEATS, full_run, median};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MESSAGE: usize = 64;
const CHUNK: usize = 64 << 10;

fn ringlet_rt() -> ringlet::Runtime {
    ringlet::Runtime::builder().workers(1).build().unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
}

/// A connected pair on ringlet: (client, server side).
async fn ringlet_pair() -> (ringlet::net::TcpStream, ringlet::net::TcpStream) {
    let listener = ringlet::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = ringlet::spawn(async move { listener.accept().await.unwrap().0 });
    let client = ringlet::net::TcpStream::connect(addr).await.unwrap();
    client.set_nodelay(true).unwrap();
    (client, accepted.await.unwrap())
}

/// Ping-pong, owned buffers on both sides.
fn owned_ping_pong(n: u64) -> Duration {
    ringlet_rt().block_on(async move {
        let (client, server) = ringlet_pair().await;
        let echo = ringlet::spawn(async move {
            let mut buf = vec![0u8; MESSAGE];
            for _ in 0..n {
                let (r, b) = server.read_exact(buf).await;
                r.unwrap();
                let (r, b) = server.write_all(b).await;
                r.unwrap();
                buf = b;
            }
        });
        let mut buf = vec![7u8; MESSAGE];
        let start = Instant::now();
        for _ in 0..n {
            let (r, b) = client.write_all(buf).await;
            r.unwrap();
            let (r, b) = client.read_exact(b).await;
            r.unwrap();
            buf = b;
        }
        let elapsed = start.elapsed();
        echo.await.unwrap();
        elapsed
    })
}

/// Ping-pong through `Compat` on both sides (tokio's traits over ringlet).
fn compat_ping_pong(n: u64) -> Duration {
    ringlet_rt().block_on(async move {
        let (client, server) = ringlet_pair().await;
        let echo = ringlet::spawn(async move {
            let mut server = Compat::new(server);
            let mut buf = vec![0u8; MESSAGE];
            for _ in 0..n {
                server.read_exact(&mut buf).await.unwrap();
                server.write_all(&buf).await.unwrap();
                server.flush().await.unwrap();
            }
        });
        let mut client = Compat::new(client);
        let mut buf = vec![7u8; MESSAGE];
        let start = Instant::now();
        for _ in 0..n {
            client.write_all(&buf).await.unwrap();
            client.flush().await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
        let elapsed = start.elapsed();
        echo.await.unwrap();
        elapsed
    })
}

fn tokio_ping_pong(n: u64) -> Duration {
    tokio_rt().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; MESSAGE];
            for _ in 0..n {
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            }
        });
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        let mut buf = vec![7u8; MESSAGE];
        let start = Instant::now();
        for _ in 0..n {
            c.write_all(&buf).await.unwrap();
            c.read_exact(&mut buf).await.unwrap();
        }
        let elapsed = start.elapsed();
        echo.await.unwrap();
        elapsed
    })
}

/// Bulk: `chunks` writes of 64 KiB one way, read in 64 KiB reads; timed to the last byte.
fn owned_bulk(chunks: u64) -> Duration {
    ringlet_rt().block_on(async move {
        let (client, server) = ringlet_pair().await;
        let start = Instant::now();
        let sink = ringlet::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0;
            loop {
                let (n, b) = server.read(buf).await;
                match n.unwrap() {
                    0 => return total,
                    n => total += n as u64,
                }
                buf = b;
            }
        });
        let mut buf = vec![7u8; CHUNK];
        for _ in 0..chunks {
            let (r, b) = client.write_all(buf).await;
            r.unwrap();
            buf = b;
        }
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(sink.await.unwrap(), chunks * CHUNK as u64);
        start.elapsed()
    })
}

fn compat_bulk(chunks: u64) -> Duration {
    ringlet_rt().block_on(async move {
        let (client, server) = ringlet_pair().await;
        let start = Instant::now();
        let sink = ringlet::spawn(async move {
            let mut server = Compat::new(server);
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0;
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => return total,
                    n => total += n as u64,
                }
            }
        });
        let mut client = Compat::new(client);
        let buf = vec![7u8; CHUNK];
        for _ in 0..chunks {
            client.write_all(&buf).await.unwrap();
        }
        client.shutdown().await.unwrap();
        assert_eq!(sink.await.unwrap(), chunks * CHUNK as u64);
        start.elapsed()
    })
}

fn tokio_bulk(chunks: u64) -> Duration {
    tokio_rt().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let start = Instant::now();
        let sink = tokio::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0;
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => return total,
                    n => total += n as u64,
                }
            }
        });
        let buf = vec![7u8; CHUNK];
        for _ in 0..chunks {
            client.write_all(&buf).await.unwrap();
        }
        client.shutdown().await.unwrap();
        assert_eq!(sink.await.unwrap(), chunks * CHUNK as u64);
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
        [owned_ping_pong, compat_ping_pong, tokio_ping_pong],
    );
    three_way(
        "tcp bulk 64 MiB",
        "64KiB",
        1024 / scale.min(16),
        [owned_bulk, compat_bulk, tokio_bulk],
    );
}

//! The echo server: every byte a client sends comes back to it.
//!
//! One task per connection; each owns one buffer that travels to the kernel for a read and
//! back, then out again for the write. When the client half-closes, everything it sent has
//! been echoed already, and the server closes its side.

use std::future::Future;
use std::io;
use std::time::Duration;

use ringlet::IoBuf;
use ringlet::net::{BufRing, Server, TcpListener, TcpStream};

use crate::accept::{log_accept_error, log_connection_error};
use crate::stats::Connections;

/// Where a connection's incoming bytes land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvMode {
    /// Each connection owns a buffer of `buffer_size` bytes.
    Owned,
    /// Connections share a per-worker pool of `entries` buffers of `buffer_size` bytes,
    /// taken only while data is in flight: an idle connection holds no buffer.
    BufferRing {
        /// Buffers in each worker's pool.
        entries: u16,
    },
}

/// Accepts connections forever, echoing each on its own task with a buffer of
/// `buffer_size` bytes.
///
/// # Errors
///
/// Returns only on an accept error that is not about one connection or a passing shortage
/// (those are logged and survived): e.g. the listener itself became invalid.
pub async fn serve(listener: TcpListener, buffer_size: usize) -> io::Result<()> {
    let server = Server::new(listener).on_accept_error(|e| log_accept_error("echo-server", e));
    let serve_one = |stream: TcpStream, peer| async move {
        if let Err(e) = echo(&stream, buffer_size).await {
            log_connection_error("echo-server", peer, &e);
        }
    };
    server
        .serve_until(std::future::pending(), serve_one)
        .await
        .map(drop)
}

/// Serves like [`serve`] until `shutdown` completes, then stops accepting (the listener
/// closes, so new connections are refused), lets open connections finish for up to
/// `grace`, and returns how many were still open when the grace period ended (they are
/// cut: their tasks cancelled, their sockets closed). Open connections are counted in
/// `conns`, if given, under this worker's index.
///
/// # Errors
///
/// As [`serve`], for an accept error before the shutdown.
pub async fn serve_until(
    listener: TcpListener,
    buffer_size: usize,
    mode: RecvMode,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    conns: Option<Connections>,
) -> io::Result<usize> {
    let worker = ringlet::worker_index().unwrap_or(0);
    let pool = match mode {
        RecvMode::Owned => None,
        RecvMode::BufferRing { entries } => Some(BufRing::new(entries, buffer_size)?),
    };
    let server = Server::new(listener)
        .grace(grace)
        .on_accept_error(|e| log_accept_error("echo-server", e));
    let report = server.serve_until(shutdown, |stream, peer| {
        // Echo replies are small and latency-bound: send them at once (no Nagle delay).
        let _ = stream.set_nodelay(true);
        let pool = pool.clone();
        let open = conns.as_ref().map(|c| c.open(worker));
        async move {
            let _open = open;
            let result = match &pool {
                None => echo(&stream, buffer_size).await,
                Some(pool) => echo_pooled(&stream, pool).await,
            };
            if let Err(e) = result {
                log_connection_error("echo-server", peer, &e);
            }
        }
    });
    Ok(report.await?.cut)
}

/// Echoes one connection through a shared buffer pool: each chunk arrives in a pool
/// buffer, is written back from that same buffer (no copy), and returns to the pool.
///
/// # Errors
///
/// The connection's first read or write error.
pub async fn echo_pooled(stream: &TcpStream, pool: &BufRing) -> io::Result<u64> {
    let mut incoming = stream.recv_stream(pool);
    let mut total = 0u64;
    while let Some(chunk) = incoming.next().await {
        let chunk = chunk?;
        total += chunk.len() as u64;
        stream.write_all(chunk).await.0?;
    }
    Ok(total)
}

/// Echoes one connection until the peer's EOF; returns the number of bytes echoed.
///
/// # Errors
///
/// The connection's first read or write error (`ConnectionReset`, `BrokenPipe`, ...).
pub async fn echo(stream: &TcpStream, buffer_size: usize) -> io::Result<u64> {
    let mut buf = Vec::with_capacity(buffer_size);
    let mut total = 0u64;
    loop {
        let (read, filled) = stream.read(buf).await;
        let n = read?;
        if n == 0 {
            return Ok(total);
        }
        let (written, slice) = stream.write_all(filled.slice(..n)).await;
        written?;
        total += n as u64;
        buf = slice.into_inner();
    }
}

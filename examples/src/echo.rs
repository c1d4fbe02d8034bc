//! The echo server: every byte a client sends comes back to it.
//!
//! One task per connection; each owns one buffer that travels to the kernel for a read and
//! back, then out again for the write. When the client half-closes, everything it sent has
//! been echoed already, and the server closes its side.

use std::io;

use ringlet::IoBuf;
use ringlet::net::{TcpListener, TcpStream};

use crate::accept::{accept_loop, log_connection_error};

/// Accepts connections forever, echoing each on its own task with a buffer of
/// `buffer_size` bytes.
///
/// # Errors
///
/// Returns only on an accept error that is not about one connection or a passing shortage
/// (those are logged and survived): e.g. the listener itself became invalid.
pub async fn serve(listener: TcpListener, buffer_size: usize) -> io::Result<()> {
    accept_loop("echo-server", &listener, |stream, peer| {
        drop(ringlet::spawn(async move {
            if let Err(e) = echo(&stream, buffer_size).await {
                log_connection_error("echo-server", peer, &e);
            }
        }));
    })
    .await
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

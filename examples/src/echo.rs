//! The echo server: every byte a client sends comes back to it.
//!
//! One task per connection; each owns one buffer that travels to the kernel for a read and
//! back, then out again for the write. When the client half-closes, everything it sent has
//! been echoed already, and the server closes its side.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::Duration;

use ringlet::IoBuf;
use ringlet::net::{TcpListener, TcpStream};

/// How long accepting pauses when the process is out of file descriptors.
const FD_EXHAUSTED_PAUSE: Duration = Duration::from_millis(100);

/// Accepts connections forever, echoing each on its own task with a buffer of
/// `buffer_size` bytes.
///
/// # Errors
///
/// Returns only on an accept error that is not about one connection or a passing shortage
/// (those are logged and survived): e.g. the listener itself became invalid.
pub async fn serve(listener: TcpListener, buffer_size: usize) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                drop(ringlet::spawn(async move {
                    if let Err(e) = echo(&stream, buffer_size).await {
                        log_connection_error(peer, &e);
                    }
                }));
            }
            Err(e) if is_fd_exhaustion(&e) => {
                eprintln!(
                    "echo-server: accept: {e}; out of file descriptors, \
                     pausing accepts for {FD_EXHAUSTED_PAUSE:?}"
                );
                ringlet::time::sleep(FD_EXHAUSTED_PAUSE).await;
            }
            Err(e) if is_per_connection(&e) => {
                eprintln!("echo-server: accept: {e} (connection dropped before accept)");
            }
            Err(e) => return Err(e),
        }
    }
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

fn log_connection_error(peer: SocketAddr, e: &io::Error) {
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => {
            eprintln!("echo-server: {peer}: connection reset by peer");
        }
        _ => eprintln!("echo-server: {peer}: {e}"),
    }
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc_errno::EMFILE) | Some(libc_errno::ENFILE)
    ) || e.kind() == ErrorKind::OutOfMemory
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) || matches!(
        e.raw_os_error(),
        Some(libc_errno::EPROTO) | Some(libc_errno::EPERM)
    )
}

/// The few Linux errno values the accept loop tells apart (stable ABI numbers).
mod libc_errno {
    pub(super) const EPERM: i32 = 1;
    pub(super) const ENFILE: i32 = 23;
    pub(super) const EMFILE: i32 = 24;
    pub(super) const EPROTO: i32 = 71;
}

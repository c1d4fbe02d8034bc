//! What the example servers share around ringlet's `Server`: logging, listeners on every
//! worker, the shutdown signal.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::Duration;

use ringlet::error::raw_os_error;
use ringlet::net::{ListenOptions, TcpListener};

/// Logs an accept error a [`Server`](ringlet::net::Server) survived.
pub fn log_accept_error(name: &str, e: &io::Error) {
    match raw_os_error(e) {
        Some(errno::ENFILE | errno::EMFILE) => {
            eprintln!("{name}: accept: {e}; out of file descriptors, pausing accepts")
        }
        _ => eprintln!("{name}: accept: {e} (connection dropped before accept)"),
    }
}

/// Logs a connection's error, naming a peer reset plainly.
pub fn log_connection_error(name: &str, peer: SocketAddr, e: &io::Error) {
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => {
            eprintln!("{name}: {peer}: connection reset by peer");
        }
        _ => eprintln!("{name}: {peer}: {e}"),
    }
}

/// One `SO_REUSEPORT` listener per worker, all on the same port (port 0 resolves to one
/// port for all), as std listeners to hand to each worker.
///
/// # Errors
///
/// The first bind's error (`AddrInUse` if the port is taken).
pub fn bind_reuse_port(addr: SocketAddr, workers: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let options = ListenOptions::new().reuse_port(true);
    let no_op_in_flight = |_| unreachable!("a freshly bound listener has no op in flight");
    let first = TcpListener::bind_with(addr, &options)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first.into_std().unwrap_or_else(no_op_in_flight)];
    for _ in 1..workers {
        let listener = TcpListener::bind_with(addr, &options)?;
        listeners.push(listener.into_std().unwrap_or_else(no_op_in_flight));
    }
    Ok(listeners)
}

/// Completes at Ctrl-C (SIGINT) or SIGTERM (how systemd, Docker and Kubernetes stop a
/// service), logging it when `log` (one worker's say is enough); never completes, after
/// saying so, if the handlers cannot be installed.
pub async fn ctrl_c(name: &str, log: bool, grace: Duration) {
    match ringlet::signal::shutdown().await {
        Ok(()) if log => eprintln!(
            "{name}: stopping (SIGINT or SIGTERM): no longer accepting; open connections have {grace:?} to finish"
        ),
        Ok(()) => {}
        Err(e) => {
            eprintln!("{name}: {e}; SIGINT and SIGTERM will not shut down gracefully");
            std::future::pending::<()>().await;
        }
    }
}

/// The Linux errno values told apart here (stable ABI numbers).
mod errno {
    pub(super) const ENFILE: i32 = 23;
    pub(super) const EMFILE: i32 = 24;
}

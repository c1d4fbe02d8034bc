//! The accept loop the example servers share: what to do about each accept error.

use std::cell::Cell;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use ringlet::error::raw_os_error;
use ringlet::net::{ListenOptions, TcpListener, TcpStream};
use ringlet::sync::Notify;
use ringlet::task::{Either, select};

/// How long accepting pauses when the process is out of file descriptors.
const FD_EXHAUSTED_PAUSE: Duration = Duration::from_millis(100);

/// Accepts connections until `shutdown` completes, handing each to `on_connection`.
/// Errors about one connection are logged and skipped; running out of descriptors pauses
/// accepting, then retries (the server keeps serving the connections it has).
///
/// On shutdown the accept in flight is cancelled and awaited, so a connection the kernel
/// accepted in that instant is handed on rather than reset.
///
/// # Errors
///
/// Only an error that is about the listener itself.
pub async fn accept_loop(
    name: &str,
    listener: &TcpListener,
    mut on_connection: impl FnMut(TcpStream, SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut shutdown = pin!(shutdown);
    loop {
        let mut accept = pin!(listener.accept());
        let result = match select(accept.as_mut(), shutdown.as_mut()).await {
            Either::Left(result) => result,
            Either::Right(()) => {
                accept.as_mut().get_mut().cancel();
                if let Ok((stream, peer)) = accept.await {
                    on_connection(stream, peer);
                }
                return Ok(());
            }
        };
        match result {
            Ok((stream, peer)) => on_connection(stream, peer),
            Err(e) if is_fd_exhaustion(&e) => {
                eprintln!(
                    "{name}: accept: {e}; out of file descriptors, \
                     pausing accepts for {FD_EXHAUSTED_PAUSE:?}"
                );
                ringlet::time::sleep(FD_EXHAUSTED_PAUSE).await;
            }
            Err(e) if is_per_connection(&e) => {
                eprintln!("{name}: accept: {e} (connection dropped before accept)");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Accepts until `shutdown` completes, running `serve(stream, peer)` on a task of its own
/// for each connection; then accepts what is still queued (closing the listener with
/// connections queued would reset them, though their clients saw the connect succeed),
/// closes the listener, and lets open connections finish for up to `grace`. Returns how
/// many were still open when the grace period ended (their tasks are cancelled when the
/// runtime drops).
///
/// # Errors
///
/// As [`accept_loop`]: only an error about the listener itself.
pub async fn serve_connections_until<F, Fut>(
    name: &str,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    serve: F,
) -> io::Result<usize>
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let open = Rc::new(Cell::new(0usize));
    let closed = Rc::new(Notify::new());
    let serve_one = |stream: TcpStream, peer| {
        open.set(open.get() + 1);
        let (open, closed) = (open.clone(), closed.clone());
        let connection = serve(stream, peer);
        drop(ringlet::spawn(async move {
            connection.await;
            open.set(open.get() - 1);
            closed.notify_one();
        }));
    };
    accept_loop(name, &listener, &serve_one, shutdown).await?;
    drain_backlog(name, listener, &serve_one).await;
    let drained = ringlet::time::timeout(grace, async {
        while open.get() > 0 {
            closed.notified().await;
        }
    });
    Ok(match drained.await {
        Ok(()) => 0,
        Err(_) => open.get(),
    })
}

/// Accepts what is already queued on `listener` (without waiting for more), hands each to
/// `serve`, and closes the listener. Closing it with connections still queued would reset
/// them, though their clients already saw the connection succeed.
async fn drain_backlog(name: &str, listener: TcpListener, serve: impl Fn(TcpStream, SocketAddr)) {
    // The cancelled accept op holds the socket until the kernel confirms the cancel.
    let mut listener = listener;
    let listener = loop {
        match listener.into_std() {
            Ok(std_listener) => break std_listener,
            Err(busy) => {
                listener = busy;
                ringlet::yield_now().await;
            }
        }
    };
    if let Err(e) = listener.set_nonblocking(true) {
        eprintln!("{name}: cannot drain the backlog: {e}");
        return;
    }
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                // io_uring serves blocking and non-blocking sockets alike.
                serve(TcpStream::from(stream), peer)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("{name}: draining the backlog: {e}");
                return;
            }
        }
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

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(raw_os_error(e), Some(errno::EMFILE) | Some(errno::ENFILE))
        || e.kind() == ErrorKind::OutOfMemory
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) || matches!(raw_os_error(e), Some(errno::EPROTO) | Some(errno::EPERM))
}

/// The few Linux errno values the accept loop tells apart (stable ABI numbers).
mod errno {
    pub(super) const EPERM: i32 = 1;
    pub(super) const ENFILE: i32 = 23;
    pub(super) const EMFILE: i32 = 24;
    pub(super) const EPROTO: i32 = 71;
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

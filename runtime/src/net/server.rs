//! A TCP server's lifecycle: accept until told to stop, then stop without resetting
//! anyone, give open connections a grace period, and say how many were cut.
//!
//! Owns: `Server`, `ServeReport`, and which accept errors a server survives. Must not
//! reset a connection the kernel accepted: at shutdown the accept in flight is cancelled
//! and awaited, and the listener's backlog is accepted before it closes.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use slab::Slab;

use crate::executor::join::AbortHandle;
use crate::net::incoming::{is_fd_exhaustion, is_per_connection};
use crate::net::{TcpListener, TcpStream};
use crate::sync::Notify;
use crate::task::{Either, select};

/// Default grace period for open connections at shutdown.
const GRACE: Duration = Duration::from_secs(10);
/// Default pause of accepting when the process is out of file descriptors.
const FD_EXHAUSTED_PAUSE: Duration = Duration::from_millis(100);

/// A TCP server on one listener: accepts until a shutdown signal, runs each connection on
/// a task of its own, and stops gracefully.
///
/// At shutdown it stops accepting without resetting anyone — the accept in flight is
/// cancelled and awaited (a connection the kernel accepted in that instant is served),
/// and the connections waiting in the listener's backlog (whose clients already saw
/// their connect succeed) are accepted and served before the listener closes. Then the
/// open connections have a grace period to finish; those still open after it are
/// cancelled (their tasks dropped, their sockets closed). [`ServeReport`] says how it
/// went.
///
/// Accept errors about one connection (reset before it was accepted) are skipped; running
/// out of file descriptors (`EMFILE`, `ENFILE`) pauses accepting briefly, while the open
/// connections keep being served, then accepts again. Both go to the error hook
/// ([`on_accept_error`](Server::on_accept_error); by default one line on stderr). Any
/// other accept error is about the listener itself: accepting stops, the open connections
/// still get their grace period, and [`serve`](Server::serve) returns the error.
///
/// One server per listener: for every core, run one on each worker, each on its own
/// `SO_REUSEPORT` listener.
///
/// ```
/// use std::time::Duration;
/// use ringlet::net::{Server, TcpListener, TcpStream};
///
/// ringlet::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let (stop, stopped) = ringlet::sync::oneshot::channel::<()>();
///     let server = ringlet::spawn(async move {
///         Server::new(listener)
///             .grace(Duration::from_secs(1))
///             .serve_until(async { let _ = stopped.await; }, |stream: TcpStream, _peer| async move {
///                 let (read, buf) = stream.read(Vec::with_capacity(64)).await;
///                 if read.is_ok() {
///                     let _ = stream.write_all(buf).await;
///                 }
///             })
///             .await
///     });
///     let client = TcpStream::connect(addr).await?;
///     client.write_all(b"hi".to_vec()).await.0?;
///     let (n, reply) = client.read(Vec::with_capacity(64)).await;
///     assert_eq!(&reply[..n?], b"hi");
///     let _ = stop.send(());
///     let report = server.await??;
///     assert_eq!((report.accepted, report.cut), (1, 0));
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    listener: TcpListener,
    grace: Duration,
    fd_pause: Duration,
    /// Shared, so that `serve` can hand it to the signal watcher as well.
    on_error: Rc<dyn Fn(&io::Error)>,
}

/// How a [`Server`] went, from [`Server::serve`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeReport {
    /// Connections accepted and served, those from the backlog at shutdown included.
    pub accepted: u64,
    /// Of those, the ones taken from the listener's backlog after shutdown began.
    pub drained: u64,
    /// Accept errors survived: connections reset before they were accepted, descriptor
    /// shortages.
    pub accept_errors: u64,
    /// Connections open when the grace period began.
    pub open_at_shutdown: usize,
    /// Connections still open when the grace period ended, and cancelled.
    pub cut: usize,
}

impl Server {
    /// A server on `listener`, with a 10 s grace period.
    pub fn new(listener: TcpListener) -> Server {
        Server {
            listener,
            grace: GRACE,
            fd_pause: FD_EXHAUSTED_PAUSE,
            on_error: Rc::new(default_on_error),
        }
    }

    /// How long open connections may take to finish after shutdown before they are cut.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long accepting pauses when the process is out of file descriptors (default
    /// 100 ms).
    pub fn fd_exhausted_pause(mut self, pause: Duration) -> Self {
        self.fd_pause = pause;
        self
    }

    /// Called with each accept error the server survives, and with a shutdown signal that
    /// cannot be listened for (default: a line on stderr).
    pub fn on_accept_error(mut self, hook: impl Fn(&io::Error) + 'static) -> Self {
        self.on_error = Rc::new(hook);
        self
    }

    /// The listener's address.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` reports.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process gets SIGINT (Ctrl-C) or SIGTERM (how systemd, Docker and
    /// Kubernetes stop a service), then stops as the [type docs](Server) say. If the
    /// signal handlers cannot be installed, the error goes to the error hook and the
    /// server serves until the listener fails.
    ///
    /// # Errors
    ///
    /// An accept error about the listener itself (not one connection's), once the open
    /// connections' grace period is over.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the listener (its accept in flight is cancelled) and
    /// cancels every connection's task at once: no grace period, no report.
    pub async fn serve<F, Fut>(self, handler: F) -> io::Result<ServeReport>
    where
        F: FnMut(TcpStream, SocketAddr) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let signal = crate::signal::shutdown();
        let hook = self.on_error.clone();
        let shutdown = async move {
            if let Err(e) = signal.await {
                hook(&e);
                std::future::pending::<()>().await;
            }
        };
        self.serve_until(shutdown, handler).await
    }

    /// Serves until `shutdown` completes, then stops as the [type docs](Server) say.
    /// `handler(stream, peer)` makes each connection's future, which runs on a task of
    /// its own on this worker.
    ///
    /// # Errors
    ///
    /// As [`serve`](Server::serve).
    ///
    /// # Cancel safety
    ///
    /// As [`serve`](Server::serve): dropped, the listener closes and every connection's
    /// task is cancelled at once.
    pub async fn serve_until<S, F, Fut>(
        self,
        shutdown: S,
        mut handler: F,
    ) -> io::Result<ServeReport>
    where
        S: Future<Output = ()>,
        F: FnMut(TcpStream, SocketAddr) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let open = Open::default();
        let mut report = ServeReport::default();
        let mut start = |stream: TcpStream, peer: SocketAddr, report: &mut ServeReport| {
            report.accepted += 1;
            open.start(handler(stream, peer));
        };
        let mut shutdown = pin!(shutdown);
        let mut failed = None;
        loop {
            let mut accept = pin!(self.listener.accept());
            let result = match select(accept.as_mut(), shutdown.as_mut()).await {
                Either::Left(result) => result,
                Either::Right(()) => {
                    accept.as_mut().get_mut().cancel();
                    if let Ok((stream, peer)) = accept.await {
                        start(stream, peer, &mut report);
                    }
                    break;
                }
            };
            match result {
                Ok((stream, peer)) => start(stream, peer, &mut report),
                Err(e) if is_fd_exhaustion(&e) => {
                    report.accept_errors += 1;
                    (self.on_error)(&e);
                    // Keep watching for the shutdown while paused.
                    let pause = pin!(crate::time::sleep(self.fd_pause));
                    if let Either::Right(()) = select(pause, shutdown.as_mut()).await {
                        break;
                    }
                }
                Err(e) if is_per_connection(&e) => {
                    report.accept_errors += 1;
                    (self.on_error)(&e);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if failed.is_none() {
            let before = report.accepted;
            drain_backlog(self.listener, &*self.on_error, |stream, peer| {
                start(stream, peer, &mut report)
            })
            .await;
            report.drained = report.accepted - before;
        }
        report.open_at_shutdown = open.count();
        let finished = crate::time::timeout(self.grace, open.all_closed()).await;
        if finished.is_err() {
            report.cut = open.cut();
        }
        match failed {
            None => Ok(report),
            Some(e) => Err(e),
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("grace", &self.grace)
            .field("fd_exhausted_pause", &self.fd_pause)
            .finish()
    }
}

fn default_on_error(e: &io::Error) {
    if is_fd_exhaustion(e) {
        eprintln!("ringlet server: accept: {e}; out of file descriptors, pausing accepts");
    } else {
        eprintln!("ringlet server: {e}");
    }
}

/// The connections open, each by its task's cancel handle.
#[derive(Default)]
struct Open {
    inner: Rc<OpenInner>,
}

#[derive(Default)]
struct OpenInner {
    tasks: RefCell<Slab<Option<AbortHandle>>>,
    closed: Notify,
    /// Set once the grace period is over: tasks ending now were cut.
    cutting: Cell<bool>,
}

/// Takes a connection off the open set when its task ends, however it ends.
struct Closes {
    inner: Rc<OpenInner>,
    key: usize,
}

impl Drop for Closes {
    fn drop(&mut self) {
        // The slab is not borrowed here: tasks run (and drop) outside of `Open`'s calls.
        if let Ok(mut tasks) = self.inner.tasks.try_borrow_mut() {
            tasks.try_remove(self.key);
        }
        if !self.inner.cutting.get() {
            self.inner.closed.notify_one();
        }
    }
}

impl Open {
    fn start<Fut: Future<Output = ()> + 'static>(&self, connection: Fut) {
        let key = self.inner.tasks.borrow_mut().insert(None);
        let closes = Closes {
            inner: self.inner.clone(),
            key,
        };
        let task = crate::spawn(async move {
            let _closes = closes;
            connection.await;
        });
        if let Some(slot) = self.inner.tasks.borrow_mut().get_mut(key) {
            *slot = Some(task.abort_handle());
        }
    }

    fn count(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    async fn all_closed(&self) {
        while self.count() > 0 {
            self.inner.closed.notified().await;
        }
    }

    /// Cancels every connection still open; returns how many.
    /// (Also what dropping the set does: a dropped server takes its connections along.)
    fn cut(&self) -> usize {
        self.inner.cutting.set(true);
        let tasks = std::mem::take(&mut *self.inner.tasks.borrow_mut());
        let cut = tasks.len();
        for (_, task) in tasks {
            if let Some(task) = task {
                task.cancel();
            }
        }
        cut
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Accepts what is already queued on `listener` (without waiting for more), hands each to
/// `serve`, and closes the listener. Closing it with connections still queued would reset
/// them, though their clients already saw the connection succeed.
async fn drain_backlog(
    listener: TcpListener,
    on_error: &dyn Fn(&io::Error),
    mut serve: impl FnMut(TcpStream, SocketAddr),
) {
    // The cancelled accept op holds the socket until the kernel confirms the cancel.
    let mut listener = listener;
    let listener = loop {
        match listener.into_std() {
            Ok(std_listener) => break std_listener,
            Err(busy) => {
                listener = busy;
                crate::yield_now().await;
            }
        }
    };
    if let Err(e) = listener.set_nonblocking(true) {
        on_error(&crate::error::named("drain the backlog", e));
        return;
    }
    loop {
        match listener.accept() {
            // io_uring serves blocking and non-blocking sockets alike.
            Ok((stream, peer)) => serve(TcpStream::from(stream), peer),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_per_connection(&e) => {
                on_error(&crate::error::named("drain the backlog", e))
            }
            Err(e) => {
                on_error(&crate::error::named("drain the backlog", e));
                return;
            }
        }
    }
}

//! A TCP listener: binding, one accept at a time ([`Accept`]) or a multishot stream of
//! connections ([`Incoming`]).
//!
//! Owns: `TcpListener`, `ListenOptions`, `Accept`. Must not drop a connection
//! the kernel accepted: a cancelled accept hands it back when awaited.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;

use uring_driver::{Op, SharedFd, socket};

use super::stream::TcpStream;
use crate::error::named;
use crate::executor::context::driver;
use crate::net::incoming::Incoming;

/// Accept backlog of [`TcpListener::bind`].
const DEFAULT_BACKLOG: u32 = 1024;

/// How [`TcpListener::bind_with`] sets up the socket.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    backlog: u32,
    reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
        }
    }
}

impl ListenOptions {
    /// Options with backlog 1024 and no `SO_REUSEPORT`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The accept backlog (capped by `net.core.somaxconn`).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets `SO_REUSEPORT`, so several listeners (one per worker) share the port and the
    /// kernel spreads incoming connections among them.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }
}

/// A TCP socket listening for connections.
///
/// ```no_run
/// use ringlet::net::TcpListener;
///
/// async fn serve() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:7878")?;
///     loop {
///         let (stream, peer) = listener.accept().await?;
///         ringlet::spawn(async move {
///             let (result, _buf) = stream.write_all(b"hello\n".to_vec()).await;
///             if let Err(e) = result {
///                 eprintln!("{peer}: {e}");
///             }
///         });
///     }
/// }
///
/// ringlet::run(serve())??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    fd: SharedFd,
    local_addr: SocketAddr,
}

impl TcpListener {
    /// Binds a listener to `addr` (with `SO_REUSEADDR`, backlog 1024). Each address `addr`
    /// resolves to is tried in turn.
    ///
    /// # Errors
    ///
    /// The error of the last address tried: `AddrInUse` if the port is taken,
    /// `PermissionDenied` for a privileged port, and so on.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with(addr, &ListenOptions::default())
    }

    /// Binds a listener to `addr` with `options` (backlog, `SO_REUSEPORT`).
    ///
    /// # Errors
    ///
    /// As [`bind`](TcpListener::bind).
    pub fn bind_with(addr: impl ToSocketAddrs, options: &ListenOptions) -> io::Result<TcpListener> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match Self::bind_one(&addr, options).map_err(|e| named(format!("bind {addr}"), e)) {
                Ok(listener) => return Ok(listener),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        }))
    }

    fn bind_one(addr: &SocketAddr, options: &ListenOptions) -> io::Result<TcpListener> {
        let fd = socket::socket_for(addr, libc::SOCK_STREAM)?;
        socket::set_reuse_address(&fd, true)?;
        if options.reuse_port {
            socket::set_reuse_port(&fd, true)?;
        }
        socket::bind(&fd, addr)?;
        socket::listen(&fd, options.backlog)?;
        let local_addr = socket::local_addr(&fd)?;
        Ok(TcpListener {
            fd: SharedFd::new(fd),
            local_addr,
        })
    }

    /// Gives the socket back as a std listener (which is `Send`: e.g. to hand a listener
    /// bound on one thread to another worker).
    ///
    /// # Errors
    ///
    /// Gives the listener back if an accept op still holds it (a cancelled accept holds it
    /// until the kernel confirms the cancellation, within a driver turn or two).
    pub fn into_std(self) -> Result<std::net::TcpListener, TcpListener> {
        let local_addr = self.local_addr;
        self.fd
            .try_unwrap()
            .map(std::net::TcpListener::from)
            .map_err(|fd| TcpListener { fd, local_addr })
    }

    /// Accepts one connection.
    ///
    /// The future can be [cancelled](Accept::cancel) and then awaited: a connection the
    /// kernel accepted before the cancel took effect is returned rather than lost — the
    /// way to stop accepting without resetting anyone. (Dropping the future instead closes
    /// such a connection.)
    ///
    /// # Errors
    ///
    /// What `accept(2)` reports: `EMFILE`/`ENFILE` when out of descriptors (back off and
    /// retry: the listener stays usable), `ECONNABORTED` for a connection reset before it
    /// was accepted; `ECANCELED` after `cancel` when nothing was accepted.
    ///
    /// # Cancel safety
    ///
    /// Dropped while in the kernel, the accept is cancelled, and a connection the kernel
    /// accepted for it meanwhile is closed: [`cancel`](Accept::cancel) and await it instead
    /// to lose none, or use [`incoming`](TcpListener::incoming), whose `next` loses none.
    pub fn accept(&self) -> Accept<'_> {
        Accept {
            op: driver().map(|driver| Op::accept(&driver, &self.fd)),
            _listener: std::marker::PhantomData,
        }
    }

    /// A stream of incoming connections from one multishot accept (Linux 5.19+): the
    /// kernel keeps accepting without a submission per connection. Await
    /// [`Incoming::next`]; dropping the stream cancels the accept, and a connection the
    /// kernel accepted meanwhile is closed, not leaked.
    ///
    /// ```no_run
    /// ringlet::run(async {
    ///     let listener = ringlet::net::TcpListener::bind("127.0.0.1:7878")?;
    ///     let mut incoming = listener.incoming();
    ///     while let Some(stream) = incoming.next().await {
    ///         let stream = stream?;
    ///         drop(ringlet::spawn(async move { /* serve */ drop(stream) }));
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming {
        Incoming::new(&self.fd, TcpStream::from_fd)
    }

    /// The address the listener is bound to (with the real port if bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

impl From<std::net::TcpListener> for TcpListener {
    /// Adopts a bound, listening std listener (blocking or not: io_uring handles both).
    ///
    /// # Panics
    ///
    /// If the socket has no IP address (`getsockname` fails), which a listening TCP socket
    /// always has.
    fn from(listener: std::net::TcpListener) -> TcpListener {
        let local_addr = listener
            .local_addr()
            .expect("a listening TCP socket has a local address");
        TcpListener {
            fd: SharedFd::new(listener.into()),
            local_addr,
        }
    }
}

/// The future of [`TcpListener::accept`].
#[must_use = "accept does nothing unless awaited"]
pub struct Accept<'a> {
    /// The accept op, or why it could not start (taken when reported).
    op: io::Result<Op<uring_driver::op::Accept>>,
    _listener: std::marker::PhantomData<&'a TcpListener>,
}

impl Accept<'_> {
    /// Asks the kernel to stop this accept. Await the future afterwards: it yields the
    /// connection if one was accepted first, or an `ECANCELED` error.
    pub fn cancel(&mut self) {
        if let Ok(op) = &mut self.op {
            op.cancel();
        }
    }
}

impl std::future::Future for Accept<'_> {
    type Output = io::Result<(TcpStream, SocketAddr)>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let op = match &mut self.op {
            Ok(op) => op,
            Err(e) => {
                let e = std::mem::replace(e, io::Error::other("accept polled after completion"));
                return std::task::Poll::Ready(Err(e));
            }
        };
        let (fd, peer) =
            std::task::ready!(std::pin::Pin::new(op).poll(cx)).map_err(|e| named("accept", e))?;
        let stream = TcpStream::from_fd(fd);
        let peer = match peer {
            Some(peer) => peer,
            None => stream.peer_addr()?,
        };
        std::task::Poll::Ready(Ok((stream, peer)))
    }
}

impl fmt::Debug for Accept<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accept").finish_non_exhaustive()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

crate::io_util::impl_as_fd!(TcpListener);

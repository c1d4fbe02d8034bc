use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use std::time::Duration;

use uring_driver::op::AcceptMulti;
use uring_driver::{BufResult, Handle, IoBuf, IoBufMut, MultishotOp, Op, SharedFd, socket};

use super::buf_ring::{BufRing, RecvStream};
use super::stream_io;
use crate::error::{named, named_buf};
use crate::executor::worker;

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

fn no_runtime() -> io::Error {
    io::Error::other("ringlet I/O used outside a ringlet runtime (call it from run/block_on)")
}

pub(crate) fn driver() -> io::Result<Handle> {
    worker::current_driver().ok_or_else(no_runtime)
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
        Incoming {
            fd: self.fd.clone(),
            op: Some(Incoming::arm(&self.fd)),
        }
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

/// The stream of connections made by [`TcpListener::incoming`].
///
/// The kernel may end a multishot accept at any time (for instance when its completion
/// queue is full); the stream then re-arms it, so it ends only on an error that accepting
/// again cannot cure (the listener was shut down or is not listening).
pub struct Incoming {
    /// The listening socket, to re-arm the accept.
    fd: SharedFd,
    /// The multishot accept, or why it could not start; `None` once ended for good.
    op: Option<io::Result<MultishotOp<AcceptMulti>>>,
}

impl Incoming {
    fn arm(fd: &SharedFd) -> io::Result<MultishotOp<AcceptMulti>> {
        driver().map(|driver| MultishotOp::accept_multi(&driver, fd))
    }

    /// Whether accepting again may succeed after `error`: resource shortages (`EMFILE`,
    /// `ENFILE`, `ENOBUFS`, `ENOMEM`) and connections that died in the backlog pass; a
    /// listener that was shut down or is not listening does not.
    fn recoverable(error: &io::Error) -> bool {
        matches!(
            error.raw_os_error(),
            Some(
                libc::EMFILE
                    | libc::ENFILE
                    | libc::ENOBUFS
                    | libc::ENOMEM
                    | libc::ECONNABORTED
                    | libc::EPROTO
                    | libc::EPERM
                    | libc::EINTR
                    | libc::EAGAIN
            )
        )
    }

    /// The next connection; `None` once the listener cannot accept any more (it was shut
    /// down, or an error accepting again cannot cure was reported as the item before).
    /// Errors such as `EMFILE` are items: the caller decides whether to back off; the next
    /// call accepts again.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future returned loses no connection: one the kernel accepts meanwhile
    /// waits in the stream for the next call.
    pub async fn next(&mut self) -> Option<io::Result<TcpStream>> {
        loop {
            let op = match self.op.as_mut()? {
                Ok(op) => op,
                Err(_) => {
                    let Some(Err(e)) = self.op.take() else {
                        unreachable!()
                    };
                    return Some(Err(e));
                }
            };
            match op.next().await {
                Some(Ok(fd)) => return Some(Ok(TcpStream::from_fd(fd))),
                Some(Err(e)) => {
                    let e = named("accept", e);
                    if Self::recoverable(&e) {
                        // The multishot may have ended with this error: the next call
                        // re-arms it if so.
                    } else {
                        self.op = None;
                    }
                    return Some(Err(e));
                }
                // The kernel ended the multishot without an error: accept again.
                None => self.op = Some(Self::arm(&self.fd)),
            }
        }
    }
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("ended", &self.op.is_none())
            .finish()
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

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A TCP connection. Reads and writes take owned buffers and give them back.
///
/// ```no_run
/// use ringlet::net::TcpStream;
///
/// ringlet::run(async {
///     let stream = TcpStream::connect("127.0.0.1:7878".parse().unwrap()).await?;
///     let (result, _) = stream.write_all(b"ping".to_vec()).await;
///     result?;
///     let (result, reply) = stream.read(Vec::with_capacity(1024)).await;
///     println!("{} bytes: {:?}", result?, reply);
///     Ok::<_, std::io::Error>(())
/// })?
/// # ; Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    fd: SharedFd,
}

impl TcpStream {
    /// The socket, shared with the ops in flight on it.
    #[cfg_attr(
        not(feature = "compat"),
        expect(dead_code, reason = "only the compat layer uses it")
    )]
    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    fn from_fd(fd: OwnedFd) -> TcpStream {
        TcpStream {
            fd: SharedFd::new(fd),
        }
    }

    /// Opens a connection to `addr`.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if nothing listens there, `TimedOut`, `NetworkUnreachable`, ...;
    /// or an error if called outside a runtime.
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let connect = async {
            let driver = driver()?;
            let fd = SharedFd::new(socket::socket_for(&addr, libc::SOCK_STREAM)?);
            Op::connect(&driver, &fd, addr).await?;
            Ok(TcpStream { fd })
        };
        connect
            .await
            .map_err(|e| named(format!("connect to {addr}"), e))
    }

    /// Opens a connection to `addr`, giving up after `timeout` (the connect is cancelled
    /// in the kernel).
    ///
    /// # Errors
    ///
    /// `TimedOut` after `timeout`, or what [`connect`](TcpStream::connect) reports.
    pub async fn connect_timeout(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let connect = async {
            let driver = driver()?;
            let fd = SharedFd::new(socket::socket_for(&addr, libc::SOCK_STREAM)?);
            // A linked timeout: the kernel itself cancels the connect when time runs out.
            let op = driver.with_link_timeout(timeout, || Op::connect(&driver, &fd, addr));
            match op.await {
                Ok(()) => Ok(TcpStream { fd }),
                Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("timed out after {timeout:?}"),
                )),
                Err(e) => Err(e),
            }
        };
        connect
            .await
            .map_err(|e| named(format!("connect to {addr}"), e))
    }

    /// Resolves `host` (`"example.org:80"`, `"[::1]:8080"`, ...) on the blocking pool,
    /// so the worker keeps running meanwhile, then connects to each address in turn until
    /// one answers.
    ///
    /// # Errors
    ///
    /// The resolver's error, or the last address's connect error.
    pub async fn connect_host(host: &str) -> io::Result<TcpStream> {
        let name = host.to_string();
        let host = name.clone();
        let addrs: Vec<SocketAddr> =
            crate::task::spawn_blocking(move || host.to_socket_addrs().map(Iterator::collect))
                .await
                .map_err(io::Error::from)?
                .map_err(|e| named(format!("resolve {name:?}"), e))?;
        let mut last_error = None;
        for addr in addrs {
            match Self::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "host resolved to no address")
        }))
    }

    /// Reads up to `buf.bytes_total()` bytes into `buf` (from its start). `Ok(0)` means
    /// the peer closed its side (EOF), or that `buf` has no room.
    ///
    /// # Errors
    ///
    /// `ConnectionReset` if the peer reset the connection, among others. The buffer comes
    /// back either way.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        stream_io::recv(&self.fd, buf).await
    }

    /// Reads until `buf` is full (`buf.bytes_total()` bytes).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the peer closes first (the bytes read so far are in `buf`), or
    /// the first read error.
    pub async fn read_exact<B: IoBufMut>(&self, buf: B) -> BufResult<(), B> {
        stream_io::recv_exact(&self.fd, buf).await
    }

    /// Reads into several buffers in order, filling each before the next (one syscall's
    /// worth: what is available now, up to their total room).
    ///
    /// # Errors
    ///
    /// As [`read`](TcpStream::read); the buffers come back either way.
    pub async fn readv<B: IoBufMut>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        named_buf(
            "readv",
            match driver() {
                Ok(driver) => Op::readv(&driver, &self.fd, bufs).await,
                Err(e) => (Err(e), bufs),
            },
        )
    }

    /// Writes the initialized bytes of several buffers in order, as one send; returns how
    /// many bytes were written (possibly fewer than all).
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); the buffers come back either way.
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        named_buf(
            "writev",
            match driver() {
                Ok(driver) => Op::send_vectored(&driver, &self.fd, bufs).await,
                Err(e) => (Err(e), bufs),
            },
        )
    }

    /// Receives through a buffer pool instead of a buffer of this connection's own: the
    /// stream yields the pool's buffers as data arrives. An idle connection then holds no
    /// buffer at all — the way to hold many mostly-idle connections.
    pub fn recv_stream(&self, pool: &BufRing) -> RecvStream {
        RecvStream::new(self.fd.clone(), pool)
    }

    /// Splits the stream into a read half and a write half that can be used by different
    /// tasks (of this worker). Dropping the write half shuts the write side down, so the
    /// peer reads EOF.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let read = TcpStream {
            fd: self.fd.clone(),
        };
        (
            OwnedReadHalf { stream: read },
            OwnedWriteHalf { stream: self },
        )
    }

    /// Writes some of `buf`'s initialized bytes; returns how many.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` or `ConnectionReset` if the peer is gone (never a `SIGPIPE`), among
    /// others. The buffer comes back either way.
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        stream_io::send(&self.fd, buf).await
    }

    /// Writes some of `buf`'s initialized bytes without copying them into the kernel
    /// (`IORING_OP_SEND_ZC`, Linux 6.0+). Worth it for large buffers (tens of KiB and up);
    /// the buffer comes back only once the kernel has finished reading it.
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); `Unsupported` on kernels without zero-copy send.
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        named_buf(
            "send_zc",
            match driver() {
                Ok(driver) => uring_driver::op::SendZcOp::send_zc(&driver, &self.fd, buf, 0).await,
                Err(e) => (Err(e), buf),
            },
        )
    }

    /// Writes all of `buf`'s initialized bytes.
    ///
    /// # Errors
    ///
    /// The first write error, or `WriteZero` if the socket accepts nothing. The buffer comes
    /// back either way.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        stream_io::send_all(&self.fd, buf).await
    }

    /// Shuts down the read side, the write side, or both. Shutting down `Write` sends FIN:
    /// the peer reads EOF after the data already sent.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is already gone.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket::shutdown(&self.fd, how)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        socket::set_nodelay(&self.fd, on)
    }

    /// Sets `SO_LINGER`: `Some(Duration::ZERO)` makes dropping the stream reset the
    /// connection instead of closing it gracefully.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket::set_linger(&self.fd, linger)
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(&self.fd)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` reports.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(&self.fd)
    }
}

/// The read half of a [`TcpStream`], from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: TcpStream,
}

impl OwnedReadHalf {
    /// As [`TcpStream::read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.read(buf).await
    }

    /// As [`TcpStream::read_exact`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    pub async fn read_exact<B: IoBufMut>(&self, buf: B) -> BufResult<(), B> {
        self.stream.read_exact(buf).await
    }

    /// As [`TcpStream::readv`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::readv`].
    pub async fn readv<B: IoBufMut>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        self.stream.readv(bufs).await
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

/// The write half of a [`TcpStream`], from [`TcpStream::into_split`]. Dropping it shuts
/// the write side down (the peer reads EOF).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: TcpStream,
}

impl OwnedWriteHalf {
    /// As [`TcpStream::write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.write(buf).await
    }

    /// As [`TcpStream::write_all`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.stream.write_all(buf).await
    }

    /// As [`TcpStream::writev`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::writev`].
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        self.stream.writev(bufs).await
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // The connection may be gone already; nothing to report then.
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.fd.as_raw_fd())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<std::net::TcpStream> for TcpStream {
    /// Adopts a connected std stream (blocking or not: io_uring handles both).
    fn from(stream: std::net::TcpStream) -> TcpStream {
        TcpStream::from_fd(stream.into())
    }
}

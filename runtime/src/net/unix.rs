//! Unix-domain sockets: `UnixListener`, `UnixStream` (reads and writes shared with TCP in
//! `stream_io.rs`) and `UnixDatagram`.
//!
//! Owns: the Unix socket types and their paths. Must not submit ops by hand: every op gets
//! its ring through `executor/context.rs`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use uring_driver::socket::{self, SockAddr};
use uring_driver::{BufResult, Handle, IoBuf, IoBufMut, Op, SharedFd};

use super::buf_ring::{BufRing, RecvStream};
use super::incoming::Incoming;
use super::stash::ReadStash;
use super::stream_io;
use crate::error::named;
use crate::executor::context::{driver, with_driver};

/// Accept backlog of [`UnixListener::bind`].
const BACKLOG: u32 = 1024;

/// A Unix-domain stream socket listening at a path.
///
/// ```
/// use ringlet::net::{UnixListener, UnixStream};
///
/// ringlet::run(async {
///     let path = std::env::temp_dir().join(format!("ringlet-doc-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     let client = UnixStream::connect(&path).await?;
///     let server = listener.accept().await?;
///     client.write_all(b"hi".to_vec()).await.0?;
///     let (n, buf) = server.read(vec![0u8; 8]).await;
///     assert_eq!(&buf[..n?], b"hi");
///     std::fs::remove_file(&path)
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    fd: SharedFd,
    path: PathBuf,
}

impl UnixListener {
    /// Creates a socket file at `path` and listens on it. The file is left in place when
    /// the listener drops (remove it yourself, as with std).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists, `InvalidInput` for a path over 107 bytes, ...
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let addr = SockAddr::from_unix_path(path)?;
        let fd = socket::unix_socket(libc::SOCK_STREAM)?;
        socket::bind_raw(&fd, &addr)?;
        socket::listen(&fd, BACKLOG)?;
        Ok(UnixListener {
            fd: SharedFd::new(fd),
            path: path.to_path_buf(),
        })
    }

    /// Accepts one connection. (Its peer address is almost always unnamed, so none is
    /// returned.)
    ///
    /// # Errors
    ///
    /// What `accept(2)` reports (`EMFILE`, ...).
    ///
    /// # Cancel safety
    ///
    /// Dropped while in the kernel, the accept is cancelled, and a connection the kernel
    /// accepted for it meanwhile is closed; [`incoming`](UnixListener::incoming)'s `next`
    /// loses none.
    pub async fn accept(&self) -> io::Result<UnixStream> {
        let (fd, _) = Op::accept(&driver()?, &self.fd)
            .await
            .map_err(|e| named("accept", e))?;
        Ok(UnixStream::on(SharedFd::new(fd)))
    }

    /// A stream of incoming connections from one multishot accept, as
    /// [`TcpListener::incoming`](super::TcpListener::incoming).
    pub fn incoming(&self) -> Incoming<UnixStream> {
        Incoming::new(&self.fd, |fd| UnixStream::on(SharedFd::new(fd)))
    }

    /// The path the listener is bound to.
    pub fn local_path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("path", &self.path)
            .finish()
    }
}

/// A connected Unix-domain stream socket. Reads and writes take owned buffers.
pub struct UnixStream {
    fd: SharedFd,
    /// What dropped reads received, for the next read.
    stash: ReadStash,
}

impl UnixStream {
    /// A stream on `fd`, a connected Unix stream socket.
    fn on(fd: SharedFd) -> UnixStream {
        UnixStream {
            fd,
            stash: ReadStash::default(),
        }
    }

    /// What dropped reads received, for the next read.
    #[cfg_attr(
        not(feature = "compat"),
        expect(dead_code, reason = "only the compat layer uses it")
    )]
    pub(crate) fn stash(&self) -> &ReadStash {
        &self.stash
    }

    /// The socket, shared with the ops in flight on it.
    #[cfg_attr(
        not(feature = "compat"),
        expect(dead_code, reason = "only the compat layer uses it")
    )]
    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing is at `path`, `ConnectionRefused` if nobody listens there.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the connect and closes the socket.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let connect = async {
            let addr = SockAddr::from_unix_path(path)?;
            let fd = SharedFd::new(socket::unix_socket(libc::SOCK_STREAM)?);
            Op::connect_raw(&driver()?, &fd, addr).await?;
            Ok(UnixStream::on(fd))
        };
        connect
            .await
            .map_err(|e| named(format!("connect to {path:?}"), e))
    }

    /// A connected pair of unnamed sockets.
    ///
    /// # Errors
    ///
    /// What `socketpair(2)` reports.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from(a), UnixStream::from(b)))
    }

    /// As [`TcpStream::read`](super::TcpStream::read): from the buffer's start; `Ok(0)` is
    /// EOF.
    ///
    /// # Errors
    ///
    /// A receive error; `InvalidInput` for a buffer with no room. The buffer comes back
    /// either way.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read`](super::TcpStream::read): what a dropped read
    /// receives is the next read's.
    pub fn read<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        stream_io::recv(&self.stash, &self.fd, buf)
    }

    /// As [`TcpStream::read_buf`](super::TcpStream::read_buf): appends to `buf`.
    ///
    /// # Errors
    ///
    /// A receive error; `InvalidInput` if `buf` is full.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read`](super::TcpStream::read).
    pub fn read_buf<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        stream_io::recv_append(&self.stash, &self.fd, buf)
    }

    /// As [`TcpStream::read_exact`](super::TcpStream::read_exact).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the peer closes first, or a receive error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read_exact`](super::TcpStream::read_exact): the bytes
    /// read so far are the next read's.
    pub fn read_exact<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        stream_io::recv_exact(&self.stash, &self.fd, buf)
    }

    /// As [`TcpStream::write`](super::TcpStream::write).
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if the peer is gone (never `SIGPIPE`), ...
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`TcpStream::write`](super::TcpStream::write).
    pub fn write<B: IoBuf>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        stream_io::send(&self.fd, buf)
    }

    /// As [`TcpStream::write_all`](super::TcpStream::write_all).
    ///
    /// # Errors
    ///
    /// The first send error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`TcpStream::write_all`](super::TcpStream::write_all).
    pub fn write_all<B: IoBuf>(&self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        stream_io::send_all(&self.fd, buf)
    }

    /// Receives through a buffer pool, as [`TcpStream::recv_stream`](super::TcpStream::recv_stream):
    /// an idle connection holds no buffer.
    pub fn recv_stream(&self, pool: &BufRing) -> RecvStream {
        RecvStream::new(self.fd.clone(), pool, &self.stash)
    }

    /// Shuts down the read side, the write side, or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket::shutdown(&self.fd, how)
    }

    /// The path of the peer's socket, if it has one.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_path(&self) -> io::Result<Option<PathBuf>> {
        Ok(socket::peer_sockaddr(&self.fd)?.to_unix_path())
    }
}

impl From<std::os::unix::net::UnixStream> for UnixStream {
    fn from(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream::on(SharedFd::new(stream.into()))
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// A Unix-domain datagram socket.
pub struct UnixDatagram {
    fd: SharedFd,
}

impl UnixDatagram {
    /// Creates a datagram socket bound to `path`.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists, `InvalidInput` for a path over 107 bytes, ...
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = SockAddr::from_unix_path(path.as_ref())?;
        let fd = socket::unix_socket(libc::SOCK_DGRAM)?;
        socket::bind_raw(&fd, &addr)?;
        Ok(UnixDatagram {
            fd: SharedFd::new(fd),
        })
    }

    /// An unbound datagram socket (it can send, and receive replies to a connected peer).
    ///
    /// # Errors
    ///
    /// What `socket(2)` reports.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            fd: SharedFd::new(socket::unix_socket(libc::SOCK_DGRAM)?),
        })
    }

    /// A connected pair of unnamed datagram sockets.
    ///
    /// # Errors
    ///
    /// What `socketpair(2)` reports.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        let wrap = |s: std::os::unix::net::UnixDatagram| UnixDatagram {
            fd: SharedFd::new(s.into()),
        };
        Ok((wrap(a), wrap(b)))
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound`/`ConnectionRefused` if nothing is bound there, ...; the buffer comes
    /// back either way.
    ///
    /// # Cancel safety
    ///
    /// Dropped while in the kernel, the datagram may have been sent.
    pub async fn send_to<B: IoBuf>(&self, buf: B, path: impl AsRef<Path>) -> BufResult<usize, B> {
        let addr = match SockAddr::from_unix_path(path.as_ref()) {
            Ok(addr) => addr,
            Err(e) => return (Err(e), buf),
        };
        with_driver("send_to", buf, |driver, buf| {
            Op::send_to_raw(driver, &self.fd, buf, addr)
        })
        .await
    }

    /// Receives one datagram and the sender's path (`None` if the sender is unbound).
    ///
    /// # Errors
    ///
    /// A receive error; the buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a receive dropped while in the kernel is cancelled, and a datagram
    /// it had received by then is lost.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, Option<PathBuf>), B> {
        let received = |driver: &Handle, buf| {
            let op = Op::recv_from(driver, &self.fd, buf);
            async move {
                let (result, buf) = op.await;
                (result.map(|(n, addr)| (n, addr.to_unix_path())), buf)
            }
        };
        with_driver("recv_from", buf, received).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected, ...
    ///
    /// # Cancel safety
    ///
    /// Dropped while in the kernel, the datagram may have been sent.
    pub fn send<B: IoBuf>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        stream_io::send(&self.fd, buf)
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// A receive error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a receive dropped while in the kernel is cancelled there, and a
    /// datagram it had received by then is lost (datagrams may be lost anyway).
    pub fn recv<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        with_driver("recv", buf, |driver, buf| {
            Op::recv(driver, &self.fd, buf, 0)
        })
    }

    /// The path this socket is bound to, if any.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` reports.
    pub fn local_path(&self) -> io::Result<Option<PathBuf>> {
        Ok(socket::local_sockaddr(&self.fd)?.to_unix_path())
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

crate::io_util::impl_as_fd!(UnixListener, UnixStream, UnixDatagram);

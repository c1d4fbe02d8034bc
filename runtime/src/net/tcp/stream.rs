//! A connected TCP stream: connecting, owned-buffer writes (vectored, fixed and zero-copy
//! forms), shutdown and socket options; its reads are in `read.rs`.
//!
//! Owns: `TcpStream`. Must not raise `SIGPIPE`: every write is a send with `MSG_NOSIGNAL`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

use std::time::Duration;

use uring_driver::{BufResult, FixedBuf, IoBuf, Op, RegisteredFd, SharedFd, socket};

use crate::error::named;
use crate::executor::context::{driver, with_driver};
use crate::io_util::Either;
use crate::net::ToSocketAddrs;
use crate::net::stash::ReadStash;
use crate::net::stream_io;

/// A TCP connection. Reads and writes take owned buffers and give them back.
///
/// ```no_run
/// use ringlet::net::TcpStream;
///
/// ringlet::run(async {
///     let stream = TcpStream::connect("127.0.0.1:7878").await?;
///     let (result, _) = stream.write_all(b"ping".to_vec()).await;
///     result?;
///     let (result, reply) = stream.read(Vec::with_capacity(1024)).await;
///     println!("{} bytes: {:?}", result?, reply);
///     Ok::<_, std::io::Error>(())
/// })?
/// # ; Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    pub(super) fd: SharedFd,
    /// The socket's slot in the worker's table of registered files, once registered.
    pub(super) registered: Option<RegisteredFd>,
    /// What dropped reads received, for the next read; shared by the halves.
    pub(super) stash: ReadStash,
}

impl TcpStream {
    /// The socket, shared with the ops in flight on it.
    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    /// What dropped reads received, for the next read.
    #[cfg_attr(
        not(feature = "compat"),
        expect(dead_code, reason = "only the compat layer uses it")
    )]
    pub(crate) fn stash(&self) -> &ReadStash {
        &self.stash
    }

    /// A stream on `fd`, a connected TCP socket.
    pub(super) fn from_fd(fd: OwnedFd) -> TcpStream {
        Self::from_shared(SharedFd::new(fd))
    }

    /// Another handle on the same socket, registered slot included (a split's half).
    pub(super) fn share(&self) -> TcpStream {
        TcpStream {
            fd: self.fd.clone(),
            registered: self.registered.clone(),
            stash: self.stash.clone(),
        }
    }

    /// A stream on a socket shared with another handle (the other half of a split).
    pub(super) fn from_shared(fd: SharedFd) -> TcpStream {
        TcpStream {
            fd,
            registered: None,
            stash: ReadStash::default(),
        }
    }

    /// Opens a connection to `addr`: a `SocketAddr`, or anything
    /// [`ToSocketAddrs`](crate::net::ToSocketAddrs) takes (`"127.0.0.1:8080"`,
    /// `("example.org", 80)`, ...); a host name is resolved on the blocking pool, and each
    /// address it resolves to is tried in turn until one answers.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if nothing listens there, `TimedOut`, `NetworkUnreachable`, ...
    /// (the last address's); the resolver's error; or an error if called outside a
    /// runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the connect in the kernel and closes the socket.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in addr.resolve().await? {
            match Self::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "connect: the address resolved to nothing",
            )
        }))
    }

    /// Opens a connection to one address.
    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let connect = async {
            let driver = driver()?;
            let fd = SharedFd::new(socket::socket_for(&addr, libc::SOCK_STREAM)?);
            Op::connect(&driver, &fd, addr).await?;
            Ok(TcpStream::from_shared(fd))
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
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the connect in the kernel and closes the socket.
    pub async fn connect_timeout(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let connect = async {
            let driver = driver()?;
            let fd = SharedFd::new(socket::socket_for(&addr, libc::SOCK_STREAM)?);
            // A linked timeout: the kernel itself cancels the connect when time runs out.
            let op = driver.with_link_timeout(timeout, || Op::connect(&driver, &fd, addr));
            match op.await {
                Ok(()) => Ok(TcpStream::from_shared(fd)),
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
    /// one answers: the same as [`connect`](TcpStream::connect) with a string.
    ///
    /// # Errors
    ///
    /// The resolver's error, or the last address's connect error.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the lookup's result or the connect, and closes the
    /// socket.
    pub async fn connect_host(host: &str) -> io::Result<TcpStream> {
        Self::connect(host).await
    }

    /// Writes the initialized bytes of several buffers in order, as one send; returns how
    /// many bytes were written (possibly fewer than all).
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); the buffers come back either way.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`write`](TcpStream::write).
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        with_driver("writev", bufs, |driver, bufs| {
            Op::send_vectored(driver, &self.fd, bufs)
        })
        .await
    }

    /// Installs the socket in the current worker's table of registered files (a direct
    /// descriptor; the table is made on first use, with 4096 slots): from then on `read`,
    /// `read_exact`, `write` and `write_all` name it by its slot, and the kernel skips
    /// looking up and reference-counting the descriptor on each op. The saving is small
    /// (about 1% of a loopback echo server's CPU, docs/benchmarks.md "Levers"); the
    /// descriptor stays open for everything else, and the slot is freed when the stream
    /// (and every op on it) is gone. A second call does nothing.
    ///
    /// # Errors
    ///
    /// Every slot in use (`OutOfMemory`), a kernel before 5.19 (`Unsupported`), or not
    /// being in a runtime.
    pub fn register(&mut self) -> io::Result<()> {
        if self.registered.is_none() {
            let table = crate::executor::context::file_table()?;
            let fd = table
                .register_shared(&self.fd)
                .map_err(|e| named("register", e))?;
            self.registered = Some(fd);
        }
        Ok(())
    }

    /// Whether [`register`](TcpStream::register) installed the socket in the worker's
    /// table.
    pub fn is_registered(&self) -> bool {
        self.registered.is_some()
    }

    /// Writes a registered buffer's initialized bytes; returns how many were sent
    /// (possibly fewer: write the rest from a buffer of its own, or retry).
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); `InvalidInput` for a buffer of another worker's
    /// pool.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`write`](TcpStream::write); a dropped buffer goes back to its
    /// pool once the kernel is done.
    pub async fn write_fixed(&self, buf: FixedBuf) -> BufResult<usize, FixedBuf> {
        with_driver("write_fixed", buf, |driver, buf| {
            Op::write_fixed_at(driver, &self.fd, buf, u64::MAX)
        })
        .await
    }

    /// Writes some of `buf`'s initialized bytes; returns how many.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` or `ConnectionReset` if the peer is gone (never a `SIGPIPE`), among
    /// others. The buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a send dropped while in the kernel is cancelled, but may have sent
    /// part or all of the buffer, and how much is not known; the peer's view of the stream
    /// is then uncertain. Do not race writes against other branches: run them to completion
    /// (in a task of their own if need be), or close the connection after dropping one.
    pub fn write<B: IoBuf>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        match &self.registered {
            Some(fd) => Either::A {
                future: stream_io::send(fd, buf),
            },
            None => Either::B {
                future: stream_io::send(&self.fd, buf),
            },
        }
    }

    /// Writes some of `buf`'s initialized bytes without copying them into the kernel
    /// (`IORING_OP_SEND_ZC`, Linux 6.0+). Worth it for large buffers (tens of KiB and up);
    /// the buffer comes back only once the kernel has finished reading it.
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); `Unsupported` on kernels without zero-copy send.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`write`](TcpStream::write); the buffer is held until the kernel
    /// has finished reading it.
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        with_driver("send_zc", buf, |driver, buf| {
            uring_driver::op::SendZcOp::send_zc(driver, &self.fd, buf, 0)
        })
        .await
    }

    /// Writes all of `buf`'s initialized bytes.
    ///
    /// # Errors
    ///
    /// The first write error, or `WriteZero` if the socket accepts nothing. The buffer comes
    /// back either way.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped, some prefix of the buffer may have been sent (as
    /// [`write`](TcpStream::write)).
    pub fn write_all<B: IoBuf>(&self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        match &self.registered {
            Some(fd) => Either::A {
                future: stream_io::send_all(fd, buf),
            },
            None => Either::B {
                future: stream_io::send_all(&self.fd, buf),
            },
        }
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

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.fd.as_raw_fd())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl From<std::net::TcpStream> for TcpStream {
    /// Adopts a connected std stream (blocking or not: io_uring handles both).
    fn from(stream: std::net::TcpStream) -> TcpStream {
        TcpStream::from_fd(stream.into())
    }
}

crate::io_util::impl_as_fd!(TcpStream);

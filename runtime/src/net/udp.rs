//! `UdpSocket` over io_uring: datagrams to and from addresses, or a connected peer.
//!
//! Owns: the UDP socket type and its stream of pooled datagrams. Must not submit ops by
//! hand: every op gets its ring through `executor/context.rs`.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::{Deref, Range};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll, ready};

use uring_driver::op::RecvMsgMulti;
use uring_driver::{
    BufResult, Handle, IoBuf, IoBufMut, MultishotOp, Op, RingBuf, SharedFd, socket,
};

use super::buf_ring::{BufRing, Rearmed};

use crate::error::named;
use crate::executor::context::{driver, with_driver};

/// A UDP socket: datagrams with owned buffers.
///
/// ```
/// use ringlet::net::UdpSocket;
///
/// ringlet::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     a.send_to(b"ping".to_vec(), b.local_addr()?).await.0?;
///     let (got, buf) = b.recv_from(vec![0u8; 64]).await;
///     let (n, from) = got?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    fd: SharedFd,
}

impl UdpSocket {
    /// Binds a socket to `addr` (each address it resolves to is tried in turn).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `PermissionDenied`, ...: the error of the last address tried.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            let bound = socket::socket_for(&addr, libc::SOCK_DGRAM)
                .and_then(|fd| socket::bind(&fd, &addr).map(|()| fd));
            match bound {
                Ok(fd) => {
                    return Ok(UdpSocket {
                        fd: SharedFd::new(fd),
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        }))
    }

    /// Sets the default peer: `send` goes there and `recv` only takes its datagrams.
    ///
    /// # Errors
    ///
    /// What `connect(2)` reports for a datagram socket (e.g. `NetworkUnreachable`).
    ///
    /// # Cancel safety
    ///
    /// Dropped, the socket may be connected already; it changes nothing else.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        Op::connect(&driver()?, &self.fd, addr)
            .await
            .map_err(|e| named(format!("connect to {addr}"), e))
    }

    /// Sends `buf`'s initialized bytes as one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// `MessageTooLong` past the size limit, `ConnectionRefused` reported from an earlier
    /// datagram, ...; the buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// A datagram goes whole or not at all: dropped while in the kernel, it may have been
    /// sent.
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> BufResult<usize, B> {
        with_driver("send_to", buf, |driver, buf| {
            Op::send_to(driver, &self.fd, buf, addr)
        })
        .await
    }

    /// Receives one datagram into `buf` and the address it came from. A datagram longer
    /// than the buffer's room is truncated.
    ///
    /// # Errors
    ///
    /// A receive error; the buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a receive dropped while in the kernel is cancelled, and a datagram
    /// it had received by then is lost (datagrams may be lost anyway).
    /// [`recv_stream`](UdpSocket::recv_stream)'s `next` loses nothing.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let received = |driver: &Handle, buf| {
            let op = Op::recv_from(driver, &self.fd, buf);
            async move {
                let (result, buf) = op.await;
                let result = result.and_then(|(n, addr)| {
                    let addr = addr.to_std().ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "datagram from a non-IP address")
                    })?;
                    Ok((n, addr))
                });
                (result, buf)
            }
        };
        with_driver("recv_from", buf, received).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](UdpSocket::connect), `ConnectionRefused` if the
    /// peer's port was closed, ...
    ///
    /// # Cancel safety
    ///
    /// As [`send_to`](UdpSocket::send_to): dropped, the datagram may have been sent.
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        with_driver("send", buf, |driver, buf| {
            Op::send(driver, &self.fd, buf, 0)
        })
        .await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if the peer's port was closed, ...
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`recv_from`](UdpSocket::recv_from).
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        with_driver("recv", buf, |driver, buf| {
            Op::recv(driver, &self.fd, buf, 0)
        })
        .await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` reports.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(&self.fd)
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](UdpSocket::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(&self.fd)
    }

    /// Receives datagrams through a buffer pool: one multishot receive (Linux 6.0+) stays
    /// in the kernel and each datagram arrives in a pool buffer with its sender's address,
    /// with no submission per datagram. Each pool buffer holds 144 bytes of header and
    /// address before the payload: size them for the largest datagram plus that (a longer
    /// one is [truncated](Datagram::is_truncated)).
    ///
    /// ```
    /// use ringlet::net::{BufRing, UdpSocket};
    ///
    /// ringlet::run(async {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.send_to(b"ping".to_vec(), server.local_addr()?).await.0?;
    ///     let pool = BufRing::new(16, 2048)?;
    ///     let mut datagrams = server.recv_stream(&pool);
    ///     let datagram = datagrams.next().await?;
    ///     assert_eq!((&datagram[..], datagram.source()), (&b"ping"[..], client.local_addr()?));
    ///     // Echo it back from the pool buffer, without a copy.
    ///     let to = datagram.source();
    ///     server.send_to(datagram, to).await.0?;
    ///     Ok::<(), std::io::Error>(())
    /// })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_stream(&self, pool: &BufRing) -> DatagramStream {
        DatagramStream {
            inner: Rearmed::new(
                self.fd.clone(),
                pool,
                "recvmsg",
                MultishotOp::recv_msg_multi,
            ),
        }
    }
}

/// The datagrams of [`UdpSocket::recv_stream`], each in a pool buffer.
pub struct DatagramStream {
    inner: Rearmed<RecvMsgMulti>,
}

impl DatagramStream {
    /// The next datagram. When the pool runs dry this waits for a buffer to come back and
    /// receives again; datagrams wait in the socket's receive queue meanwhile (beyond it,
    /// the kernel drops them, as for any UDP socket).
    ///
    /// # Errors
    ///
    /// A receive error (the next call receives again); not being in a runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: a datagram received meanwhile is returned by the
    /// next call.
    pub async fn next(&mut self) -> io::Result<Datagram> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The poll form of [`next`](DatagramStream::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Datagram>> {
        let received = ready!(self.inner.poll_next(cx))?;
        let Some(source) = received.source else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "recvmsg: a datagram without an IP source address",
            )));
        };
        Poll::Ready(Ok(Datagram {
            buf: received.buf,
            payload: received.payload,
            source,
            truncated: received.truncated,
        }))
    }
}

impl fmt::Debug for DatagramStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramStream")
            .field("armed", &self.inner.is_armed())
            .finish()
    }
}

/// One datagram from a [`DatagramStream`]: its payload (the `Deref` target), in a pool
/// buffer that goes back to the pool when this drops, and its sender. It is an [`IoBuf`]
/// of the payload, so it can be sent on without a copy.
pub struct Datagram {
    buf: RingBuf,
    payload: Range<usize>,
    source: SocketAddr,
    truncated: bool,
}

impl Datagram {
    /// Who sent it.
    pub fn source(&self) -> SocketAddr {
        self.source
    }

    /// Whether the datagram was longer than the pool buffer's room: the payload is its
    /// beginning.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl Deref for Datagram {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[self.payload.clone()]
    }
}

// SAFETY: the payload lies inside the pool buffer (`payload` was checked against the
// bytes received), whose memory does not move and lives as long as the `RingBuf` held
// here; the kernel does not write a leased buffer.
unsafe impl IoBuf for Datagram {
    fn stable_ptr(&self) -> *const u8 {
        self.deref().as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.payload.len()
    }
    fn bytes_total(&self) -> usize {
        self.payload.len()
    }
}

impl fmt::Debug for Datagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Datagram")
            .field("len", &self.payload.len())
            .field("source", &self.source)
            .field("truncated", &self.truncated)
            .finish()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .field("local", &self.local_addr().ok())
            .finish()
    }
}

impl From<std::net::UdpSocket> for UdpSocket {
    fn from(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            fd: SharedFd::new(socket.into()),
        }
    }
}

crate::io_util::impl_as_fd!(UdpSocket);

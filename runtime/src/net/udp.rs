//! `UdpSocket` over io_uring: datagrams to and from addresses, or a connected peer.
//!
//! Owns: the UDP socket type. Must not submit ops by hand: every op gets its ring through
//! `executor/context.rs`.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;

use uring_driver::{BufResult, Handle, IoBuf, IoBufMut, Op, SharedFd, socket};

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

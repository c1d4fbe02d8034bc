//! The two halves of a [`TcpStream`]: a read half and a write half, usable by different
//! tasks of one worker; dropping the write half sends FIN.
//!
//! Owns: `OwnedReadHalf`, `OwnedWriteHalf`, `into_split`. Must not close the socket while
//! the other half lives: both hold the `SharedFd`.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;

use uring_driver::{BufResult, IoBuf, IoBufMut};

use super::stream::TcpStream;
use crate::net::{BufRing, RecvStream};

impl TcpStream {
    /// Splits the stream into a read half and a write half that can be used by different
    /// tasks (of this worker). Dropping the write half shuts the write side down, so the
    /// peer reads EOF.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let read = self.share();
        (
            OwnedReadHalf { stream: read },
            OwnedWriteHalf {
                stream: self,
                shutdown_on_drop: true,
            },
        )
    }
}

/// The read half of a [`TcpStream`], from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: TcpStream,
}

impl OwnedReadHalf {
    /// Puts the halves of one stream back together into the [`TcpStream`] they came from
    /// (the write side stays open).
    ///
    /// # Errors
    ///
    /// [`ReuniteError`], holding both halves, if `write` is the half of another stream.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        // Both halves hold the socket open, so equal descriptor numbers are one socket.
        if self.stream.fd().as_raw_fd() != write.stream.fd().as_raw_fd() {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        Ok(write.stream.share())
    }

    /// Receives through a buffer pool, as [`TcpStream::recv_stream`].
    pub fn recv_stream(&self, pool: &BufRing) -> RecvStream {
        self.stream.recv_stream(pool)
    }

    /// As [`TcpStream::read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read`]: the stream's next read returns what a dropped
    /// one received.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.read(buf).await
    }

    /// As [`TcpStream::read_buf`]: appends to `buf`.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_buf`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read`].
    pub async fn read_buf<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.read_buf(buf).await
    }

    /// As [`TcpStream::read_exact`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read_exact`]: the bytes read so far are the next
    /// read's.
    pub async fn read_exact<B: IoBufMut>(&self, buf: B) -> BufResult<(), B> {
        self.stream.read_exact(buf).await
    }

    /// As [`TcpStream::readv`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::readv`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpStream::read`].
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
    /// Cleared by [`reunite`](OwnedReadHalf::reunite), which keeps the connection whole.
    shutdown_on_drop: bool,
}

impl OwnedWriteHalf {
    /// As [`TcpStream::write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    ///
    /// # Cancel safety
    ///
    /// As [`TcpStream::write`]: not cancel safe.
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.stream.write(buf).await
    }

    /// As [`TcpStream::write_all`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    ///
    /// # Cancel safety
    ///
    /// As [`TcpStream::write_all`]: not cancel safe.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.stream.write_all(buf).await
    }

    /// As [`TcpStream::writev`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::writev`].
    ///
    /// # Cancel safety
    ///
    /// As [`TcpStream::write`]: not cancel safe.
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

impl OwnedWriteHalf {
    /// Puts the halves back together, as [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// As [`OwnedReadHalf::reunite`].
    pub fn reunite(self, read: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        read.reunite(self)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The connection may be gone already; nothing to report then.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams; here they are
/// back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite the halves of two different TCP streams")
    }
}

impl std::error::Error for ReuniteError {}

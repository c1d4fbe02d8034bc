//! The two halves of a [`TcpStream`]: a read half and a write half, usable by different
//! tasks of one worker; dropping the write half sends FIN.
//!
//! Owns: `OwnedReadHalf`, `OwnedWriteHalf`, `into_split`. Must not close the socket while
//! the other half lives: both hold the `SharedFd`.

use std::io;
use std::net::{Shutdown, SocketAddr};

use uring_driver::{BufResult, IoBuf, IoBufMut};

use super::stream::TcpStream;

impl TcpStream {
    /// Splits the stream into a read half and a write half that can be used by different
    /// tasks (of this worker). Dropping the write half shuts the write side down, so the
    /// peer reads EOF.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let read = TcpStream::from_shared(self.fd().clone());
        (
            OwnedReadHalf { stream: read },
            OwnedWriteHalf { stream: self },
        )
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

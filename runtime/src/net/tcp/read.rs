//! A TCP stream's reads: owned-buffer, appending, exact, vectored and fixed-buffer reads,
//! and receiving through a buffer ring. All of them take from the stream's read stash
//! first (cancel safety, `net/stash.rs`).
//!
//! Owns: the read methods of [`TcpStream`] (`stream.rs` has the rest).

use std::future::Future;

use uring_driver::{BufResult, FixedBuf, IoBufMut, Op};

use super::TcpStream;
use crate::io_util::Either;
use crate::net::buf_ring::{BufRing, RecvStream};
use crate::net::stream_io::{self, StreamRead};

impl TcpStream {
    /// Reads up to `buf.bytes_total()` bytes into `buf`, from its start (like tokio's
    /// `read(&mut buf[..])`): `buf[..n]` is what was read; bytes past `n` are left as they
    /// were, and a `Vec`'s length grows to `n` if it was shorter (never shrinks). To append
    /// to what `buf` holds instead, use [`read_buf`](TcpStream::read_buf). `Ok(0)` means
    /// the peer closed its side (EOF).
    ///
    /// # Errors
    ///
    /// `ConnectionReset` if the peer reset the connection, among others; `InvalidInput`
    /// for a buffer with no room (`Vec::new()`), which could not tell data from EOF. The
    /// buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses no data. A read dropped while the kernel
    /// holds it (the loser of a `select!`, a read under a `timeout` that fired) keeps its
    /// op in the kernel, and whatever it receives is what the stream's next read returns
    /// first, in order; that next read (of any kind, through any handle of this stream)
    /// waits for the dropped one to complete. The dropped buffer is held until then.
    pub fn read<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        match &self.registered {
            Some(fd) => Either::A {
                future: stream_io::recv(&self.stash, fd, buf),
            },
            None => Either::B {
                future: stream_io::recv(&self.stash, &self.fd, buf),
            },
        }
    }

    /// Reads into the room after `buf`'s initialized bytes, appending to them (like tokio's
    /// `read_buf`): for a `Vec`, into its spare capacity, its length growing by `n`.
    /// `Ok(0)` is EOF.
    ///
    /// ```
    /// use ringlet::net::UnixStream;
    ///
    /// ringlet::run(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     a.write_all(b"world".to_vec()).await.0?;
    ///     let mut buf = Vec::with_capacity(64);
    ///     buf.extend_from_slice(b"hello ");
    ///     let (n, buf) = b.read_buf(buf).await;
    ///     assert_eq!(n?, 5);
    ///     assert_eq!(buf, b"hello world");
    ///     Ok::<(), std::io::Error>(())
    /// })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read`](TcpStream::read); `InvalidInput` if `buf` is full (reserve room first).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](TcpStream::read).
    pub fn read_buf<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        match &self.registered {
            Some(fd) => Either::A {
                future: stream_io::recv_append(&self.stash, fd, buf),
            },
            None => Either::B {
                future: stream_io::recv_append(&self.stash, &self.fd, buf),
            },
        }
    }

    /// Reads until `buf` is full (`buf.bytes_total()` bytes), from its start.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the peer closes first (the bytes read so far are in `buf`), or
    /// the first read error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped, it keeps the bytes it had read (and its read in the kernel,
    /// as [`read`](TcpStream::read) does) for the stream's next read, which returns them
    /// first. Reading the same `read_exact` again after a drop starts over with those
    /// bytes, so no byte is lost or read twice.
    pub fn read_exact<B: IoBufMut>(&self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        match &self.registered {
            Some(fd) => Either::A {
                future: stream_io::recv_exact(&self.stash, fd, buf),
            },
            None => Either::B {
                future: stream_io::recv_exact(&self.stash, &self.fd, buf),
            },
        }
    }

    /// Reads into several buffers in order, filling each before the next (one syscall's
    /// worth: what is available now, up to their total room).
    ///
    /// # Errors
    ///
    /// As [`read`](TcpStream::read); the buffers come back either way.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](TcpStream::read).
    pub fn readv<B: IoBufMut>(
        &self,
        bufs: Vec<B>,
    ) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        StreamRead::new(
            &self.stash,
            "readv",
            stream_io::vectored(),
            bufs,
            |driver, bufs| Op::readv(driver, &self.fd, bufs),
        )
    }

    /// Reads into a registered buffer from a [`FixedBufPool`](crate::buf::FixedBufPool)
    /// of this worker (the kernel skips mapping it), from the buffer's start
    /// ([`FixedBuf::clear`] it to reuse it). `Ok(0)` is EOF.
    ///
    /// # Errors
    ///
    /// As [`read`](TcpStream::read); `InvalidInput` for a buffer of another worker's pool.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](TcpStream::read) (the dropped buffer goes back to its pool
    /// once its data is read).
    pub fn read_fixed(&self, buf: FixedBuf) -> impl Future<Output = BufResult<usize, FixedBuf>> {
        // Offset -1: a socket has no file position.
        StreamRead::new(
            &self.stash,
            "read_fixed",
            stream_io::plain(),
            buf,
            |driver, buf| Op::read_fixed_at(driver, &self.fd, buf, u64::MAX),
        )
    }

    /// Receives through a buffer pool instead of a buffer of this connection's own: the
    /// stream yields the pool's buffers as data arrives. An idle connection then holds no
    /// buffer at all — the way to hold many mostly-idle connections.
    pub fn recv_stream(&self, pool: &BufRing) -> RecvStream {
        RecvStream::new(self.fd.clone(), pool, &self.stash)
    }
}

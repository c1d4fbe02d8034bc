//! Poll-based I/O traits over ringlet's owned-buffer streams, for the ecosystem's crates:
//! tokio's `AsyncRead`/`AsyncWrite`, futures' `AsyncRead`/`AsyncWrite`, and hyper 1.x
//! (`Read`/`Write`, an [`Executor`](HyperExecutor) and a [`Timer`](HyperTimer)).
//! Enabled by the `compat` feature.
//!
//! Those traits lend the stream the caller's buffer for one `poll` only, while io_uring
//! needs a buffer that stays put until the kernel is done with it. So [`Compat`] owns
//! one read buffer and one write buffer and copies: a read receives into its buffer and
//! copies out; a write copies in (every slice of a vectored write, into one send),
//! returns at once, and sends in the background (the next write, or a flush, waits for it
//! and reports its error). The copies cost about as much
//! as a `memcpy` of the bytes moved; docs/benchmarks.md measures them against the
//! owned-buffer API.
//!
//! ```no_run
//! use ringlet::compat::Compat;
//! use ringlet::net::TcpStream;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let stream = TcpStream::connect("127.0.0.1:7878").await?;
//! let mut io = Compat::new(stream);
//! io.write_all(b"ping").await?;
//! let mut reply = [0u8; 4];
//! io.read_exact(&mut reply).await?;
//! # Ok(())
//! # }
//! ```
//!
//! (`tokio::io::AsyncReadExt` needs tokio's `io-util` feature in your own manifest.)

mod hyper_rt;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use uring_driver::op::{Recv, Send as SendOp};
use uring_driver::{Op, RingBuf, SharedFd};

pub use hyper_rt::{HyperExecutor, HyperSleep, HyperTimer};

use crate::error::named;
use crate::net::{BufRing, Kept, RecvStream, TcpStream, UnixStream};

/// Bytes a read asks the kernel for when the caller's room is smaller.
const READ_CHUNK: usize = 16 << 10;
/// Largest write copied into the write buffer at once.
const WRITE_CHUNK: usize = 64 << 10;

mod sealed {
    pub trait Sealed {
        /// What dropped reads of the stream received: read before the socket.
        fn read_stash(&self) -> &crate::net::ReadStash;
    }
}

/// A connected stream [`Compat`] can wrap: [`TcpStream`] or [`UnixStream`].
pub trait CompatStream: sealed::Sealed {
    #[doc(hidden)]
    fn shared_fd(&self) -> &SharedFd;
    #[doc(hidden)]
    fn shutdown_write(&self) -> io::Result<()>;
}

impl sealed::Sealed for TcpStream {
    fn read_stash(&self) -> &crate::net::ReadStash {
        self.stash()
    }
}
impl CompatStream for TcpStream {
    fn shared_fd(&self) -> &SharedFd {
        self.fd()
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

impl sealed::Sealed for UnixStream {
    fn read_stash(&self) -> &crate::net::ReadStash {
        self.stash()
    }
}
impl CompatStream for UnixStream {
    fn shared_fd(&self) -> &SharedFd {
        self.fd()
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

enum ReadState {
    /// No receive in flight; the buffer waits for the next one.
    Idle(Vec<u8>),
    Receiving(Op<Recv<Vec<u8>>>),
    /// Received bytes not yet handed out, from `pos`.
    Buffered(Vec<u8>, usize),
    /// Receiving from a buffer ring: one multishot receive stays armed; `chunk` is the
    /// leased buffer being handed out, from its offset.
    Pooled {
        stream: RecvStream,
        chunk: Option<(RingBuf, usize)>,
    },
}

enum WriteState {
    Idle(Vec<u8>),
    /// A send of the buffer's bytes, in flight.
    Sending(Op<SendOp<Vec<u8>>>),
}

/// A ringlet stream with the poll-based read and write traits of tokio, futures and
/// hyper (see the [module docs](self) for the buffering).
///
/// Dropping it while a receive or send is in flight is sound like dropping any op: the
/// buffers stay with the driver until the kernel is done. Bytes accepted by a write
/// that was not flushed are lost then, as with any buffered writer.
pub struct Compat<S: CompatStream> {
    stream: S,
    read: ReadState,
    write: WriteState,
}

impl<S: CompatStream> fmt::Debug for Compat<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compat")
            .field("fd", &self.stream.shared_fd())
            .field("receiving", &matches!(self.read, ReadState::Receiving(_)))
            .field("pooled", &matches!(self.read, ReadState::Pooled { .. }))
            .field("sending", &matches!(self.write, WriteState::Sending(_)))
            .finish()
    }
}

impl<S: CompatStream> Compat<S> {
    /// Wraps `stream`; reads receive into a buffer of its own.
    pub fn new(stream: S) -> Compat<S> {
        Compat {
            stream,
            read: ReadState::Idle(Vec::new()),
            write: WriteState::Idle(Vec::new()),
        }
    }

    /// Wraps `stream`; reads take data from `pool`, a buffer ring shared by the worker's
    /// connections, through one multishot receive that stays armed (no receive to submit
    /// per read, and an idle connection holds no read buffer). The bytes are still copied
    /// out to the caller, and the ring buffer goes back to the pool once read.
    pub fn with_buf_ring(stream: S, pool: &BufRing) -> Compat<S> {
        let recv = RecvStream::new(stream.shared_fd().clone(), pool, stream.read_stash());
        Compat {
            stream,
            read: ReadState::Pooled {
                stream: recv,
                chunk: None,
            },
            write: WriteState::Idle(Vec::new()),
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Unwraps the stream. Received bytes not yet read stay the stream's: its next read
    /// returns them (a receive in flight included). Writes not yet flushed are dropped;
    /// call `flush` first to keep them.
    pub fn into_inner(self) -> S {
        let Compat { stream, read, .. } = self;
        let stash = stream.read_stash();
        match read {
            ReadState::Idle(_) => {}
            ReadState::Buffered(mut buf, pos) => {
                buf.drain(..pos);
                let len = buf.len();
                stash.keep_front(Kept::new(buf, len));
            }
            ReadState::Receiving(op) => {
                if op.in_flight() {
                    stash.keep_read(async move {
                        let (result, buf) = op.await;
                        result.map(|n| Kept::new(buf, n))
                    });
                }
            }
            ReadState::Pooled {
                stream: recv,
                chunk,
            } => {
                // The chunk came before what the receive stream still holds, which it
                // keeps when dropped.
                if let Some((buf, pos)) = chunk {
                    let rest = buf[pos..].to_vec();
                    let len = rest.len();
                    stash.keep_front(Kept::new(rest, len));
                }
                drop(recv);
            }
        }
        stream
    }

    /// Hands out up to `room` received bytes through `put`, receiving first if none are
    /// buffered. `Ok(0)` with `room > 0` is end of stream.
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        room: usize,
        put: impl FnOnce(&[u8]),
    ) -> Poll<io::Result<usize>> {
        if room == 0 {
            return Poll::Ready(Ok(0));
        }
        let mut put = Some(put);
        loop {
            match &mut self.read {
                ReadState::Buffered(buf, pos) => {
                    let n = hand_out(buf, pos, room, put.take().expect("bytes handed out once"));
                    if *pos == buf.len() {
                        self.read = ReadState::Idle(std::mem::take(buf));
                    }
                    return Poll::Ready(Ok(n));
                }
                ReadState::Idle(buf) => {
                    // Bytes dropped reads of the stream kept come before the socket's.
                    let stash = self.stream.read_stash();
                    let taken = stash.poll_read(cx, |bytes| {
                        let n = bytes.len().min(room);
                        (put.take().expect("bytes handed out once"))(&bytes[..n]);
                        n
                    });
                    if let Some(read) = ready!(taken) {
                        return Poll::Ready(read);
                    }
                    let mut buf = std::mem::take(buf);
                    buf.clear();
                    buf.reserve(room.max(READ_CHUNK));
                    let driver = match crate::executor::context::driver() {
                        Ok(driver) => driver,
                        Err(e) => {
                            self.read = ReadState::Idle(buf);
                            return Poll::Ready(Err(e));
                        }
                    };
                    let op = Op::recv(&driver, self.stream.shared_fd(), buf, 0);
                    self.read = ReadState::Receiving(op);
                }
                ReadState::Pooled { stream, chunk } => {
                    if let Some((buf, pos)) = chunk {
                        let n =
                            hand_out(buf, pos, room, put.take().expect("bytes handed out once"));
                        if *pos == buf.len() {
                            *chunk = None; // back to the pool
                        }
                        return Poll::Ready(Ok(n));
                    }
                    match ready!(stream.poll_next(cx)) {
                        Some(Ok(buf)) => *chunk = Some((buf, 0)),
                        None => return Poll::Ready(Ok(0)),
                        Some(Err(e)) => return Poll::Ready(Err(e)),
                    }
                }
                ReadState::Receiving(op) => {
                    let (result, buf) = ready!(Pin::new(op).poll(cx));
                    match result {
                        Ok(0) => {
                            self.read = ReadState::Idle(buf);
                            return Poll::Ready(Ok(0));
                        }
                        Ok(_) => self.read = ReadState::Buffered(buf, 0),
                        Err(e) => {
                            self.read = ReadState::Idle(buf);
                            return Poll::Ready(Err(named("recv", e)));
                        }
                    }
                }
            }
        }
    }

    /// Finishes the send in flight, if any, resending what a short send left.
    fn poll_send_done(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let WriteState::Sending(op) = &mut self.write else {
                return Poll::Ready(Ok(()));
            };
            let (result, mut buf) = ready!(Pin::new(op).poll(cx));
            let sent = match result {
                Ok(n) => n,
                Err(e) => {
                    self.write = WriteState::Idle(buf);
                    return Poll::Ready(Err(named("send", e)));
                }
            };
            if sent == buf.len() {
                self.write = WriteState::Idle(buf);
                return Poll::Ready(Ok(()));
            }
            // A short send: the rest goes out from the same buffer.
            buf.drain(..sent);
            self.start_send(buf)?;
        }
    }

    fn start_send(&mut self, buf: Vec<u8>) -> io::Result<()> {
        let driver = match crate::executor::context::driver() {
            Ok(driver) => driver,
            Err(e) => {
                self.write = WriteState::Idle(buf);
                return Err(e);
            }
        };
        let op = Op::send(&driver, self.stream.shared_fd(), buf, 0);
        self.write = WriteState::Sending(op);
        Ok(())
    }

    /// Accepts up to [`WRITE_CHUNK`] bytes of `data` once the previous send is done.
    fn poll_write_priv(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, &[io::IoSlice::new(data)])
    }

    /// Accepts up to [`WRITE_CHUNK`] bytes of `bufs`, in order, into one send: a header
    /// and a body go out together without the caller flattening them first.
    fn poll_write_vectored_priv(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_send_done(cx))?;
        let WriteState::Idle(buf) = &mut self.write else {
            unreachable!("no send in flight after poll_send_done")
        };
        let mut buf = std::mem::take(buf);
        buf.clear();
        for data in bufs {
            let n = data.len().min(WRITE_CHUNK - buf.len());
            buf.extend_from_slice(&data[..n]);
            if buf.len() == WRITE_CHUNK {
                break;
            }
        }
        let n = buf.len();
        if n == 0 {
            self.write = WriteState::Idle(buf);
            return Poll::Ready(Ok(0));
        }
        self.start_send(buf)?;
        Poll::Ready(Ok(n))
    }

    fn poll_shutdown_priv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_done(cx))?;
        Poll::Ready(self.stream.shutdown_write())
    }
}

/// Passes up to `room` bytes of `buf` from `pos` to `put` and advances `pos`.
fn hand_out(buf: &[u8], pos: &mut usize, room: usize, put: impl FnOnce(&[u8])) -> usize {
    let n = room.min(buf.len() - *pos);
    put(&buf[*pos..*pos + n]);
    *pos += n;
    n
}

impl<S: CompatStream + Unpin> tokio::io::AsyncRead for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let room = buf.remaining();
        self.get_mut()
            .poll_read_with(cx, room, |bytes| buf.put_slice(bytes))
            .map_ok(|_| ())
    }
}

/// The write side of each I/O trait family: the same four calls under its own names.
macro_rules! impl_write {
    ($trait:path, $close:ident $(, $vectored:ident)?) => {
        impl<S: CompatStream + Unpin> $trait for Compat<S> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                data: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().poll_write_priv(cx, data)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().poll_write_vectored_priv(cx, bufs)
            }

            $(
                fn $vectored(&self) -> bool {
                    true
                }
            )?

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().poll_send_done(cx)
            }

            fn $close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().poll_shutdown_priv(cx)
            }
        }
    };
}

impl_write!(tokio::io::AsyncWrite, poll_shutdown, is_write_vectored);
impl_write!(futures_io::AsyncWrite, poll_close);
impl_write!(hyper::rt::Write, poll_shutdown, is_write_vectored);

impl<S: CompatStream + Unpin> futures_io::AsyncRead for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let room = buf.len();
        self.get_mut()
            .poll_read_with(cx, room, |bytes| buf[..bytes.len()].copy_from_slice(bytes))
    }
}

impl<S: CompatStream + Unpin> hyper::rt::Read for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let room = buf.remaining();
        self.get_mut()
            .poll_read_with(cx, room, |bytes| buf.put_slice(bytes))
            .map_ok(|_| ())
    }
}

//! [`FramedRecv`]: frames decoded straight out of the buffer pool a stream receives into.
//!
//! Owns: carrying a partial frame across pool buffers. Must not copy a frame that lies
//! whole inside one pool buffer: the decoder reads it where the kernel put it.

use std::fmt;
use std::io;
use std::task::{Context, Poll, ready};

use uring_driver::RingBuf;

use super::framed::Decoder;
use crate::net::RecvStream;

/// The frames of a stream that receives through a buffer pool
/// ([`TcpStream::recv_stream`](crate::net::TcpStream::recv_stream)), decoded by `D`
/// straight out of the pool's buffers: a frame inside one buffer is decoded where the
/// kernel wrote it, with no copy into a buffer of the connection's own; only a frame split
/// across buffers is gathered (the buffers' bytes copied once). Each pool buffer goes back
/// to the pool as soon as its frames are decoded, so an idle connection holds no buffer.
///
/// ```
/// use ringlet::io::{FramedRecv, LinesCodec};
/// use ringlet::net::{BufRing, UnixStream};
///
/// ringlet::run(async {
///     let pool = BufRing::new(16, 8)?; // small buffers: lines split across them
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"first line\nsecond\nlast".to_vec()).await.0?;
///     drop(a);
///     let mut lines = FramedRecv::new(b.recv_stream(&pool), LinesCodec::new());
///     let mut got = Vec::new();
///     while let Some(line) = lines.next().await {
///         got.push(line?);
///     }
///     assert_eq!(got, ["first line", "second", "last"]);
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct FramedRecv<D> {
    stream: RecvStream,
    decoder: D,
    /// The pool buffer being decoded, from its offset.
    current: Option<(RingBuf, usize)>,
    /// A partial frame's bytes, gathered across buffers; they come before `current`.
    carry: Vec<u8>,
    done: bool,
}

impl<D: Decoder> FramedRecv<D> {
    /// Frames of what `stream` receives.
    pub fn new(stream: RecvStream, decoder: D) -> FramedRecv<D> {
        FramedRecv {
            stream,
            decoder,
            current: None,
            carry: Vec::new(),
            done: false,
        }
    }

    /// The next frame; `None` at EOF (after the last whole frame) or after an error.
    ///
    /// # Errors
    ///
    /// The stream's receive error, or the decoder's (the stream ends there).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partial frame and the buffers not yet decoded stay for the next
    /// call.
    pub async fn next(&mut self) -> Option<io::Result<D::Item>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The poll form of [`next`](FramedRecv::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<D::Item>>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            match self.decode_buffered() {
                Ok(Some(item)) => return Poll::Ready(Some(Ok(item))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(self.fail(e)),
            }
            match ready!(self.stream.poll_next(cx)) {
                Some(Ok(buf)) => self.current = Some((buf, 0)),
                Some(Err(e)) => return Poll::Ready(self.fail(e)),
                None => {
                    // `decode_buffered` left everything in `carry`.
                    self.done = true;
                    return Poll::Ready(match self.decoder.decode_eof(&self.carry) {
                        Ok(Some((used, item))) => {
                            self.carry.drain(..used);
                            self.done = self.carry.is_empty();
                            Some(Ok(item))
                        }
                        Ok(None) => None,
                        Err(e) => Some(Err(e)),
                    });
                }
            }
        }
    }

    /// A frame out of what is buffered, or `None` with every buffered byte in `carry`.
    fn decode_buffered(&mut self) -> io::Result<Option<D::Item>> {
        // With no pool buffer, `carry` holds no whole frame (decoding found none).
        let Some((buf, pos)) = self.current.as_mut() else {
            return Ok(None);
        };
        if self.carry.is_empty() {
            // The frame starts in this pool buffer: decode it there.
            if let Some((used, item)) = self.decoder.decode(&buf[*pos..])? {
                *pos += used;
                if *pos == buf.len() {
                    self.current = None; // back to the pool
                }
                return Ok(Some(item));
            }
            self.carry.extend_from_slice(&buf[*pos..]);
            self.current = None;
            return Ok(None);
        }
        // A frame split across buffers: gather, and decode the gathered bytes.
        let before = self.carry.len();
        self.carry.extend_from_slice(&buf[*pos..]);
        match self.decoder.decode(&self.carry)? {
            Some((used, item)) if used >= before => {
                // The frame ended in this buffer: the rest is decoded in place again.
                *pos += used - before;
                self.carry.clear();
                if *pos == buf.len() {
                    self.current = None;
                }
                Ok(Some(item))
            }
            Some((used, item)) => {
                self.carry.truncate(before);
                self.carry.drain(..used);
                Ok(Some(item))
            }
            None => {
                self.current = None;
                Ok(None)
            }
        }
    }

    fn fail(&mut self, e: io::Error) -> Option<io::Result<D::Item>> {
        self.done = true;
        Some(Err(e))
    }

    /// The decoder.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }
}

impl<D: fmt::Debug> fmt::Debug for FramedRecv<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramedRecv")
            .field("decoder", &self.decoder)
            .field("buffered", &self.carry.len())
            .field("holds_pool_buffer", &self.current.is_some())
            .field("done", &self.done)
            .finish()
    }
}

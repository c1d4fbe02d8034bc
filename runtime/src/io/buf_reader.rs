//! [`BufReader`]: a buffer in front of a stream, so that lines and delimited records can
//! be taken out of it however the bytes arrived.
//!
//! Owns: the reader's buffer and the line/record logic. Must not lose buffered bytes: what
//! was read and not consumed stays for the next call, or comes back from `into_parts`.

use std::fmt;
use std::future::Future;
use std::io;

use uring_driver::BufResult;

use crate::net::{OwnedReadHalf, TcpStream, UnixStream};

/// A stream that reads into owned buffers, as ringlet's sockets do: what a [`BufReader`]
/// reads from.
pub trait AsyncReadOwned {
    /// Reads into `buf`'s room, from its start, as `TcpStream::read`; `Ok(0)` is EOF.
    fn read_owned(&self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>>;
}

impl AsyncReadOwned for TcpStream {
    fn read_owned(&self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        self.read(buf)
    }
}

impl AsyncReadOwned for UnixStream {
    fn read_owned(&self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        self.read(buf)
    }
}

impl AsyncReadOwned for OwnedReadHalf {
    fn read_owned(&self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        self.read(buf)
    }
}

impl<T: AsyncReadOwned + ?Sized> AsyncReadOwned for &T {
    fn read_owned(&self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        (**self).read_owned(buf)
    }
}

impl<T: AsyncReadOwned + ?Sized> AsyncReadOwned for std::rc::Rc<T> {
    fn read_owned(&self, buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        (**self).read_owned(buf)
    }
}

/// Default buffer capacity.
const CAPACITY: usize = 8 * 1024;

/// Buffers a stream's bytes so they can be taken out by line or by delimiter, like
/// tokio's and std's `BufReader`. Each read from the stream fills a buffer of the
/// reader's capacity; bytes read and not yet consumed stay for the next call.
///
/// ```
/// use ringlet::io::BufReader;
/// use ringlet::net::UnixStream;
///
/// ringlet::run(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"first line\r\nsecond\nno end".to_vec()).await.0?;
///     drop(a);
///     let mut lines = BufReader::new(b).lines();
///     assert_eq!(lines.next_line().await?.as_deref(), Some("first line"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("second"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("no end"));
///     assert_eq!(lines.next_line().await?, None);
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct BufReader<R> {
    inner: R,
    /// Bytes read from the stream; `data[pos..]` are not consumed yet.
    data: Vec<u8>,
    pos: usize,
    /// The buffer handed to the stream for the next read.
    spare: Vec<u8>,
    capacity: usize,
    eof: bool,
}

impl<R: AsyncReadOwned> BufReader<R> {
    /// A reader with the default capacity (8 KiB).
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(CAPACITY, inner)
    }

    /// A reader that reads up to `capacity` bytes at a time (at least 1).
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        let capacity = capacity.max(1);
        BufReader {
            inner,
            data: Vec::with_capacity(capacity),
            pos: 0,
            spare: Vec::with_capacity(capacity),
            capacity,
            eof: false,
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The stream and the bytes read from it but not consumed.
    pub fn into_parts(mut self) -> (R, Vec<u8>) {
        self.data.drain(..self.pos);
        (self.inner, self.data)
    }

    /// The bytes buffered and not consumed.
    pub fn buffer(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    /// Reads once more from the stream, appending to the buffer; `Ok(false)` at EOF.
    pub(super) async fn read_more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.data.len() {
            self.data.clear();
            self.pos = 0;
        }
        let mut spare = std::mem::take(&mut self.spare);
        spare.clear();
        // A read asks for about `capacity` bytes: a buffer that grew (it held a long record
        // before it was swapped out) is not reused for it.
        if spare.capacity() < self.capacity || spare.capacity() > 2 * self.capacity {
            spare = Vec::with_capacity(self.capacity);
        }
        let (read, filled) = self.inner.read_owned(spare).await;
        self.spare = filled;
        let n = read?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        if self.data.len() == self.pos {
            // Nothing pending: take the filled buffer as it is, no copy.
            std::mem::swap(&mut self.data, &mut self.spare);
            self.data.truncate(n);
            self.pos = 0;
        } else {
            // Drop the consumed bytes first, so a stream whose reads keep ending inside a
            // record does not grow the buffer by what was already taken.
            self.data.drain(..self.pos);
            self.pos = 0;
            self.data.extend_from_slice(&self.spare[..n]);
        }
        Ok(true)
    }

    /// The buffered bytes, reading from the stream first if there are none; empty at EOF.
    ///
    /// # Errors
    ///
    /// The stream's read error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: bytes read stay buffered, and a read of the stream dropped in flight
    /// keeps its data for the stream (see
    /// [`TcpStream::read`](crate::net::TcpStream::read)).
    pub async fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.data.len() {
            self.read_more().await?;
        }
        Ok(&self.data[self.pos..])
    }

    /// Marks `n` buffered bytes as consumed (at most what is buffered).
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
    }

    /// Appends to `out` the bytes up to and including `byte`, or up to EOF; returns how
    /// many (0 at EOF).
    ///
    /// # Errors
    ///
    /// The stream's read error; the bytes read before it are in `out`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses no byte: what was taken is in `out`, the rest stays
    /// buffered. (A read of the stream that the drop cancels in flight loses what it was
    /// receiving only if the stream's own `read` does.)
    pub async fn read_until(&mut self, byte: u8, out: &mut Vec<u8>) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            let pending = &self.data[self.pos..];
            if let Some(at) = memchr::memchr(byte, pending) {
                out.extend_from_slice(&pending[..=at]);
                self.pos += at + 1;
                return Ok(taken + at + 1);
            }
            out.extend_from_slice(pending);
            taken += pending.len();
            self.pos = self.data.len();
            if !self.read_more().await? {
                return Ok(taken);
            }
        }
    }

    /// Appends to `out` the next line, `\n` included (or up to EOF); returns how many
    /// bytes (0 at EOF).
    ///
    /// # Errors
    ///
    /// The stream's read error; `InvalidData` if the line is not UTF-8 (`out` is left as
    /// it was; the line is consumed).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed or appended to `out` until the whole line is
    /// buffered; a partial line stays buffered for the next call.
    pub async fn read_line(&mut self, out: &mut String) -> io::Result<usize> {
        // The whole line is buffered before any of it is consumed.
        let mut searched = 0; // bytes of the pending ones known to hold no line end
        let len = loop {
            let pending = &self.data[self.pos..];
            if let Some(at) = memchr::memchr(b'\n', &pending[searched..]) {
                break searched + at + 1;
            }
            searched = pending.len();
            // Reading more keeps the pending bytes (it may move them to the front).
            if !self.read_more().await? {
                break self.data.len() - self.pos;
            }
        };
        let result = match std::str::from_utf8(&self.data[self.pos..self.pos + len]) {
            Ok(line) => {
                out.push_str(line);
                Ok(len)
            }
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "read_line: the line is not UTF-8",
            )),
        };
        self.pos += len; // consumed, whatever becomes of it
        result
    }

    /// The lines of the stream, without their `\n` or `\r\n`.
    pub fn lines(self) -> Lines<R> {
        Lines {
            reader: self,
            max_length: usize::MAX,
        }
    }
}

impl<R> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("buffered", &(self.data.len() - self.pos))
            .field("capacity", &self.capacity)
            .field("eof", &self.eof)
            .finish()
    }
}

/// The lines of a stream, from [`BufReader::lines`].
#[derive(Debug)]
pub struct Lines<R> {
    reader: BufReader<R>,
    max_length: usize,
}

impl<R: AsyncReadOwned> Lines<R> {
    /// Refuses lines longer than `max` bytes (without their line ending) with an
    /// `InvalidData` error, before buffering more of them: a peer that never sends a line
    /// ending cannot make the reader hold unbounded memory. Default: no limit. After the
    /// error, a complete over-long line has been skipped; an incomplete one has not, and
    /// the connection is best closed.
    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = max;
        self
    }

    /// The next line, without its `\n` or `\r\n`; `None` at EOF (a last line without a
    /// line ending is returned first).
    ///
    /// # Errors
    ///
    /// The stream's read error; `InvalidData` for a line that is not UTF-8 (consumed) or
    /// longer than [`max_length`](Lines::max_length).
    ///
    /// # Cancel safety
    ///
    /// As [`BufReader::read_until`]: a partial line stays buffered for the next call.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        let reader = &mut self.reader;
        loop {
            let pending = &reader.data[reader.pos..];
            if let Some((used, line)) = take_line(pending, self.max_length)? {
                reader.pos += used; // consumed, whatever becomes of it
                return line.map(Some);
            }
            if !reader.read_more().await? {
                let rest = &reader.data[reader.pos..];
                if rest.is_empty() {
                    return Ok(None);
                }
                let line = utf8(rest);
                reader.pos = reader.data.len();
                return line.map(Some);
            }
        }
    }

    /// The reader back (its buffered bytes included).
    pub fn into_inner(self) -> BufReader<R> {
        self.reader
    }
}

/// The line `buf` starts with, without its `\n` or `\r\n`: `Some((bytes it took, the
/// line))` if `buf` holds a whole line — the line an error if it is longer than `max`
/// or not UTF-8, the bytes taken all the same (a caller may skip it) — or `None` for
/// more bytes. `Err` for a partial line already longer than `max`.
pub(super) fn take_line(buf: &[u8], max: usize) -> io::Result<Option<(usize, io::Result<String>)>> {
    let Some(at) = memchr::memchr(b'\n', buf) else {
        if buf.len() > max {
            return Err(line_too_long(max));
        }
        return Ok(None);
    };
    let line = &buf[..at];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max {
        return Ok(Some((at + 1, Err(line_too_long(max)))));
    }
    Ok(Some((at + 1, utf8(line))))
}

/// `bytes` as a `String`, or an `InvalidData` error.
pub(super) fn utf8(bytes: &[u8]) -> io::Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the line is not UTF-8"))
}

fn line_too_long(max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("line longer than {max} bytes"),
    )
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::BufReader;
    use crate::net::UnixStream;

    /// Records that reads keep ending inside of: the buffer holds about the pending
    /// record and one read, never what was already consumed.
    #[test]
    fn consumed_bytes_do_not_pile_up() {
        crate::run(async {
            let (a, b) = UnixStream::pair().unwrap();
            // 2,000 lines of 11 bytes, read 16 bytes at a time: most reads end mid-line,
            // and the partial line stays buffered while the next read is appended.
            a.write_all(b"0123456789\n".repeat(2000)).await.0.unwrap();
            drop(a);
            let mut lines = BufReader::with_capacity(16, b).lines();
            for _ in 0..2000 {
                assert_eq!(
                    lines.next_line().await.unwrap().as_deref(),
                    Some("0123456789")
                );
                let held = lines.reader.data.len();
                assert!(held <= 64, "{held} bytes held");
            }
            assert_eq!(lines.next_line().await.unwrap(), None);
        })
        .unwrap();
    }
}

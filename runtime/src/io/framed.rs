//! Framing: a [`Decoder`] takes whole frames off the front of a stream's buffered bytes,
//! and [`FramedRead`] yields them one by one. Two codecs come with it: lines and
//! length-delimited frames.
//!
//! Owns: the decoder trait, the reader loop and the two codecs. Must not consume the bytes
//! of a partial frame: they wait for the rest.

use std::fmt;
use std::io;

use super::buf_reader::{AsyncReadOwned, BufReader, take_line, utf8};

/// Takes frames off the front of buffered bytes. Implement it for a protocol of your own.
pub trait Decoder {
    /// A decoded frame.
    type Item;

    /// If `buf` starts with a whole frame, returns it and how many bytes it took;
    /// `Ok(None)` asks for more bytes (nothing is consumed).
    ///
    /// # Errors
    ///
    /// A malformed frame: the stream ends there.
    fn decode(&mut self, buf: &[u8]) -> io::Result<Option<(usize, Self::Item)>>;

    /// At EOF, with `buf` the bytes left: by default a frame if `decode` finds one, no
    /// frame if nothing is left, and `UnexpectedEof` for a partial frame.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` for a frame cut short, or `decode`'s error.
    fn decode_eof(&mut self, buf: &[u8]) -> io::Result<Option<(usize, Self::Item)>> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stream ended inside a frame ({} bytes)", buf.len()),
            )),
        }
    }
}

/// The frames of a stream, decoded by `D`: a [`BufReader`] and a [`Decoder`].
///
/// ```
/// use ringlet::io::{FramedRead, LengthDelimitedCodec};
/// use ringlet::net::UnixStream;
///
/// ringlet::run(async {
///     let (a, b) = UnixStream::pair()?;
///     let mut bytes = Vec::new();
///     for frame in [&b"hello"[..], b"", b"world"] {
///         bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
///         bytes.extend_from_slice(frame);
///     }
///     a.write_all(bytes).await.0?;
///     drop(a);
///     let mut frames = FramedRead::new(b, LengthDelimitedCodec::new());
///     let mut got = Vec::new();
///     while let Some(frame) = frames.next().await {
///         got.push(frame?);
///     }
///     assert_eq!(got, [&b"hello"[..], b"", b"world"]);
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct FramedRead<R, D> {
    reader: BufReader<R>,
    decoder: D,
    done: bool,
}

impl<R: AsyncReadOwned, D: Decoder> FramedRead<R, D> {
    /// Frames of `inner`, read through a [`BufReader`] of the default capacity.
    pub fn new(inner: R, decoder: D) -> FramedRead<R, D> {
        FramedRead::with_reader(BufReader::new(inner), decoder)
    }

    /// Frames of what `reader` reads (its buffered bytes first).
    pub fn with_reader(reader: BufReader<R>, decoder: D) -> FramedRead<R, D> {
        FramedRead {
            reader,
            decoder,
            done: false,
        }
    }

    /// The next frame; `None` at EOF (after the last whole frame) or after an error.
    ///
    /// # Errors
    ///
    /// The stream's read error, or the decoder's (the stream ends there).
    ///
    /// # Cancel safety
    ///
    /// As [`BufReader::read_until`]: a partial frame stays buffered for the next call.
    pub async fn next(&mut self) -> Option<io::Result<D::Item>> {
        if self.done {
            return None;
        }
        let result = loop {
            match self.decoder.decode(self.reader.buffer()) {
                Ok(Some((used, item))) => {
                    self.reader.consume(used);
                    return Some(Ok(item));
                }
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            match self.reader.read_more().await {
                Ok(true) => {}
                Ok(false) => match self.decoder.decode_eof(self.reader.buffer()) {
                    Ok(Some((used, item))) => {
                        self.reader.consume(used);
                        return Some(Ok(item));
                    }
                    Ok(None) => {
                        self.done = true;
                        return None;
                    }
                    Err(e) => break Err(e),
                },
                Err(e) => break Err(e),
            }
        };
        self.done = true;
        Some(result)
    }

    /// The reader back (its buffered bytes included) and the decoder.
    pub fn into_parts(self) -> (BufReader<R>, D) {
        (self.reader, self.decoder)
    }
}

impl<R, D: fmt::Debug> fmt::Debug for FramedRead<R, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramedRead")
            .field("reader", &self.reader)
            .field("decoder", &self.decoder)
            .field("done", &self.done)
            .finish()
    }
}

/// Lines, without their `\n` or `\r\n`, as `String`s; a last line without a line ending
/// is a frame at EOF.
#[derive(Debug, Clone)]
pub struct LinesCodec {
    max_length: usize,
}

impl LinesCodec {
    /// Lines of any length.
    pub fn new() -> LinesCodec {
        LinesCodec {
            max_length: usize::MAX,
        }
    }

    /// Lines of at most `max` bytes (without the line ending); a longer one is an
    /// `InvalidData` error as soon as more than `max` bytes are buffered without a line
    /// ending.
    pub fn with_max_length(max: usize) -> LinesCodec {
        LinesCodec { max_length: max }
    }
}

impl Default for LinesCodec {
    fn default() -> Self {
        LinesCodec::new()
    }
}

impl Decoder for LinesCodec {
    type Item = String;

    fn decode(&mut self, buf: &[u8]) -> io::Result<Option<(usize, String)>> {
        match take_line(buf, self.max_length)? {
            Some((used, line)) => line.map(|line| Some((used, line))),
            None => Ok(None),
        }
    }

    fn decode_eof(&mut self, buf: &[u8]) -> io::Result<Option<(usize, String)>> {
        match self.decode(buf)? {
            Some(line) => Ok(Some(line)),
            None if buf.is_empty() => Ok(None),
            None => Ok(Some((buf.len(), utf8(buf)?))),
        }
    }
}

/// Frames that each start with their length as a 4-byte big-endian number.
#[derive(Debug, Clone)]
pub struct LengthDelimitedCodec {
    max_frame: usize,
}

impl LengthDelimitedCodec {
    /// Frames of up to 8 MiB.
    pub fn new() -> LengthDelimitedCodec {
        LengthDelimitedCodec::with_max_frame(8 << 20)
    }

    /// Frames of up to `max` bytes; a header announcing more is an `InvalidData` error
    /// before any of the frame is buffered.
    pub fn with_max_frame(max: usize) -> LengthDelimitedCodec {
        LengthDelimitedCodec { max_frame: max }
    }
}

impl Default for LengthDelimitedCodec {
    fn default() -> Self {
        LengthDelimitedCodec::new()
    }
}

impl Decoder for LengthDelimitedCodec {
    type Item = Vec<u8>;

    fn decode(&mut self, buf: &[u8]) -> io::Result<Option<(usize, Vec<u8>)>> {
        let Some(header) = buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(header.try_into().expect("4 bytes")) as usize;
        if len > self.max_frame {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a frame of {len} bytes, more than the {} allowed",
                    self.max_frame
                ),
            ));
        }
        Ok(buf.get(4..4 + len).map(|frame| (4 + len, frame.to_vec())))
    }
}

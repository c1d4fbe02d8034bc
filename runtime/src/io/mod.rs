//! Reading streams a piece at a time: [`BufReader`] over any owned-buffer stream
//! ([`AsyncReadOwned`]), with `read_line`, `read_until` and a stream of [`Lines`]; and
//! frames out of it with a [`Decoder`] ([`FramedRead`]; lines and length-delimited
//! frames come with it), or straight out of a buffer pool's buffers ([`FramedRecv`]).
//!
//! Owns: the buffered reader. Must not submit ops itself: it reads through the stream.

mod buf_reader;
mod framed;
mod framed_recv;

pub use buf_reader::{AsyncReadOwned, BufReader, Lines};
pub use framed::{Decoder, FramedRead, LengthDelimitedCodec, LinesCodec};
pub use framed_recv::FramedRecv;

//! Reading streams a piece at a time: [`BufReader`] over any owned-buffer stream
//! ([`AsyncReadOwned`]), with `read_line`, `read_until` and a stream of [`Lines`].
//!
//! Owns: the buffered reader. Must not submit ops itself: it reads through the stream.

mod buf_reader;

pub use buf_reader::{AsyncReadOwned, BufReader, Lines};

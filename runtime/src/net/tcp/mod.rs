//! TCP over io_uring: a listener and its accept futures (`listener.rs`), a connected
//! stream (`stream.rs`, its reads in `read.rs`), and the two halves a stream splits into
//! (`split.rs`).
//!
//! Owns: the TCP socket types. Must not submit ops by hand: reads and writes go through
//! `stream_io.rs`, shared with Unix streams, and every op gets its ring from the current
//! worker (`executor/context.rs`).

mod listener;
mod read;
mod split;
mod stream;

pub use listener::{Accept, ListenOptions, TcpListener};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;

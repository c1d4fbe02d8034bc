//! Networking over io_uring with owned buffers: TCP, UDP, and Unix-domain stream and
//! datagram sockets.
//!
//! Owns: the socket types. Must not reach the thread-local worker but through
//! `executor/context.rs`.

mod addr;
mod buf_ring;
mod incoming;
mod server;
mod stash;
mod stream_io;
mod tcp;
mod udp;
mod unix;

pub use addr::ToSocketAddrs;
pub use buf_ring::{BufRing, RecvStream};
pub use incoming::Incoming;
pub use server::{ServeReport, Server};
#[cfg(feature = "compat")]
pub(crate) use stash::{Kept, ReadStash};

pub use tcp::{
    Accept, ListenOptions, OwnedReadHalf, OwnedWriteHalf, ReuniteError, TcpListener, TcpStream,
};
pub use udp::{Datagram, DatagramStream, UdpSocket};
pub use unix::{UnixDatagram, UnixListener, UnixStream};

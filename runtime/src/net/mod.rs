//! Networking: TCP listeners and streams, and UDP sockets, over io_uring with owned
//! buffers.

mod buf_ring;
mod tcp;
mod udp;

pub use buf_ring::{BufRing, RecvStream};

pub use tcp::{
    Accept, Incoming, ListenOptions, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream,
};
pub use udp::UdpSocket;

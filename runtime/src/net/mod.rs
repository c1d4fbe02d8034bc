//! Networking: TCP listeners and streams, and UDP sockets, over io_uring with owned
//! buffers.

mod tcp;
mod udp;

pub use tcp::{
    Accept, Incoming, ListenOptions, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream,
};
pub use udp::UdpSocket;

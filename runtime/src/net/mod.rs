//! Networking: TCP listeners and streams over io_uring, with owned buffers.

mod tcp;

pub use tcp::{
    Accept, Incoming, ListenOptions, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream,
};

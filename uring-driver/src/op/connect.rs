//! `IORING_OP_CONNECT`: connect a socket to an address.
//!
//! Owns: the connect op's data (the boxed address). Must not point the SQE anywhere but into the
//! op's data (op rule 1).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::socket::SockAddr;
use crate::{Handle, SharedFd};

/// `IORING_OP_CONNECT`: connects a socket to an address.
#[derive(Debug)]
pub struct Connect {
    /// Keeps the socket open while the kernel connects it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
    /// Read by the kernel; boxed so its address is stable (rule 1).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    addr: Box<SockAddr>,
}

impl Op<Connect> {
    /// Connects socket `fd` to `addr`.
    pub fn connect(handle: &Handle, fd: &SharedFd, addr: SocketAddr) -> Self {
        Self::connect_raw(handle, fd, SockAddr::from_std(&addr))
    }

    /// Connects socket `fd` to an address in the kernel's layout (e.g. a Unix path).
    pub fn connect_raw(handle: &Handle, fd: &SharedFd, addr: SockAddr) -> Self {
        let addr = Box::new(addr);
        let entry =
            opcode::Connect::new(types::Fd(fd.as_raw_fd()), addr.as_ptr(), addr.len).build();
        // SAFETY: the sockaddr lives in the boxed `addr`, owned by the op's data; the socket
        // is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Connect {
                    fd: fd.clone(),
                    addr,
                },
            )
        }
    }
}

impl Completable for Connect {
    type Output = io::Result<()>;

    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

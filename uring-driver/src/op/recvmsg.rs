//! `IORING_OP_RECVMSG`: receive a datagram and the address it came from.
//!
//! Owns: the recvmsg op's data (the boxed header and address). Must not point the SQE anywhere but
//! into the op's data (op rule 1).

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::sendmsg::Message;
use super::{Completable, CqeResult, Op};
use crate::socket::SockAddr;
use crate::{BufResult, Handle, IoBufMut, SharedFd};

/// `IORING_OP_RECVMSG`: receives a datagram and the address it came from.
#[derive(Debug)]
pub struct RecvMsg<B> {
    #[expect(
        dead_code,
        reason = "held so the socket stays open until the final CQE"
    )]
    fd: SharedFd,
    buf: B,
    message: Box<Message>,
}

impl<B: IoBufMut> Op<RecvMsg<B>> {
    /// Receives one datagram into `buf` (truncated to its room), with the sender's address.
    pub fn recv_from(handle: &Handle, fd: &SharedFd, mut buf: B) -> Self {
        let iov = libc::iovec {
            iov_base: buf.stable_mut_ptr().cast(),
            iov_len: buf.bytes_total(),
        };
        let mut message = Message::new(iov, SockAddr::empty());
        let entry =
            opcode::RecvMsg::new(types::Fd(fd.as_raw_fd()), &raw mut message.header).build();
        let data = RecvMsg {
            fd: fd.clone(),
            buf,
            message,
        };
        // SAFETY: the msghdr, its iovec and the address it is filled with are boxed in the
        // op's data; the iovec points into `buf`, owned by the data; the socket is kept
        // open.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<B: IoBufMut> Completable for RecvMsg<B> {
    /// The byte count and the sender's address in the kernel's layout (see
    /// [`SockAddr::to_std`] and [`SockAddr::to_unix_path`]).
    type Output = BufResult<(usize, SockAddr), B>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| {
            let n = n as usize;
            super::kernel_filled(&mut self.buf, n);
            let mut addr = self.message.addr;
            addr.len = self.message.header.msg_namelen;
            (n, addr)
        });
        (result, self.buf)
    }
}

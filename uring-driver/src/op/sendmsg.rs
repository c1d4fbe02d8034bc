//! `IORING_OP_SENDMSG`: a datagram to an address, or a vectored send on a connected
//! socket; always `MSG_NOSIGNAL`.
//!
//! Owns: the sendmsg ops' data (the boxed headers, iovecs, address). Must not point the SQE
//! anywhere but into the op's data (op rule 1).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::transfer::{BufsOut, write_iovecs};
use super::{Completable, CqeResult, Op};
use crate::socket::SockAddr;
use crate::{BufResult, Handle, IoBuf, SharedFd};

/// A `msghdr` with the one `iovec` and the address it points to, boxed together so those
/// pointers stay valid while the op is in flight (rule 1).
pub(super) struct Message {
    pub(super) header: libc::msghdr,
    iov: libc::iovec,
    pub(super) addr: SockAddr,
}

impl Message {
    pub(super) fn new(iov: libc::iovec, addr: SockAddr) -> Box<Message> {
        let mut message = Box::new(Message {
            // SAFETY: msghdr is plain old data; all zeroes is a valid empty header.
            header: unsafe { std::mem::zeroed() },
            iov,
            addr,
        });
        message.header.msg_iov = &raw mut message.iov;
        message.header.msg_iovlen = 1;
        message.header.msg_name = message.addr.as_mut_ptr().cast();
        message.header.msg_namelen = message.addr.len;
        message
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").field("addr", &self.addr).finish()
    }
}

/// `IORING_OP_SENDMSG`: sends a datagram (or stream data) to an address.
#[derive(Debug)]
pub struct SendMsg<B> {
    #[expect(
        dead_code,
        reason = "held so the socket stays open until the final CQE"
    )]
    fd: SharedFd,
    buf: B,
    #[expect(dead_code, reason = "held so the kernel's pointers into it stay valid")]
    message: Box<Message>,
}

impl<B: IoBuf> Op<SendMsg<B>> {
    /// Sends `buf`'s initialized bytes to `addr` (`sendto` semantics, `MSG_NOSIGNAL`).
    pub fn send_to(handle: &Handle, fd: &SharedFd, buf: B, addr: SocketAddr) -> Self {
        Self::send_to_raw(handle, fd, buf, SockAddr::from_std(&addr))
    }

    /// As [`send_to`](Op::send_to), to an address in the kernel's layout (e.g. a Unix path).
    pub fn send_to_raw(handle: &Handle, fd: &SharedFd, buf: B, addr: SockAddr) -> Self {
        let iov = libc::iovec {
            iov_base: buf.stable_ptr().cast_mut().cast(),
            iov_len: buf.bytes_init(),
        };
        let message = Message::new(iov, addr);
        let entry = opcode::SendMsg::new(types::Fd(fd.as_raw_fd()), &raw const message.header)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build();
        let data = SendMsg {
            fd: fd.clone(),
            buf,
            message,
        };
        // SAFETY: the msghdr, its iovec and its address are boxed in the op's data; the
        // iovec points into `buf`, owned by the data; the socket is kept open.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<B: IoBuf> Completable for SendMsg<B> {
    type Output = BufResult<usize, B>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}

/// `IORING_OP_SENDMSG` without an address: a vectored send on a connected socket. Unlike
/// `IORING_OP_WRITEV` it takes `MSG_NOSIGNAL`, so a reset peer is an `EPIPE` error, never
/// a `SIGPIPE`.
pub type SendVectored<B> = BufsOut<B, Box<VectoredMessage>>;

/// The message header of a vectored send and the iovecs it points to, boxed together so
/// they stay put while the op is in flight (rule 1).
pub struct VectoredMessage {
    header: libc::msghdr,
    iovecs: Box<[libc::iovec]>,
}

impl std::fmt::Debug for VectoredMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectoredMessage")
            .field("iovecs", &self.iovecs.len())
            .finish()
    }
}

impl<B: IoBuf> Op<SendVectored<B>> {
    /// Sends the initialized bytes of `bufs`, in order, on connected socket `fd`
    /// (`MSG_NOSIGNAL`). Like `writev`, it may send fewer bytes than given.
    pub fn send_vectored(handle: &Handle, fd: &SharedFd, bufs: Vec<B>) -> Self {
        let iovecs = write_iovecs(&bufs);
        let mut message = Box::new(VectoredMessage {
            // SAFETY: msghdr is plain old data; all zeroes is a valid empty header.
            header: unsafe { std::mem::zeroed() },
            iovecs,
        });
        message.header.msg_iov = message.iovecs.as_ptr().cast_mut();
        message.header.msg_iovlen = message.iovecs.len();
        let entry = opcode::SendMsg::new(types::Fd(fd.as_raw_fd()), &raw const message.header)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build();
        // SAFETY: the SQE's memory is the boxed header and its iovec array, whose iovecs
        // point into the initialized regions of `bufs` (read only); its file is `fd`.
        unsafe { BufsOut::submit(handle, fd, bufs, message, entry) }
    }
}

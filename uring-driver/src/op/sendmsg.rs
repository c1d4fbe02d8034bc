use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::socket::SockAddr;
use crate::{BufResult, Handle, IoBuf, IoBufMut, SharedFd};

/// A `msghdr` with the one `iovec` and the address it points to, boxed together so those
/// pointers stay valid while the op is in flight (rule 1).
struct Message {
    header: libc::msghdr,
    iov: libc::iovec,
    addr: SockAddr,
}

impl Message {
    fn new(iov: libc::iovec, addr: SockAddr) -> Box<Message> {
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
    /// Keeps the socket open while the kernel sends on it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    buf: B,
    #[allow(dead_code)]
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

/// `IORING_OP_RECVMSG`: receives a datagram and the address it came from.
#[derive(Debug)]
pub struct RecvMsg<B> {
    /// Keeps the socket open while the kernel receives on it (rule 4).
    #[allow(dead_code)]
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

/// `IORING_OP_SENDMSG` without an address: a vectored send on a connected socket. Unlike
/// `IORING_OP_WRITEV` it takes `MSG_NOSIGNAL`, so a reset peer is an `EPIPE` error, never
/// a `SIGPIPE`.
#[derive(Debug)]
pub struct SendVectored<B> {
    /// Keeps the socket open while the kernel sends on it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    bufs: Vec<B>,
    /// The header and the iovecs it points to, boxed so they stay put (rule 1).
    #[allow(dead_code)]
    message: Box<VectoredMessage>,
}

struct VectoredMessage {
    header: libc::msghdr,
    #[allow(dead_code)]
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
        let iovecs = super::readv::write_iovecs(&bufs);
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
        let data = SendVectored {
            fd: fd.clone(),
            bufs,
            message,
        };
        // SAFETY: the msghdr and its iovec array are boxed in the op's data; each iovec
        // points into a buffer the data owns; the kernel only reads through them; the
        // socket is kept open.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<B: IoBuf> Completable for SendVectored<B> {
    type Output = BufResult<usize, Vec<B>>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.bufs)
    }
}

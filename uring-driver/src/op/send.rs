use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{BufResult, Handle, IoBuf, SharedFd};

/// `IORING_OP_SEND`: sends the initialized bytes of an owned buffer on a socket.
#[derive(Debug)]
pub struct Send<B> {
    /// Keeps the socket open while the kernel sends on it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    buf: B,
}

impl<B: IoBuf> Op<Send<B>> {
    /// Sends `buf`'s initialized bytes. `MSG_NOSIGNAL` is always added: a closed peer is an
    /// `EPIPE` error, never a `SIGPIPE` that kills the process.
    pub fn send(handle: &Handle, fd: &SharedFd, buf: B, flags: i32) -> Self {
        let len = u32::try_from(buf.bytes_init()).unwrap_or(u32::MAX);
        let entry = opcode::Send::new(types::Fd(fd.as_raw_fd()), buf.stable_ptr(), len)
            .flags(flags | libc::MSG_NOSIGNAL)
            .build();
        // SAFETY: the pointer and length are `buf`'s initialized region, owned by the op's
        // data; the socket is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Send {
                    fd: fd.clone(),
                    buf,
                },
            )
        }
    }
}

impl<B: IoBuf> Completable for Send<B> {
    type Output = BufResult<usize, B>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}

//! `IORING_OP_SEND_ZC`: a zero-copy send, resolved only at the kernel's notification.
//!
//! Owns: the send op and its two CQEs. Must not hand the buffer back before the
//! notification CQE: the kernel reads it until then.

use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use io_uring::{cqueue, opcode, types};

use super::{CqeResult, MultishotCompletable, MultishotOp};
use crate::{BufResult, Handle, IoBuf, SharedFd};

/// `IORING_OP_SEND_ZC` (Linux 6.0+): sends without copying the buffer into the kernel.
///
/// The kernel posts two CQEs: the result (with `IORING_CQE_F_MORE`), then a notification
/// once it no longer reads the buffer. The op runs on a multishot slot, so its future
/// resolves — handing the buffer back — only at that final CQE; dropped early, its
/// buffer waits in the driver for the notification like any in-flight op's.
#[derive(Debug)]
pub struct SendZc<B> {
    /// Keeps the socket open while the kernel sends on it (rule 4).
    #[expect(
        dead_code,
        reason = "held for the kernel until the final CQE, never read"
    )]
    fd: SharedFd,
    /// Read by the kernel until the notification CQE (rule 2).
    buf: Option<B>,
}

impl<B: IoBuf> MultishotCompletable for SendZc<B> {
    type Item = CqeResult;

    fn next(&mut self, cqe: CqeResult) -> CqeResult {
        cqe
    }
}

/// The future of [`send_zc`](SendZcOp::send_zc): `(result, buffer)` once the kernel is
/// done with the buffer.
#[must_use = "an op does nothing useful unless awaited, and is cancelled when dropped"]
#[derive(Debug)]
pub struct SendZcOp<B: IoBuf> {
    op: MultishotOp<SendZc<B>>,
    result: Option<io::Result<usize>>,
}

impl<B: IoBuf> SendZcOp<B> {
    /// Sends `buf`'s initialized bytes on socket `fd` without copying them
    /// (`MSG_NOSIGNAL` is added, as for send).
    pub fn send_zc(handle: &Handle, fd: &SharedFd, buf: B, flags: i32) -> Self {
        let len = u32::try_from(buf.bytes_init()).unwrap_or(u32::MAX);
        let entry = opcode::SendZc::new(types::Fd(fd.as_raw_fd()), buf.stable_ptr(), len)
            .flags(flags | libc::MSG_NOSIGNAL)
            .build();
        let data = SendZc {
            fd: fd.clone(),
            buf: Some(buf),
        };
        // SAFETY: the pointer and length are `buf`'s initialized region, owned by the op's
        // data until the final (notification) CQE; the socket is kept open by the data.
        let op = unsafe { MultishotOp::new(handle, entry, data) };
        SendZcOp { op, result: None }
    }
}

impl<B: IoBuf> Future for SendZcOp<B> {
    type Output = BufResult<usize, B>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match std::task::ready!(this.op.poll_next(cx)) {
                // The notification carries no result; the first CQE does.
                Some(cqe) if cqueue::notif(cqe.flags) => {}
                Some(cqe) => this.result = Some(cqe.result.map(|n| n as usize)),
                None => {
                    let buf = this
                        .op
                        .data_mut()
                        .and_then(|data| data.buf.take())
                        .expect("send_zc polled after completion");
                    let result = this
                        .result
                        .take()
                        .unwrap_or_else(|| Err(io::Error::other("send_zc ended without a result")));
                    return Poll::Ready((result, buf));
                }
            }
        }
    }
}

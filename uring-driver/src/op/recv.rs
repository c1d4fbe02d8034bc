use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{BufResult, Handle, IoBufMut, SharedFd};

/// `IORING_OP_RECV`: receives from a socket into an owned buffer.
#[derive(Debug)]
pub struct Recv<B> {
    /// Keeps the socket open while the kernel receives on it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    buf: B,
}

impl<B: IoBufMut> Op<Recv<B>> {
    /// Receives up to `buf.bytes_total()` bytes; `flags` are `recv(2)`'s `MSG_*` flags.
    pub fn recv(handle: &Handle, fd: &SharedFd, mut buf: B, flags: i32) -> Self {
        let len = u32::try_from(buf.bytes_total()).unwrap_or(u32::MAX);
        let entry = opcode::Recv::new(types::Fd(fd.as_raw_fd()), buf.stable_mut_ptr(), len)
            .flags(flags)
            .build();
        // SAFETY: the pointer and length are `buf`'s writable region, owned by the op's data;
        // the socket is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Recv {
                    fd: fd.clone(),
                    buf,
                },
            )
        }
    }
}

impl<B: IoBufMut> Completable for Recv<B> {
    type Output = BufResult<usize, B>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| n as usize);
        if let Ok(n) = result {
            super::kernel_filled(&mut self.buf, n);
        }
        (result, self.buf)
    }
}

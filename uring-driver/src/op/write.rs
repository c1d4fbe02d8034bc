use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::read::CURRENT_POSITION;
use super::{Completable, CqeResult, Op};
use crate::{BufResult, Handle, IoBuf, SharedFd};

/// `IORING_OP_WRITE`: writes the initialized bytes of an owned buffer.
#[derive(Debug)]
pub struct Write<B> {
    /// Keeps the fd open while the kernel writes to it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    buf: B,
}

impl<B: IoBuf> Op<Write<B>> {
    /// Writes `buf`'s initialized bytes at `offset` of `fd`.
    pub fn write_at(handle: &Handle, fd: &SharedFd, buf: B, offset: u64) -> Self {
        let len = u32::try_from(buf.bytes_init()).unwrap_or(u32::MAX);
        let entry = opcode::Write::new(types::Fd(fd.as_raw_fd()), buf.stable_ptr(), len)
            .offset(offset)
            .build();
        // SAFETY: the pointer and length are `buf`'s initialized region, owned by the op's
        // data; the fd is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Write {
                    fd: fd.clone(),
                    buf,
                },
            )
        }
    }

    /// Writes at the fd's current position (pipes, append-mode files). Like `write(2)`, a
    /// write to a pipe or socket whose reader is gone raises `SIGPIPE`; on a socket use
    /// [`send`](Op::send), which passes `MSG_NOSIGNAL`.
    pub fn write(handle: &Handle, fd: &SharedFd, buf: B) -> Self {
        Self::write_at(handle, fd, buf, CURRENT_POSITION)
    }
}

impl<B: IoBuf> Completable for Write<B> {
    type Output = BufResult<usize, B>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}

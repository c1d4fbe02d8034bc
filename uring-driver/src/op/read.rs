use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::{BufResult, Handle, IoBufMut, SharedFd};

/// `IORING_OP_READ`: reads into an owned buffer, from its start.
#[derive(Debug)]
pub struct Read<B> {
    /// Keeps the fd open while the kernel reads from it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    buf: B,
}

/// The offset that means "the file's current position" (and is required for pipes and
/// sockets).
pub(crate) const CURRENT_POSITION: u64 = u64::MAX;

impl<B: IoBufMut> Op<Read<B>> {
    /// Reads up to `buf.bytes_total()` bytes at `offset` of `fd`.
    pub fn read_at(handle: &Handle, fd: &SharedFd, mut buf: B, offset: u64) -> Self {
        let len = u32::try_from(buf.bytes_total()).unwrap_or(u32::MAX);
        let entry = opcode::Read::new(types::Fd(fd.as_raw_fd()), buf.stable_mut_ptr(), len)
            .offset(offset)
            .build();
        // SAFETY: the pointer and length are `buf`'s writable region, owned by the op's data
        // (`buf`, heap memory that does not move); the fd is kept open by the data's clone.
        unsafe {
            Op::new(
                handle,
                entry,
                Read {
                    fd: fd.clone(),
                    buf,
                },
            )
        }
    }

    /// Reads at the fd's current position (the only way to read a pipe or socket).
    pub fn read(handle: &Handle, fd: &SharedFd, buf: B) -> Self {
        Self::read_at(handle, fd, buf, CURRENT_POSITION)
    }
}

impl<B: IoBufMut> Completable for Read<B> {
    type Output = BufResult<usize, B>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| n as usize);
        if let Ok(n) = result {
            super::kernel_filled(&mut self.buf, n);
        }
        (result, self.buf)
    }
}

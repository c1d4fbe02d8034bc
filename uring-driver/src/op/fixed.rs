use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::{Completable, CqeResult, Op};
use crate::buf::FixedBuf;
use crate::{BufResult, Handle, IoBuf, IoBufMut, SharedFd};

/// `IORING_OP_READ_FIXED` / `IORING_OP_WRITE_FIXED`: read or write with a registered
/// buffer, named by its index in the ring's table.
#[derive(Debug)]
pub struct Fixed {
    /// Keeps the fd open while the kernel uses it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    buf: FixedBuf,
    read: bool,
}

impl Op<Fixed> {
    /// Reads into registered buffer `buf` at `offset` (from the buffer's start).
    pub fn read_fixed_at(handle: &Handle, fd: &SharedFd, mut buf: FixedBuf, offset: u64) -> Self {
        let len = u32::try_from(buf.bytes_total()).unwrap_or(u32::MAX);
        let entry = opcode::ReadFixed::new(
            types::Fd(fd.as_raw_fd()),
            buf.stable_mut_ptr(),
            len,
            buf.index(),
        )
        .offset(offset)
        .build();
        let data = Fixed {
            fd: fd.clone(),
            buf,
            read: true,
        };
        if let Err(e) = handle.check_owner(data.buf.handle(), "this fixed buffer") {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: the pointer and length are the registered buffer owned by the op's data
        // (its pool keeps the table registered, on this ring: checked above); the fd is
        // kept open by the data.
        unsafe { Op::new(handle, entry, data) }
    }

    /// Writes registered buffer `buf`'s initialized bytes at `offset`.
    pub fn write_fixed_at(handle: &Handle, fd: &SharedFd, buf: FixedBuf, offset: u64) -> Self {
        let len = u32::try_from(buf.bytes_init()).unwrap_or(u32::MAX);
        let entry = opcode::WriteFixed::new(
            types::Fd(fd.as_raw_fd()),
            buf.stable_ptr(),
            len,
            buf.index(),
        )
        .offset(offset)
        .build();
        let data = Fixed {
            fd: fd.clone(),
            buf,
            read: false,
        };
        if let Err(e) = handle.check_owner(data.buf.handle(), "this fixed buffer") {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: as for `read_fixed_at`; the kernel only reads the buffer.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl Completable for Fixed {
    type Output = BufResult<usize, FixedBuf>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| n as usize);
        if let (true, Ok(n)) = (self.read, &result) {
            super::kernel_filled(&mut self.buf, *n);
        }
        (result, self.buf)
    }
}

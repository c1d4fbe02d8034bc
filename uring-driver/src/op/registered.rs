use io_uring::{opcode, types};

use super::read::CURRENT_POSITION;
use super::{Completable, CqeResult, Op};
use crate::file_table::RegisteredFd;
use crate::{BufResult, Handle, IoBuf, IoBufMut};

/// Read or recv into a buffer from a [registered file](crate::RegisteredFd), named by its
/// slot in the ring's file table.
#[derive(Debug)]
pub struct RegisteredRead<B> {
    /// Keeps the slot registered while the kernel uses it (file table rule 1).
    #[allow(dead_code)]
    fd: RegisteredFd,
    buf: B,
}

/// Write or send a buffer to a [registered file](crate::RegisteredFd).
#[derive(Debug)]
pub struct RegisteredWrite<B> {
    /// Keeps the slot registered while the kernel uses it (file table rule 1).
    #[allow(dead_code)]
    fd: RegisteredFd,
    buf: B,
}

impl<B: IoBufMut> Op<RegisteredRead<B>> {
    /// Reads into `buf` at `offset` of registered file `fd` (`u64::MAX`: current position).
    pub fn read_at_registered(handle: &Handle, fd: &RegisteredFd, mut buf: B, offset: u64) -> Self {
        let len = u32::try_from(buf.bytes_total()).unwrap_or(u32::MAX);
        let entry = opcode::Read::new(types::Fixed(fd.index()), buf.stable_mut_ptr(), len)
            .offset(offset)
            .build();
        let data = RegisteredRead {
            fd: fd.clone(),
            buf,
        };
        if let Err(e) = handle.check_owner(fd.handle(), "this registered file") {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: the pointer and length are `buf`'s writable region, owned by the op's
        // data; the slot stays registered while the data holds `fd`, and belongs to this
        // ring (checked above).
        unsafe { Op::new(handle, entry, data) }
    }

    /// Receives into `buf` from registered socket `fd`.
    pub fn recv_registered(handle: &Handle, fd: &RegisteredFd, mut buf: B, flags: i32) -> Self {
        let len = u32::try_from(buf.bytes_total()).unwrap_or(u32::MAX);
        let entry = opcode::Recv::new(types::Fixed(fd.index()), buf.stable_mut_ptr(), len)
            .flags(flags)
            .build();
        let data = RegisteredRead {
            fd: fd.clone(),
            buf,
        };
        if let Err(e) = handle.check_owner(fd.handle(), "this registered file") {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: as for `read_at_registered`.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<B: IoBufMut> Completable for RegisteredRead<B> {
    type Output = BufResult<usize, B>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| n as usize);
        if let Ok(n) = result {
            super::kernel_filled(&mut self.buf, n);
        }
        (result, self.buf)
    }
}

impl<B: IoBuf> Op<RegisteredWrite<B>> {
    /// Writes `buf`'s initialized bytes at `offset` of registered file `fd`
    /// (`u64::MAX`: current position, as pipes and sockets need).
    pub fn write_at_registered(handle: &Handle, fd: &RegisteredFd, buf: B, offset: u64) -> Self {
        let len = u32::try_from(buf.bytes_init()).unwrap_or(u32::MAX);
        let entry = opcode::Write::new(types::Fixed(fd.index()), buf.stable_ptr(), len)
            .offset(offset)
            .build();
        let data = RegisteredWrite {
            fd: fd.clone(),
            buf,
        };
        if let Err(e) = handle.check_owner(fd.handle(), "this registered file") {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: the pointer and length are `buf`'s initialized region, owned by the
        // op's data; the slot stays registered while the data holds `fd`, and belongs to
        // this ring (checked above).
        unsafe { Op::new(handle, entry, data) }
    }

    /// Writes at the file's current position.
    pub fn write_registered(handle: &Handle, fd: &RegisteredFd, buf: B) -> Self {
        Self::write_at_registered(handle, fd, buf, CURRENT_POSITION)
    }

    /// Sends `buf`'s initialized bytes on registered socket `fd` (`MSG_NOSIGNAL` added).
    pub fn send_registered(handle: &Handle, fd: &RegisteredFd, buf: B, flags: i32) -> Self {
        let len = u32::try_from(buf.bytes_init()).unwrap_or(u32::MAX);
        let entry = opcode::Send::new(types::Fixed(fd.index()), buf.stable_ptr(), len)
            .flags(flags | libc::MSG_NOSIGNAL)
            .build();
        let data = RegisteredWrite {
            fd: fd.clone(),
            buf,
        };
        if let Err(e) = handle.check_owner(fd.handle(), "this registered file") {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: as for `write_at_registered`.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<B: IoBuf> Completable for RegisteredWrite<B> {
    type Output = BufResult<usize, B>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}

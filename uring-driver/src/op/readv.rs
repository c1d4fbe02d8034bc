//! `IORING_OP_READV`: read into several owned buffers in order (scatter).
//!
//! Owns: the readv op's data (the boxed iovecs). Must not point the SQE anywhere but into the op's
//! data (op rule 1).

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::transfer::CURRENT_POSITION;
use super::{Completable, CqeResult, Op};
use crate::{BufResult, Handle, IoBufMut, SharedFd};

/// `IORING_OP_READV`: reads into several owned buffers in order (scatter).
#[derive(Debug)]
pub struct Readv<B> {
    #[expect(dead_code, reason = "held so the fd stays open until the final CQE")]
    fd: SharedFd,
    bufs: Vec<B>,
    /// Points into `bufs`' writable regions; boxed, so stable (rule 1).
    #[expect(dead_code, reason = "held so the kernel's pointers into it stay valid")]
    iovecs: Box<[libc::iovec]>,
}

impl<B: IoBufMut> Op<Readv<B>> {
    /// Reads at `offset` into `bufs`, filling each (to `bytes_total`) before the next.
    pub fn readv_at(handle: &Handle, fd: &SharedFd, mut bufs: Vec<B>, offset: u64) -> Self {
        let iovecs: Box<[libc::iovec]> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.stable_mut_ptr().cast(),
                iov_len: b.bytes_total(),
            })
            .collect();
        let count = u32::try_from(iovecs.len()).unwrap_or(u32::MAX);
        let entry = opcode::Readv::new(types::Fd(fd.as_raw_fd()), iovecs.as_ptr(), count)
            .offset(offset)
            .build();
        let data = Readv {
            fd: fd.clone(),
            bufs,
            iovecs,
        };
        // SAFETY: the iovec array is boxed in the op's data and each iovec points into a
        // buffer the data owns (heap memory that does not move); the fd is kept open by
        // the data's clone.
        unsafe { Op::new(handle, entry, data) }
    }

    /// Reads at the fd's current position (pipes, sockets).
    pub fn readv(handle: &Handle, fd: &SharedFd, bufs: Vec<B>) -> Self {
        Self::readv_at(handle, fd, bufs, CURRENT_POSITION)
    }
}

impl<B: IoBufMut> Completable for Readv<B> {
    type Output = BufResult<usize, Vec<B>>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| n as usize);
        if let Ok(n) = result {
            let mut left = n;
            for buf in &mut self.bufs {
                let filled = left.min(buf.bytes_total());
                // SAFETY: the kernel filled the buffers in order; this one got `filled`
                // bytes from its start, `filled <= bytes_total`.
                unsafe { buf.set_init(filled) };
                left -= filled;
            }
        }
        (result, self.bufs)
    }
}

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};

use super::read::CURRENT_POSITION;
use super::{Completable, CqeResult, Op};
use crate::{BufResult, Handle, IoBuf, IoBufMut, SharedFd};

/// `IORING_OP_READV`: reads into several owned buffers in order (scatter).
#[derive(Debug)]
pub struct Readv<B> {
    /// Keeps the fd open while the kernel reads from it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    bufs: Vec<B>,
    /// Points into `bufs`' writable regions; boxed, so stable (rule 1).
    #[allow(dead_code)]
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

/// `IORING_OP_WRITEV`: writes several owned buffers in order (gather).
#[derive(Debug)]
pub struct Writev<B> {
    /// Keeps the fd open while the kernel writes to it (rule 4).
    #[allow(dead_code)]
    fd: SharedFd,
    bufs: Vec<B>,
    /// Points into `bufs`' initialized regions; boxed, so stable (rule 1).
    #[allow(dead_code)]
    iovecs: Box<[libc::iovec]>,
}

/// The iovecs of the initialized bytes of `bufs`, in order, for a vectored write or send.
/// Boxed: the array does not move when the op's data does (rule 1); each iovec points into
/// a heap buffer that the op's data owns with it.
pub(super) fn write_iovecs<B: IoBuf>(bufs: &[B]) -> Box<[libc::iovec]> {
    bufs.iter()
        .map(|b| libc::iovec {
            iov_base: b.stable_ptr().cast_mut().cast(),
            iov_len: b.bytes_init(),
        })
        .collect()
}

impl<B: IoBuf> Op<Writev<B>> {
    /// Writes the initialized bytes of `bufs`, in order, at `offset`.
    pub fn writev_at(handle: &Handle, fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Self {
        let iovecs = write_iovecs(&bufs);
        let count = u32::try_from(iovecs.len()).unwrap_or(u32::MAX);
        let entry = opcode::Writev::new(types::Fd(fd.as_raw_fd()), iovecs.as_ptr(), count)
            .offset(offset)
            .build();
        let data = Writev {
            fd: fd.clone(),
            bufs,
            iovecs,
        };
        // SAFETY: the iovec array is boxed in the op's data and each iovec points into a
        // buffer the data owns; the kernel only reads through them; the fd is kept open.
        unsafe { Op::new(handle, entry, data) }
    }

    /// Writes at the fd's current position (pipes, append-mode files). Like `write(2)`, a
    /// write to a pipe or socket whose reader is gone raises `SIGPIPE`; on a socket use
    /// [`send_vectored`](Op::send_vectored), which passes `MSG_NOSIGNAL`.
    pub fn writev(handle: &Handle, fd: &SharedFd, bufs: Vec<B>) -> Self {
        Self::writev_at(handle, fd, bufs, CURRENT_POSITION)
    }
}

impl<B: IoBuf> Completable for Writev<B> {
    type Output = BufResult<usize, Vec<B>>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.bufs)
    }
}

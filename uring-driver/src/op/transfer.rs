//! The data of ops that move bytes between owned buffers and one fd: what read, recv,
//! write, send, their registered-file and fixed-buffer forms, and the vectored forms have
//! in common.
//!
//! Owns: [`BufIn`] (the kernel fills a buffer from its start), [`BufOut`] (the kernel reads
//! a buffer's initialized bytes), [`BufsOut`] (the same for several buffers), the
//! [`Target`] an op names, and the one place these ops are submitted
//! ([`BufIn::submit`], [`BufOut::submit`]). Must not know opcodes: each op file builds its
//! own SQE.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;

use io_uring::{squeue, types};

use super::{Completable, CqeResult, Op};
use crate::file_table::RegisteredFd;
use crate::{BufResult, Handle, IoBuf, IoBufMut, SharedFd};

/// The offset that means "the file's current position" (and is required for pipes and
/// sockets).
pub(crate) const CURRENT_POSITION: u64 = u64::MAX;

/// The fd an op names, held by the op's data so it stays valid until the final CQE:
/// a [`SharedFd`] keeps the fd open (rule 4), a [`RegisteredFd`] keeps its file-table slot
/// registered (file table rule 1).
pub trait Target: fmt::Debug + Unpin + Clone + 'static {
    /// Checks that the target belongs to `handle`'s ring (rule 8).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if it was registered with another ring.
    fn check(&self, handle: &Handle) -> io::Result<()>;

    /// The target as the SQE names it.
    fn sqe_target(&self) -> SqeTarget;
}

/// How an SQE names its file: by fd number, or by file-table slot.
#[derive(Clone, Copy, Debug)]
pub enum SqeTarget {
    /// An fd number (`types::Fd`).
    Fd(types::Fd),
    /// A file-table slot (`types::Fixed`, `IOSQE_FIXED_FILE`).
    Fixed(types::Fixed),
}

impl Target for SharedFd {
    fn check(&self, _handle: &Handle) -> io::Result<()> {
        Ok(())
    }

    fn sqe_target(&self) -> SqeTarget {
        SqeTarget::Fd(types::Fd(self.as_raw_fd()))
    }
}

impl Target for RegisteredFd {
    fn check(&self, handle: &Handle) -> io::Result<()> {
        handle.check_owner(self.handle(), "this registered file")
    }

    fn sqe_target(&self) -> SqeTarget {
        SqeTarget::Fixed(types::Fixed(self.index()))
    }
}

/// Builds the SQE `opcode::$op::new(target, args..).method(value)...build()` for either
/// kind of [`SqeTarget`] (the opcode builders take the two as different types).
macro_rules! sqe {
    ($op:ident($target:expr $(, $arg:expr)*) $(.$method:ident($value:expr))*) => {
        match $target {
            $crate::op::transfer::SqeTarget::Fd(t) => {
                io_uring::opcode::$op::new(t $(, $arg)*)$(.$method($value))*.build()
            }
            $crate::op::transfer::SqeTarget::Fixed(t) => {
                io_uring::opcode::$op::new(t $(, $arg)*)$(.$method($value))*.build()
            }
        }
    };
}
pub(crate) use sqe;

/// Data of an op in which the kernel writes into `buf` from its start (read, recv, their
/// registered and fixed forms). Completes with the byte count and the buffer, whose
/// initialized length is that count.
#[derive(Debug)]
pub struct BufIn<K, B> {
    #[expect(dead_code, reason = "held so the fd stays valid until the final CQE")]
    fd: K,
    buf: B,
}

/// Data of an op in which the kernel reads `buf`'s initialized bytes (write, send, their
/// registered and fixed forms). Completes with the byte count and the buffer.
#[derive(Debug)]
pub struct BufOut<K, B> {
    #[expect(dead_code, reason = "held so the fd stays valid until the final CQE")]
    fd: K,
    buf: B,
}

/// The length the kernel may use of a `len`-byte region: SQE lengths are 32-bit, so a
/// larger buffer is used in part (the count in the CQE says how much).
fn sqe_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl<K: Target, B: IoBufMut> BufIn<K, B> {
    /// Submits the SQE `entry` builds from `buf`'s writable region, as an op owning `fd`
    /// and `buf`. `also` is a check of the op's other registered objects (a fixed
    /// buffer's ring); if it or the target's check fails, nothing is submitted and the
    /// op resolves to that error with the buffer.
    ///
    /// # Safety
    ///
    /// `entry` must build an SQE whose only memory is the region it is given (pointer and
    /// length) and whose file is `fd`'s [`SqeTarget`].
    pub(crate) unsafe fn submit(
        handle: &Handle,
        fd: &K,
        mut buf: B,
        also: io::Result<()>,
        entry: impl FnOnce(SqeTarget, *mut u8, u32) -> squeue::Entry,
    ) -> Op<Self> {
        let entry = entry(
            fd.sqe_target(),
            buf.stable_mut_ptr(),
            sqe_len(buf.bytes_total()),
        );
        let data = BufIn {
            fd: fd.clone(),
            buf,
        };
        if let Err(e) = also.and_then(|()| fd.check(handle)) {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: the SQE's only memory is `buf`'s writable region (this function's
        // contract), owned by the op's data on the heap (`IoBuf` rule 2); its file is
        // `fd`'s, kept valid by the data's clone and checked to be this ring's (rule 8).
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<K: Target, B: IoBufMut> Completable for BufIn<K, B> {
    type Output = BufResult<usize, B>;

    fn complete(mut self, cqe: CqeResult) -> Self::Output {
        let result = cqe.result.map(|n| n as usize);
        if let Ok(n) = result {
            super::kernel_filled(&mut self.buf, n);
        }
        (result, self.buf)
    }
}

impl<K: Target, B: IoBuf> BufOut<K, B> {
    /// Submits the SQE `entry` builds from `buf`'s initialized region, as an op owning
    /// `fd` and `buf`; `also` as for [`BufIn::submit`].
    ///
    /// # Safety
    ///
    /// `entry` must build an SQE whose only memory is the region it is given, which the
    /// kernel only reads, and whose file is `fd`'s [`SqeTarget`].
    pub(crate) unsafe fn submit(
        handle: &Handle,
        fd: &K,
        buf: B,
        also: io::Result<()>,
        entry: impl FnOnce(SqeTarget, *const u8, u32) -> squeue::Entry,
    ) -> Op<Self> {
        let entry = entry(fd.sqe_target(), buf.stable_ptr(), sqe_len(buf.bytes_init()));
        let data = BufOut {
            fd: fd.clone(),
            buf,
        };
        if let Err(e) = also.and_then(|()| fd.check(handle)) {
            return Op::rejected(handle, data, e);
        }
        // SAFETY: the SQE's only memory is `buf`'s initialized region (this function's
        // contract), owned by the op's data on the heap; its file is `fd`'s, kept valid by
        // the data's clone and checked to be this ring's (rule 8).
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<K: Target, B: IoBuf> Completable for BufOut<K, B> {
    type Output = BufResult<usize, B>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}

/// Data of a gather op (writev, a vectored send): the kernel reads the initialized bytes
/// of `bufs` in order through `iovecs` (an iovec array, or a message header holding one).
#[derive(Debug)]
pub struct BufsOut<B, M> {
    #[expect(dead_code, reason = "held so the fd stays open until the final CQE")]
    fd: SharedFd,
    bufs: Vec<B>,
    #[expect(dead_code, reason = "held so the kernel's pointers into it stay valid")]
    iovecs: M,
}

impl<B: IoBuf, M: fmt::Debug + Unpin + 'static> BufsOut<B, M> {
    /// Submits `entry`, built over `iovecs` that point into `bufs`.
    ///
    /// # Safety
    ///
    /// `entry`'s only memory is `iovecs` (heap memory that does not move with `M`) and the
    /// initialized regions of `bufs` they point to, which the kernel only reads; its file
    /// is `fd`.
    pub(crate) unsafe fn submit(
        handle: &Handle,
        fd: &SharedFd,
        bufs: Vec<B>,
        iovecs: M,
        entry: squeue::Entry,
    ) -> Op<Self> {
        let data = BufsOut {
            fd: fd.clone(),
            bufs,
            iovecs,
        };
        // SAFETY: forwarded from this function's contract; the data owns the iovecs, the
        // buffers and an fd clone.
        unsafe { Op::new(handle, entry, data) }
    }
}

impl<B: IoBuf, M: fmt::Debug + Unpin + 'static> Completable for BufsOut<B, M> {
    type Output = BufResult<usize, Vec<B>>;

    fn complete(self, cqe: CqeResult) -> Self::Output {
        (cqe.result.map(|n| n as usize), self.bufs)
    }
}

/// The iovecs of the initialized bytes of `bufs`, in order, for a vectored write or send.
/// Boxed: the array does not move when the op's data does (rule 1); each iovec points into
/// a heap buffer that the op's data owns with it.
pub(crate) fn write_iovecs<B: IoBuf>(bufs: &[B]) -> Box<[libc::iovec]> {
    bufs.iter()
        .map(|b| libc::iovec {
            iov_base: b.stable_ptr().cast_mut().cast(),
            iov_len: b.bytes_init(),
        })
        .collect()
}

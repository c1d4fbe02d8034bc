//! The owned-buffer I/O that every connected socket type shares.

use uring_driver::{BufResult, IoBuf, IoBufMut, Op, SharedFd};

use super::tcp::driver;
use crate::error::named_buf;
use crate::io_util;

pub(super) async fn recv<B: IoBufMut>(fd: &SharedFd, buf: B) -> BufResult<usize, B> {
    named_buf(
        "recv",
        match driver() {
            Ok(driver) => Op::recv(&driver, fd, buf, 0).await,
            Err(e) => (Err(e), buf),
        },
    )
}

pub(super) async fn send<B: IoBuf>(fd: &SharedFd, buf: B) -> BufResult<usize, B> {
    named_buf(
        "send",
        match driver() {
            Ok(driver) => Op::send(&driver, fd, buf, 0).await,
            Err(e) => (Err(e), buf),
        },
    )
}

pub(super) async fn recv_exact<B: IoBufMut>(fd: &SharedFd, buf: B) -> BufResult<(), B> {
    named_buf(
        "recv",
        io_util::read_exact(buf, |slice, _| recv(fd, slice)).await,
    )
}

pub(super) async fn send_all<B: IoBuf>(fd: &SharedFd, buf: B) -> BufResult<(), B> {
    named_buf(
        "send",
        io_util::write_all(buf, |slice, _| send(fd, slice)).await,
    )
}

//! The owned-buffer I/O that every connected socket type shares.
//!
//! Owns: `recv`, `send`, `recv_exact`, `send_all` on a connected socket. Must not raise
//! `SIGPIPE`: sends pass `MSG_NOSIGNAL`.

use std::future::Future;

use uring_driver::op::Target;
use uring_driver::{BufResult, IoBuf, IoBufMut, Op};

use crate::error::named_buf;
use crate::executor::context::with_driver;
use crate::io_util;

pub(super) fn recv<K: Target, B: IoBufMut>(
    fd: &K,
    buf: B,
) -> impl Future<Output = BufResult<usize, B>> {
    with_driver("recv", buf, |driver, buf| Op::recv(driver, fd, buf, 0))
}

pub(super) fn send<K: Target, B: IoBuf>(
    fd: &K,
    buf: B,
) -> impl Future<Output = BufResult<usize, B>> {
    with_driver("send", buf, |driver, buf| Op::send(driver, fd, buf, 0))
}

pub(super) async fn recv_exact<K: Target, B: IoBufMut>(fd: &K, buf: B) -> BufResult<(), B> {
    named_buf(
        "recv",
        io_util::read_exact(buf, |slice, _| recv(fd, slice)).await,
    )
}

pub(super) async fn send_all<K: Target, B: IoBuf>(fd: &K, buf: B) -> BufResult<(), B> {
    named_buf(
        "send",
        io_util::write_all(buf, |slice, _| send(fd, slice)).await,
    )
}

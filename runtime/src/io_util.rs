//! The "all of it" loops over owned buffers, shared by sockets and files.
//!
//! Owns: `read_exact`/`write_all` over any owned-buffer op, and `impl_as_fd!`. Must not
//! submit ops itself: the caller passes the op.

use std::future::Future;
use std::io;

use uring_driver::{BufResult, IoBuf, IoBufMut, Slice};

/// Writes every initialized byte of `buf`: `write(slice, done)` writes some of `slice`,
/// which starts `done` bytes into the buffer.
pub(crate) async fn write_all<B, F, Fut>(buf: B, mut write: F) -> BufResult<(), B>
where
    B: IoBuf,
    F: FnMut(Slice<B>, usize) -> Fut,
    Fut: Future<Output = BufResult<usize, Slice<B>>>,
{
    let total = buf.bytes_init();
    let mut buf = buf;
    let mut done = 0;
    while done < total {
        let (result, slice) = write(buf.slice(done..), done).await;
        buf = slice.into_inner();
        match result {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::WriteZero, "wrote no bytes");
                return (Err(e), buf);
            }
            Ok(n) => done += n,
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

/// Fills `buf` to `bytes_total`: `read(slice, done)` reads into `slice`, which starts
/// `done` bytes into the buffer. A read of 0 bytes is `UnexpectedEof`, with the bytes read
/// so far left in `buf`.
pub(crate) async fn read_exact<B, F, Fut>(buf: B, mut read: F) -> BufResult<(), B>
where
    B: IoBufMut,
    F: FnMut(Slice<B>, usize) -> Fut,
    Fut: Future<Output = BufResult<usize, Slice<B>>>,
{
    let total = buf.bytes_total();
    let mut buf = buf;
    let mut done = 0;
    while done < total {
        let (result, slice) = read(buf.slice(done..), done).await;
        buf = slice.into_inner();
        match result {
            Ok(0) => {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("end of stream after {done} of {total} bytes"),
                );
                return (Err(e), buf);
            }
            Ok(n) => done += n,
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

/// `AsRawFd` and `AsFd` for socket and file types whose `fd` field is a `SharedFd`.
macro_rules! impl_as_fd {
    ($($ty:ty),+) => {$(
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.fd)
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.fd)
            }
        }
    )+};
}
pub(crate) use impl_as_fd;

pin_project_lite::pin_project! {
    /// One of two futures with one output: what a method returns when it submits through
    /// one of two kinds of descriptor (a plain or a registered one).
    #[project = EitherProj]
    pub(crate) enum Either<A, B> {
        A { #[pin] future: A },
        B { #[pin] future: B },
    }
}

impl<A, B> Future for Either<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    type Output = A::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<A::Output> {
        match self.project() {
            EitherProj::A { future } => future.poll(cx),
            EitherProj::B { future } => future.poll(cx),
        }
    }
}

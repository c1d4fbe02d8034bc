//! The owned-buffer I/O that every connected socket type shares, and cancel-safe reads.
//!
//! Owns: `send`, `send_all` on a connected socket; `StreamRead` and `ReadExact`, the reads
//! that take from the stream's [`ReadStash`] first and leave their op there when dropped
//! in flight. Must not raise `SIGPIPE`: sends pass `MSG_NOSIGNAL`. Must not lose a byte a
//! dropped read received.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use uring_driver::op::{Completable, Target};
use uring_driver::{BufResult, Handle, IoBuf, IoBufMut, Op, Slice};

use crate::error::{named, named_buf, no_room};
use crate::executor::context::{driver, with_driver};
use crate::io_util;
use crate::net::stash::{Kept, ReadStash};

pub(super) fn send<K: Target, B: IoBuf>(
    fd: &K,
    buf: B,
) -> impl Future<Output = BufResult<usize, B>> {
    with_driver("send", buf, |driver, buf| Op::send(driver, fd, buf, 0))
}

pub(super) async fn send_all<K: Target, B: IoBuf>(fd: &K, buf: B) -> BufResult<(), B> {
    named_buf(
        "send",
        io_util::write_all(buf, |slice, _| send(fd, slice)).await,
    )
}

/// `recv` into `buf` from its start, through the stash.
pub(super) fn recv<'a, K: Target, B: IoBufMut>(
    stash: &'a ReadStash,
    fd: &'a K,
    buf: B,
) -> impl Future<Output = BufResult<usize, B>> + 'a {
    StreamRead::new(stash, "recv", plain(), buf, move |driver, buf| {
        Op::recv(driver, fd, buf, 0)
    })
}

/// `recv` appending to `buf`: into its room after the initialized bytes.
pub(super) fn recv_append<'a, K: Target, B: IoBufMut>(
    stash: &'a ReadStash,
    fd: &'a K,
    buf: B,
) -> impl Future<Output = BufResult<usize, B>> + 'a {
    let init = buf.bytes_init();
    let read = StreamRead::new(
        stash,
        "recv",
        plain(),
        buf.slice(init..),
        move |driver, buf| Op::recv(driver, fd, buf, 0),
    );
    async move {
        let (result, slice) = read.await;
        (result, slice.into_inner())
    }
}

/// `recv` until `buf` is full, through the stash.
pub(super) fn recv_exact<'a, K: Target, B: IoBufMut>(
    stash: &'a ReadStash,
    fd: &'a K,
    buf: B,
) -> impl Future<Output = BufResult<(), B>> + 'a {
    ReadExact::new(stash, "recv", buf, move |driver, buf| {
        Op::recv(driver, fd, buf, 0)
    })
}

/// How a read's buffer takes kept bytes and gives up a dropped read's data.
pub(crate) struct Shape<S> {
    /// Bytes the buffer can take.
    room: fn(&S) -> usize,
    /// Copies bytes into the buffer from its start; returns how many fitted.
    fill: fn(&mut S, &[u8]) -> usize,
    /// The data a read of `n` bytes left in the buffer.
    keep: fn(S, usize) -> Kept,
}

impl<S> Clone for Shape<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Shape<S> {}

/// One buffer, read into from its start.
pub(crate) fn plain<B: IoBufMut>() -> Shape<B> {
    Shape {
        room: B::bytes_total,
        fill: fill_one,
        keep: Kept::new,
    }
}

/// A slice of a buffer whose bytes before the slice were read already: a dropped read's
/// data is the buffer up to the slice's start and what it read into the slice.
fn exact<B: IoBufMut>() -> Shape<Slice<B>> {
    Shape {
        room: Slice::bytes_total,
        fill: fill_one,
        keep: |slice, n| {
            let end = slice.begin() + n;
            Kept::new(slice.into_inner(), end)
        },
    }
}

/// Several buffers filled in order, as `readv` does.
pub(crate) fn vectored<B: IoBufMut>() -> Shape<Vec<B>> {
    Shape {
        room: |bufs| bufs.iter().map(IoBuf::bytes_total).sum(),
        fill: |bufs, mut bytes| {
            let mut n = 0;
            for buf in bufs {
                let taken = fill_one(buf, bytes);
                n += taken;
                bytes = &bytes[taken..];
                if bytes.is_empty() {
                    break;
                }
            }
            n
        },
        keep: |bufs, n| {
            let mut data = Vec::with_capacity(n);
            for buf in &bufs {
                let want = (n - data.len()).min(buf.bytes_init());
                // SAFETY: `want <= bytes_init`, so by the `IoBuf` contract these bytes are
                // allocated and initialized; `bufs` is borrowed, not mutated.
                data.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(buf.stable_ptr(), want)
                });
            }
            let end = n.min(data.len());
            Kept::new(data, end)
        },
    }
}

/// Copies as much of `bytes` as fits into `buf` from its start; returns how many.
fn fill_one<B: IoBufMut>(buf: &mut B, bytes: &[u8]) -> usize {
    let n = bytes.len().min(buf.bytes_total());
    // SAFETY: `stable_mut_ptr` is writable for `bytes_total >= n` bytes (the `IoBufMut`
    // contract), `bytes` is another allocation (the stash's, not `buf`), and the `n` bytes
    // written are initialized, as `set_init` requires.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.stable_mut_ptr(), n);
        buf.set_init(n);
    }
    n
}

enum ReadState<S, T: Completable> {
    /// Not reading the socket: taking from the stash first.
    Ready(S),
    /// This read's own op, in the kernel.
    Reading(Op<T>),
    Done,
}

/// One read of a stream into `S`: from the stream's stash while it holds anything, from
/// the socket once it is empty. Dropped while its op is in the kernel, the op moves to the
/// stash, so what it receives is the stream's next read.
pub(crate) struct StreamRead<'a, S, T, Mk>
where
    S: 'static,
    T: Completable<Output = BufResult<usize, S>> + 'static,
{
    stash: &'a ReadStash,
    what: &'static str,
    submit: Mk,
    shape: Shape<S>,
    state: ReadState<S, T>,
}

impl<'a, S, T, Mk> StreamRead<'a, S, T, Mk>
where
    S: 'static,
    T: Completable<Output = BufResult<usize, S>> + 'static,
    Mk: Fn(&Handle, S) -> Op<T>,
{
    pub(crate) fn new(
        stash: &'a ReadStash,
        what: &'static str,
        shape: Shape<S>,
        buf: S,
        submit: Mk,
    ) -> Self {
        StreamRead {
            stash,
            what,
            submit,
            shape,
            state: ReadState::Ready(buf),
        }
    }
}

impl<S, T, Mk> Future for StreamRead<'_, S, T, Mk>
where
    S: Unpin + 'static,
    T: Completable<Output = BufResult<usize, S>> + 'static,
    Mk: Fn(&Handle, S) -> Op<T> + Unpin,
{
    type Output = BufResult<usize, S>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                ReadState::Ready(buf) => {
                    if (this.shape.room)(buf) == 0 {
                        let e = no_room();
                        return Poll::Ready(this.finish(Err(e)));
                    }
                    let fill = this.shape.fill;
                    match ready!(this.stash.poll_read(cx, |bytes| fill(buf, bytes))) {
                        Some(result) => return Poll::Ready(this.finish(result)),
                        None => {
                            let driver = match driver() {
                                Ok(driver) => driver,
                                Err(e) => return Poll::Ready(this.finish(Err(e))),
                            };
                            let ReadState::Ready(buf) =
                                std::mem::replace(&mut this.state, ReadState::Done)
                            else {
                                unreachable!()
                            };
                            this.state = ReadState::Reading((this.submit)(&driver, buf));
                        }
                    }
                }
                ReadState::Reading(op) => {
                    let (result, buf) = ready!(Pin::new(op).poll(cx));
                    this.state = ReadState::Done;
                    return Poll::Ready((result.map_err(|e| named(this.what, e)), buf));
                }
                ReadState::Done => panic!("read polled after completion"),
            }
        }
    }
}

impl<S, T, Mk> StreamRead<'_, S, T, Mk>
where
    S: 'static,
    T: Completable<Output = BufResult<usize, S>> + 'static,
{
    /// Ends the read with `result` and the buffer it holds.
    fn finish(&mut self, result: io::Result<usize>) -> BufResult<usize, S> {
        let ReadState::Ready(buf) = std::mem::replace(&mut self.state, ReadState::Done) else {
            unreachable!("only a read not in the kernel finishes by itself")
        };
        (result.map_err(|e| named(self.what, e)), buf)
    }

    /// The buffer, if the read holds it (it is not in the kernel).
    fn holds(&self) -> Option<&S> {
        match &self.state {
            ReadState::Ready(buf) => Some(buf),
            _ => None,
        }
    }
}

impl<S, T, Mk> Drop for StreamRead<'_, S, T, Mk>
where
    S: 'static,
    T: Completable<Output = BufResult<usize, S>> + 'static,
{
    fn drop(&mut self) {
        if let ReadState::Reading(op) = std::mem::replace(&mut self.state, ReadState::Done)
            && op.in_flight()
        {
            // The kernel may complete it yet: its data is the stream's, kept for the next
            // read.
            let keep = self.shape.keep;
            self.stash.keep_read(keep_op(op, keep));
        }
    }
}

/// What a dropped op receives, once it completes.
async fn keep_op<S, T>(op: Op<T>, keep: fn(S, usize) -> Kept) -> io::Result<Kept>
where
    T: Completable<Output = BufResult<usize, S>>,
{
    let (result, buf) = op.await;
    result.map(|n| keep(buf, n))
}

/// `read_exact` on a stream: reads until the buffer is full, each read as a
/// [`StreamRead`] of the rest. Dropped, it keeps what it had read for the stream's next
/// read (and its op in the kernel, if any).
pub(crate) struct ReadExact<'a, B, T, Mk>
where
    B: IoBufMut,
    T: Completable<Output = BufResult<usize, Slice<B>>> + 'static,
{
    stash: &'a ReadStash,
    what: &'static str,
    submit: Mk,
    buf: Option<B>,
    done: usize,
    read: Option<StreamRead<'a, Slice<B>, T, Mk>>,
}

impl<'a, B, T, Mk> ReadExact<'a, B, T, Mk>
where
    B: IoBufMut,
    T: Completable<Output = BufResult<usize, Slice<B>>> + 'static,
    Mk: Fn(&Handle, Slice<B>) -> Op<T> + Copy,
{
    pub(crate) fn new(stash: &'a ReadStash, what: &'static str, buf: B, submit: Mk) -> Self {
        ReadExact {
            stash,
            what,
            submit,
            buf: Some(buf),
            done: 0,
            read: None,
        }
    }
}

impl<B, T, Mk> Future for ReadExact<'_, B, T, Mk>
where
    B: IoBufMut,
    T: Completable<Output = BufResult<usize, Slice<B>>> + 'static,
    Mk: Fn(&Handle, Slice<B>) -> Op<T> + Copy + Unpin,
{
    type Output = BufResult<(), B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let read = match &mut this.read {
                Some(read) => read,
                None => {
                    let buf = this.buf.take().expect("read_exact polled after completion");
                    let total = buf.bytes_total();
                    if this.done == total {
                        return Poll::Ready((Ok(()), buf));
                    }
                    let slice = buf.slice(this.done..);
                    this.read.insert(StreamRead::new(
                        this.stash,
                        this.what,
                        exact(),
                        slice,
                        this.submit,
                    ))
                }
            };
            let (result, slice) = ready!(Pin::new(read).poll(cx));
            this.read = None;
            let buf = slice.into_inner();
            match result {
                Ok(0) => {
                    let total = buf.bytes_total();
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("end of stream after {} of {total} bytes", this.done),
                    );
                    return Poll::Ready((Err(named(this.what, e)), buf));
                }
                Ok(n) => {
                    this.done += n;
                    this.buf = Some(buf);
                }
                Err(e) => return Poll::Ready((Err(e), buf)),
            }
        }
    }
}

impl<B, T, Mk> Drop for ReadExact<'_, B, T, Mk>
where
    B: IoBufMut,
    T: Completable<Output = BufResult<usize, Slice<B>>> + 'static,
{
    fn drop(&mut self) {
        // A read in the kernel keeps, with its op, the bytes before its slice. One waiting
        // on the stash holds them here: they came before everything kept.
        if let Some(slice) = self.read.as_ref().and_then(StreamRead::holds)
            && self.done > 0
        {
            let inner = slice.get_ref();
            // Each read's `set_init` covered what it read: `done <= bytes_init`.
            let done = self.done.min(inner.bytes_init());
            // SAFETY: `done <= bytes_init`, so by the `IoBuf` contract these bytes are
            // allocated and initialized; the buffer is borrowed, not mutated.
            let read = unsafe { std::slice::from_raw_parts(inner.stable_ptr(), done) };
            self.stash.keep_front(Kept::new(read.to_vec(), done));
        }
    }
}

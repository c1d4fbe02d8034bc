//! The read stash: what a stream's dropped reads received, kept for its next read.
//!
//! A read dropped while its op is in the kernel (the loser of a `select!`, a read under a
//! `timeout` that fired) may still receive data: the kernel completes the op after the
//! future is gone. The op moves here instead of being cancelled and its data freed; so do
//! the bytes a dropped `read_exact` had read so far, and what a dropped receive stream had
//! received and not handed out. The stream's next read (of any kind, through any handle
//! of the stream) takes from here first, in order, and reaches the socket only once the
//! stash is empty: no byte is lost, reordered or read twice.
//!
//! Owns: `ReadStash` and `Kept`. Must not let a read reach the socket while an op a
//! dropped read left is still in the kernel: the stash answers, waiting for that op's
//! final completion, until it is empty.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use uring_driver::op::RecvMulti;
use uring_driver::{Bundle, IoBuf, MultishotOp, RingBuf};

/// The data a dropped read left: the first `end` bytes of `buf`.
pub(crate) struct Kept {
    buf: Box<dyn IoBuf>,
    end: usize,
}

impl Kept {
    /// The first `end` bytes of `buf`, which are initialized.
    ///
    /// # Panics
    ///
    /// If `end` exceeds `buf`'s initialized bytes: the caller miscounted what it read.
    pub(crate) fn new<B: IoBuf>(buf: B, end: usize) -> Kept {
        assert!(
            end <= buf.bytes_init(),
            "kept {end} bytes of a buffer holding {}",
            buf.bytes_init()
        );
        Kept {
            buf: Box::new(buf),
            end,
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `end <= bytes_init` (checked in `new`), so by the `IoBuf` contract the
        // first `end` bytes behind `stable_ptr` are allocated and initialized; the box owns
        // the buffer and nothing mutates it while this borrow lives.
        unsafe { std::slice::from_raw_parts(self.buf.stable_ptr(), self.end) }
    }
}

/// A dropped read's op, still in the kernel: its data once it completes.
type InFlight = Pin<Box<dyn Future<Output = io::Result<Kept>>>>;

enum Entry {
    /// Received bytes, from `pos`.
    Bytes { kept: Kept, pos: usize },
    /// A pool buffer a dropped receive stream had not handed out, from `pos`.
    Ring { buf: RingBuf, pos: usize },
    /// A dropped read's op in the kernel. Completing with 0 bytes is end of stream.
    Read(InFlight),
    /// A dropped receive stream's multishot, cancelled: its data until its final
    /// completion.
    Multi(MultishotOp<RecvMulti>),
}

/// What the front of the stash holds once it is resolved.
enum Front {
    Empty,
    Data,
    Eof,
    Error(io::Error),
}

/// One stream's stash, shared by every handle of the stream (its halves too). Cloning
/// shares it.
/// (`pub` only so the sealed compat trait can name it; the crate does not export it.)
#[derive(Clone, Default)]
#[cfg_attr(
    not(feature = "compat"),
    expect(unreachable_pub, reason = "pub for the compat layer's sealed trait")
)]
pub struct ReadStash {
    entries: Rc<RefCell<VecDeque<Entry>>>,
}

impl ReadStash {
    /// Keeps the op of a dropped read, in flight: its data comes after everything kept so
    /// far.
    pub(crate) fn keep_read(&self, op: impl Future<Output = io::Result<Kept>> + 'static) {
        self.entries
            .borrow_mut()
            .push_back(Entry::Read(Box::pin(op)));
    }

    /// Keeps bytes a dropped read had taken, in front of everything kept: they came
    /// before it.
    pub(crate) fn keep_front(&self, kept: Kept) {
        if kept.end > 0 {
            let entry = Entry::Bytes { kept, pos: 0 };
            self.entries.borrow_mut().push_front(entry);
        }
    }

    /// Keeps what a dropped receive stream holds: the buffers of its last completion not
    /// handed out, then its multishot's (cancelled here) until the final completion.
    pub(crate) fn keep_stream(&self, pending: Option<Bundle>, op: Option<MultishotOp<RecvMulti>>) {
        let mut entries = self.entries.borrow_mut();
        for buf in pending.into_iter().flatten() {
            entries.push_back(Entry::Ring { buf, pos: 0 });
        }
        if let Some(mut op) = op {
            op.cancel();
            entries.push_back(Entry::Multi(op));
        }
    }

    /// Hands out up to what `put` takes of the first kept bytes: `put` gets them and
    /// returns how many it took. `None` if nothing is kept; `Some(Ok(0))` is end of stream
    /// (a kept read that received nothing); a kept read's error is handed out likewise.
    /// Waits while the first entry is an op in the kernel.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        put: impl FnOnce(&[u8]) -> usize,
    ) -> Poll<Option<io::Result<usize>>> {
        let mut entries = self.entries.borrow_mut();
        match ready!(resolve_front(&mut entries, cx)) {
            Front::Empty => return Poll::Ready(None),
            Front::Eof => return Poll::Ready(Some(Ok(0))),
            Front::Error(e) => return Poll::Ready(Some(Err(e))),
            Front::Data => {}
        }
        let (bytes, pos) = match entries.front_mut() {
            Some(Entry::Bytes { kept, pos }) => (&kept.bytes()[*pos..], pos),
            Some(Entry::Ring { buf, pos }) => (&buf[*pos..], pos),
            _ => unreachable!("resolve_front left data at the front"),
        };
        let len = bytes.len();
        let n = put(bytes).min(len);
        *pos += n;
        if n == len {
            entries.pop_front();
        }
        Poll::Ready(Some(Ok(n)))
    }

    /// The first kept bytes as a buffer, for a receive stream: a kept pool buffer as it
    /// is, other bytes copied into a detached one. `None` if nothing is kept;
    /// `Some(Ok(None))` is end of stream.
    pub(crate) fn poll_ring(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Option<RingBuf>>>> {
        let mut entries = self.entries.borrow_mut();
        match ready!(resolve_front(&mut entries, cx)) {
            Front::Empty => return Poll::Ready(None),
            Front::Eof => return Poll::Ready(Some(Ok(None))),
            Front::Error(e) => return Poll::Ready(Some(Err(e))),
            Front::Data => {}
        }
        let buf = match entries.pop_front() {
            Some(Entry::Ring { buf, pos: 0 }) => buf,
            Some(Entry::Ring { buf, pos }) => RingBuf::detached(buf[pos..].to_vec()),
            Some(Entry::Bytes { kept, pos }) => RingBuf::detached(kept.bytes()[pos..].to_vec()),
            _ => unreachable!("resolve_front left data at the front"),
        };
        Poll::Ready(Some(Ok(Some(buf))))
    }
}

/// Resolves the front entry to data, end of stream or an error, waiting for an op in the
/// kernel to complete; drops what is used up, and ends of kept multishots.
fn resolve_front(entries: &mut VecDeque<Entry>, cx: &mut Context<'_>) -> Poll<Front> {
    loop {
        let Some(front) = entries.front_mut() else {
            return Poll::Ready(Front::Empty);
        };
        match front {
            Entry::Bytes { kept, pos } if *pos < kept.end => return Poll::Ready(Front::Data),
            Entry::Ring { buf, pos } if *pos < buf.len() => return Poll::Ready(Front::Data),
            Entry::Bytes { .. } | Entry::Ring { .. } => {
                entries.pop_front();
            }
            Entry::Read(op) => match ready!(op.as_mut().poll(cx)) {
                Ok(kept) if kept.end == 0 => {
                    entries.pop_front();
                    return Poll::Ready(Front::Eof);
                }
                Ok(kept) => *front = Entry::Bytes { kept, pos: 0 },
                Err(e) => {
                    entries.pop_front();
                    return Poll::Ready(Front::Error(e));
                }
            },
            Entry::Multi(op) => match ready!(op.poll_next(cx)) {
                Some(Ok(Some(bundle))) => {
                    // The bundle's buffers go in front of the rest of the multishot.
                    let bufs: Vec<RingBuf> = bundle.collect();
                    for buf in bufs.into_iter().rev() {
                        entries.push_front(Entry::Ring { buf, pos: 0 });
                    }
                }
                Some(Ok(None)) => {
                    entries.pop_front();
                    return Poll::Ready(Front::Eof);
                }
                // The cancellation, or a pool that ran dry: the multishot ended, the data
                // it did not take waits in the socket.
                Some(Err(e))
                    if matches!(e.raw_os_error(), Some(libc::ECANCELED | libc::ENOBUFS)) => {}
                Some(Err(e)) => {
                    entries.pop_front();
                    return Poll::Ready(Front::Error(e));
                }
                None => {
                    entries.pop_front();
                }
            },
        }
    }
}

impl fmt::Debug for ReadStash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadStash")
            .field("entries", &self.entries.borrow().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::Future;
    use std::io;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    use super::{Kept, ReadStash};

    /// Takes everything kept, `chunk` bytes at a time, until the stash is empty, pending
    /// or at an end; returns the bytes and how it stopped.
    fn drain(stash: &ReadStash, chunk: usize) -> (Vec<u8>, Poll<Option<io::Result<usize>>>) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut got = Vec::new();
        loop {
            let step = stash.poll_read(&mut cx, |bytes| {
                let n = bytes.len().min(chunk);
                got.extend_from_slice(&bytes[..n]);
                n
            });
            match step {
                Poll::Ready(Some(Ok(n))) if n > 0 => {}
                other => return (got, other),
            }
        }
    }

    fn kept(bytes: &[u8]) -> Kept {
        Kept::new(bytes.to_vec(), bytes.len())
    }

    /// A kept op that completes when `done` is set.
    fn op(done: Rc<Cell<bool>>, bytes: &'static [u8]) -> impl Future<Output = io::Result<Kept>> {
        std::future::poll_fn(move |_| match done.get() {
            true => Poll::Ready(Ok(kept(bytes))),
            false => Poll::Pending,
        })
    }

    #[test]
    fn kept_bytes_come_out_in_stream_order_across_reads_of_any_size() {
        let stash = ReadStash::default();
        let first = Rc::new(Cell::new(false));
        stash.keep_read(op(first.clone(), b"abc"));
        // A dropped read_exact's bytes came before the op in flight.
        stash.keep_front(kept(b"01"));
        stash.keep_read(std::future::ready(Ok(kept(b"defg"))));
        let (got, stop) = drain(&stash, 1);
        assert_eq!(got, b"01");
        assert!(
            stop.is_pending(),
            "waits for the op in flight, never skips it"
        );
        first.set(true);
        let (got, stop) = drain(&stash, 3);
        assert_eq!(got, b"abcdefg");
        assert!(matches!(stop, Poll::Ready(None)), "then the socket");
    }

    #[test]
    fn an_end_of_stream_or_an_error_is_handed_out_once_in_its_place() {
        let stash = ReadStash::default();
        stash.keep_front(kept(b"xy"));
        stash.keep_read(std::future::ready(Ok(kept(b""))));
        stash.keep_read(std::future::ready(Err(io::Error::from(
            io::ErrorKind::ConnectionReset,
        ))));
        let (got, stop) = drain(&stash, 8);
        assert_eq!(got, b"xy");
        assert!(
            matches!(stop, Poll::Ready(Some(Ok(0)))),
            "EOF after the bytes"
        );
        let (_, stop) = drain(&stash, 8);
        let Poll::Ready(Some(Err(e))) = stop else {
            panic!("the error comes next");
        };
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert!(matches!(drain(&stash, 8).1, Poll::Ready(None)));
    }

    #[test]
    fn a_receive_stream_gets_kept_bytes_as_detached_buffers() {
        let stash = ReadStash::default();
        stash.keep_front(kept(b"hello"));
        let mut cx = Context::from_waker(Waker::noop());
        // A read took part of it first.
        let mut one = Vec::new();
        let _ = stash.poll_read(&mut cx, |bytes| {
            one.push(bytes[0]);
            1
        });
        let Poll::Ready(Some(Ok(Some(buf)))) = stash.poll_ring(&mut cx) else {
            panic!("the rest as one buffer");
        };
        assert_eq!(&one, b"h");
        assert_eq!(&buf[..], b"ello");
        assert!(!buf.is_pooled());
        assert!(matches!(stash.poll_ring(&mut cx), Poll::Ready(None)));
    }
}

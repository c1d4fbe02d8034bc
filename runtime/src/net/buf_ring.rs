//! Receiving through a buffer pool: `BufRing` (a worker's provided-buffer ring) and
//! `RecvStream` (a multishot receive into it that re-arms when the pool runs dry).
//!
//! Owns: the re-arm logic after `ENOBUFS`. Must not hold a buffer per connection: that is
//! what the pool is for.

use std::fmt;
use std::io;
use std::mem;
use std::task::{Context, Poll, ready};

use uring_driver::op::MultishotCompletable;
use uring_driver::op::RecvMulti;
use uring_driver::{Bundle, Handle, MultishotOp, RingBuf, SharedFd};

use crate::error::named;
use crate::executor::context::{self, driver};
use crate::net::stash::ReadStash;

/// A pool of receive buffers registered with the current worker's ring: sockets receive
/// into whichever buffer is free when data arrives, so an idle connection holds none.
///
/// Create one per worker and share it (it is cheap to clone) among that worker's
/// connections; see [`TcpStream::recv_stream`](super::TcpStream::recv_stream).
///
/// ```
/// use ringlet::IoBuf;
/// use ringlet::net::{BufRing, TcpListener, TcpStream};
///
/// ringlet::run(async {
///     let pool = BufRing::new(64, 4096)?;
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     client.write_all(b"hello".to_vec()).await.0?;
///     let mut incoming = server.recv_stream(&pool);
///     let buf = incoming.next().await.unwrap()?;
///     assert_eq!(&buf[..], b"hello");
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct BufRing {
    ring: uring_driver::BufRing,
}

impl BufRing {
    /// Registers `entries` buffers of `buf_size` bytes with the current worker's ring.
    /// Memory is reserved at once but only touched as data arrives.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad shape (`entries` a power of two up to 32768), `Unsupported`
    /// before Linux 5.19, or outside a runtime.
    pub fn new(entries: u16, buf_size: usize) -> io::Result<BufRing> {
        Ok(BufRing {
            ring: uring_driver::BufRing::new(&driver()?, entries, buf_size)?,
        })
    }

    /// Buffers free for the kernel right now.
    pub fn available(&self) -> u16 {
        self.ring.available()
    }

    /// Number of buffers.
    pub fn entries(&self) -> u16 {
        self.ring.entries()
    }

    /// Size of each buffer.
    pub fn buf_size(&self) -> usize {
        self.ring.buf_size()
    }
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.ring, f)
    }
}

/// A multishot receive into a pool that keeps itself armed: after `ENOBUFS` once a buffer
/// is back (the data waits in the socket meanwhile), and whenever the kernel ends the
/// multishot on its own.
pub(super) struct Rearmed<T: MultishotCompletable> {
    fd: SharedFd,
    ring: uring_driver::BufRing,
    op: Option<MultishotOp<T>>,
    /// The last multishot ended on an empty pool: wait for a buffer before re-arming.
    dry: bool,
    /// A multishot was armed before: arming again is a re-arm (counted).
    armed_before: bool,
    arm: fn(&Handle, &SharedFd, &uring_driver::BufRing) -> MultishotOp<T>,
    /// The op's name in errors.
    what: &'static str,
}

impl<T, U> Rearmed<T>
where
    T: MultishotCompletable<Item = io::Result<U>>,
{
    pub(super) fn new(
        fd: SharedFd,
        ring: &BufRing,
        what: &'static str,
        arm: fn(&Handle, &SharedFd, &uring_driver::BufRing) -> MultishotOp<T>,
    ) -> Self {
        Rearmed {
            fd,
            ring: ring.ring.clone(),
            op: None,
            dry: false,
            armed_before: false,
            arm,
            what,
        }
    }

    /// The next item; errors other than `ENOBUFS` are returned (named), and the next call
    /// arms again.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<U>> {
        loop {
            if self.dry {
                ready!(self.ring.poll_available(cx));
                self.dry = false;
            }
            let op = match &mut self.op {
                Some(op) => op,
                None => match driver() {
                    Ok(driver) => {
                        if mem::replace(&mut self.armed_before, true) {
                            context::with_current(|core| core.shared.counters().rearmed());
                        }
                        self.op.insert((self.arm)(&driver, &self.fd, &self.ring))
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                },
            };
            match ready!(op.poll_next(cx)) {
                Some(Ok(item)) => return Poll::Ready(Ok(item)),
                Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.op = None;
                    self.dry = true;
                }
                Some(Err(e)) => {
                    self.op = None;
                    return Poll::Ready(Err(named(self.what, e)));
                }
                // The kernel ended the multishot without an error (it may, e.g. under CQ
                // pressure): receive again.
                None => self.op = None,
            }
        }
    }

    /// Whether a multishot is armed.
    pub(super) fn is_armed(&self) -> bool {
        self.op.is_some()
    }

    /// The armed multishot, if it is in the kernel (disarming it).
    fn take_in_flight(&mut self) -> Option<MultishotOp<T>> {
        self.op.take().filter(MultishotOp::in_flight)
    }
}

/// Received data as a stream of buffers from a [`BufRing`], made by
/// [`TcpStream::recv_stream`](super::TcpStream::recv_stream). One multishot receive stays in
/// the kernel for as long as data keeps coming; where the kernel has receive bundles
/// ([`KernelFeature::RecvBundle`](crate::KernelFeature::RecvBundle)), one completion
/// carries every buffer the waiting data fills, and the stream hands them out in order.
pub struct RecvStream {
    inner: Rearmed<RecvMulti>,
    /// The stream's stash: taken from first; what this holds goes there when dropped.
    stash: ReadStash,
    /// Buffers of the last completion not handed out yet.
    pending: Option<Bundle>,
    done: bool,
}

impl RecvStream {
    pub(crate) fn new(fd: SharedFd, ring: &BufRing, stash: &ReadStash) -> Self {
        RecvStream {
            inner: Rearmed::new(fd, ring, "recv", MultishotOp::recv_multi),
            stash: stash.clone(),
            pending: None,
            done: false,
        }
    }

    /// The next chunk of data; `None` at EOF. Drop the buffer to give it back to the pool.
    ///
    /// When the pool runs dry (`ENOBUFS`), this waits for a buffer to come back and
    /// receives again: the data waits in the socket meanwhile, none is lost.
    ///
    /// # Errors
    ///
    /// The connection's error (`ConnectionReset`, ...); or not being in a runtime.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: buffers received and not yet returned stay in the stream for the next
    /// call. Dropping the `RecvStream` itself loses nothing either: what it holds and what
    /// its receive in the kernel still gets are the stream's next read.
    pub async fn next(&mut self) -> Option<io::Result<RingBuf>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The poll form of [`next`](RecvStream::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<RingBuf>>> {
        loop {
            if let Some(buf) = self.pending.as_mut().and_then(Iterator::next) {
                return Poll::Ready(Some(Ok(buf)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            // What dropped reads of the stream kept came first; the multishot is armed only
            // once they are all handed out (and their ops are out of the kernel).
            match ready!(self.stash.poll_ring(cx)) {
                Some(Ok(Some(buf))) => return Poll::Ready(Some(Ok(buf))),
                Some(Ok(None)) => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {}
            }
            match ready!(self.inner.poll_next(cx)) {
                Ok(Some(bundle)) => self.pending = Some(bundle),
                Ok(None) => self.done = true,
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}

impl Drop for RecvStream {
    fn drop(&mut self) {
        // Buffers received and not handed out, and a multishot that may receive more: the
        // stream's data, kept for its next read.
        let pending = self.pending.take().filter(|bundle| !bundle.is_empty());
        let op = self.inner.take_in_flight();
        if pending.is_some() || op.is_some() {
            self.stash.keep_stream(pending, op);
        }
    }
}

impl fmt::Debug for RecvStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("armed", &self.inner.is_armed())
            .field("eof", &self.done)
            .finish()
    }
}

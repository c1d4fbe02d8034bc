//! Provided-buffer rings (`IORING_REGISTER_PBUF_RING`, Linux 5.19+): a pool of buffers the
//! kernel picks from when data arrives, so an idle connection holds no buffer at all.
//!
//! Rules:
//! 1. Every buffer id is either in the ring (the kernel may fill it) or leased (a
//!    [`RingBuf`] the user holds, or a CQE not yet turned into one). A leased buffer goes
//!    back to the ring only when its `RingBuf` drops (or, for a dropped op, by its clean-up).
//! 2. The ring and buffer memory live as long as any `BufRing` clone, op or `RingBuf`
//!    refers to them (they all hold the `Rc`), so the kernel never fills freed memory.
//! 3. On the last drop the ring is unregistered before its memory is freed; if
//!    unregistering fails, the memory is leaked rather than freed under the kernel.
//! 4. A buffer id from a CQE is checked before it is trusted: it must be below `entries`
//!    and not leased already (a `leased` bit per buffer), in release builds too. A group id
//!    means something only on the ring that registered it: ops that pick from a `BufRing`
//!    check they are built on its ring (op rule 8).
//! 5. Counting: every buffer is `free` (in the ring), `in_transit` (the kernel took it;
//!    its CQE is reaped but not yet turned into a `RingBuf`) or leased. The reaper tells
//!    the ring of each buffer taken as it reaps the CQE ([`BufferTap::taken_by`]), so after
//!    `ENOBUFS` the count of free buffers is 0 and a wait for a buffer waits for one to be
//!    recycled, not for a count that the kernel does not share.
//! 6. Bundles (`IORING_RECVSEND_BUNDLE`): one CQE names its first buffer and the byte
//!    count; the kernel took `ceil(len / buf_size)` buffers at consecutive ring positions
//!    from that buffer's. The ring records the buffer written at each position and the
//!    position of each buffer, and the reaper resolves a bundle's run as it reaps the CQE
//!    (before any of its buffers can be recycled), chaining the ids for the lease
//!    ([`Bundle`]). A run is checked before it is trusted: its first id must sit at its
//!    recorded position and no position of the run may have been written again since
//!    (else the run is refused as `InvalidData` and its buffers stay out of the ring).
//!
//! Owns: `BufRing`, its ledger, and `RingBuf` leases. Must not return a buffer to the ring
//! while it is leased.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll, Waker};

use io_uring::types::BufRingEntry;

use super::IoBuf;
use crate::Handle;
use crate::driver::lifecycle::{BufferTap, CqeResult};
use ledger::Ledger;
use positions::Positions;

mod bundle;
mod ledger;
mod positions;

pub use bundle::Bundle;

const PAGE: usize = 4096;

/// A registered pool of equal-size buffers the kernel fills on receive.
///
/// Cheap to clone (shares the pool). Create one per worker and share it among that
/// worker's connections.
#[derive(Clone)]
pub struct BufRing {
    inner: Rc<RingInner>,
}

struct RingInner {
    handle: Handle,
    bgid: u16,
    entries: u16,
    buf_size: usize,
    ring: NonNull<BufRingEntry>,
    ring_layout: Layout,
    bufs: NonNull<u8>,
    bufs_layout: Layout,
    /// Our tail: where the next returned buffer goes.
    tail: Cell<u16>,
    /// Where every buffer is (rules 4 and 5).
    ledger: RefCell<Ledger>,
    /// Where each buffer was written, and the runs of resolved bundles (rule 6).
    positions: Positions,
    /// Tasks waiting for a buffer to come back.
    waiting: RefCell<Vec<Waker>>,
}

impl BufRing {
    /// Registers a ring of `entries` buffers of `buf_size` bytes each.
    ///
    /// The memory is reserved at once but only touched as the kernel fills buffers.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `entries` is not a power of two from 1 to 32768 or `buf_size` is
    /// 0; `Unsupported` on kernels without provided-buffer rings (before 5.19); `OutOfMemory`.
    pub fn new(handle: &Handle, entries: u16, buf_size: usize) -> io::Result<BufRing> {
        if !entries.is_power_of_two()
            || entries > 32768
            || buf_size == 0
            || buf_size > u32::MAX as usize
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "buffer ring: {entries} entries of {buf_size} bytes (entries must be a power \
                     of two up to 32768, sizes from 1 byte to 4 GiB)"
                ),
            ));
        }
        let oom = || io::Error::new(io::ErrorKind::OutOfMemory, "buffer ring: out of memory");
        let ring_layout =
            Layout::from_size_align(entries as usize * size_of::<BufRingEntry>(), PAGE)
                .map_err(|_| oom())?;
        let bufs_layout =
            Layout::from_size_align(entries as usize * buf_size, PAGE).map_err(|_| oom())?;
        // SAFETY: both layouts have a non-zero size (entries >= 1, buf_size >= 1).
        let ring = NonNull::new(unsafe { alloc_zeroed(ring_layout) }.cast::<BufRingEntry>());
        // SAFETY: as above.
        let bufs = NonNull::new(unsafe { alloc_zeroed(bufs_layout) });
        let (ring, bufs) = match (ring, bufs) {
            (Some(ring), Some(bufs)) => (ring, bufs),
            (ring, bufs) => {
                if let Some(ring) = ring {
                    // SAFETY: allocated above with this layout, never shared.
                    unsafe { dealloc(ring.as_ptr().cast(), ring_layout) };
                }
                if let Some(bufs) = bufs {
                    // SAFETY: allocated above with this layout, never shared.
                    unsafe { dealloc(bufs.as_ptr(), bufs_layout) };
                }
                return Err(oom());
            }
        };
        let bgid = handle.next_buffer_group();
        // SAFETY: `ring` is page-aligned memory for `entries` entries that stays allocated
        // until it is unregistered (rule 3).
        if let Err(e) = unsafe { handle.register_buf_ring(ring.as_ptr() as u64, entries, bgid) } {
            // SAFETY: registration failed, so the kernel never saw the memory.
            unsafe {
                dealloc(ring.as_ptr().cast(), ring_layout);
                dealloc(bufs.as_ptr(), bufs_layout);
            }
            let e = match e.raw_os_error() {
                Some(libc::EINVAL) => io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("provided-buffer rings need Linux 5.19 or newer ({e})"),
                ),
                _ => e,
            };
            return Err(e);
        }
        let inner = RingInner {
            handle: handle.clone(),
            bgid,
            entries,
            buf_size,
            ring,
            ring_layout,
            bufs,
            bufs_layout,
            tail: Cell::new(0),
            ledger: RefCell::new(Ledger::new(entries)),
            positions: Positions::new(entries),
            waiting: RefCell::new(Vec::new()),
        };
        for bid in 0..entries {
            inner.push(bid);
            inner.ledger.borrow_mut().put();
        }
        inner.publish();
        Ok(BufRing {
            inner: Rc::new(inner),
        })
    }

    /// The buffer group id ops name to pick from this ring.
    pub fn group(&self) -> u16 {
        self.inner.bgid
    }

    /// Size of each buffer.
    pub fn buf_size(&self) -> usize {
        self.inner.buf_size
    }

    /// Number of buffers.
    pub fn entries(&self) -> u16 {
        self.inner.entries
    }

    /// Buffers in the ring, ready for the kernel: all but those whose completions were
    /// reaped (taken by the kernel) and not yet recycled. Completions still in the kernel's
    /// queue are not counted yet, so this is an upper bound between two reaps.
    pub fn available(&self) -> u16 {
        self.inner.ledger.borrow().free
    }

    /// The ring this pool is registered with.
    pub fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// Ready once at least one buffer is in the ring (after `ENOBUFS`, before re-arming).
    pub fn poll_available(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.ledger.borrow().free > 0 {
            return Poll::Ready(());
        }
        let mut waiting = self.inner.waiting.borrow_mut();
        if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Takes the buffers a CQE naming `first` says the kernel filled with `len` bytes in
    /// all (rule 1): `first` alone, or for a `bundle` the run the reaper resolved from it
    /// (rule 6). An empty bundle (`len` 0) takes nothing.
    ///
    /// # Errors
    ///
    /// `InvalidData` if a buffer is not one of this ring's or is leased already (rule 4),
    /// or the bundle's run could not be resolved (rule 6): the CQE did not come from this
    /// ring's group, or the ring was reused under it. Buffers of the run leased before the
    /// error stay out of the ring (the kernel's view is unknown).
    pub(crate) fn lease_bundle(&self, first: u16, len: usize, bundle: bool) -> io::Result<Bundle> {
        let inner = &self.inner;
        let count = inner.run_length(len, bundle);
        let refuse = |bid: u16, why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "buffer ring (group {}): the kernel reported buffer {bid}, which is {why}",
                    inner.bgid
                ),
            )
        };
        if count > 1 && inner.positions.refused(first) {
            return Err(refuse(
                first,
                "the head of a bundle whose buffers were reused",
            ));
        }
        let mut ledger = inner.ledger.borrow_mut();
        let mut bid = first;
        for k in 0..count {
            if k > 0 {
                // `bid` passed the ledger's bounds check as the previous buffer.
                bid = inner.positions.after(bid);
            }
            ledger.lease(bid).map_err(|why| refuse(bid, why))?;
        }
        Ok(Bundle::new(
            inner,
            first,
            count,
            len.min(count * inner.buf_size),
        ))
    }
}

impl RingInner {
    /// Writes buffer `bid` at our tail (not yet visible to the kernel).
    fn push(&self, bid: u16) {
        let tail = self.tail.get();
        let index = (tail & (self.entries - 1)) as usize;
        // SAFETY: `index < entries`, inside the ring allocation; the kernel only reads
        // entries between its head and the published tail, and this one is past the tail.
        let entry = unsafe { &mut *self.ring.as_ptr().add(index) };
        // SAFETY: `bid < entries`, so the offset is inside the buffer allocation.
        let addr = unsafe { self.bufs.as_ptr().add(bid as usize * self.buf_size) };
        entry.set_addr(addr as u64);
        entry.set_len(self.buf_size as u32);
        entry.set_bid(bid);
        self.positions.wrote(tail, bid);
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes pushed buffers visible to the kernel.
    fn publish(&self) {
        // SAFETY: `ring` is the base of the registered ring; its tail is the `resv` field
        // of the first entry, which the kernel reads atomically.
        let tail = unsafe { &*BufRingEntry::tail(self.ring.as_ptr()).cast::<AtomicU16>() };
        tail.store(self.tail.get(), Ordering::Release);
    }

    /// How many buffers a CQE with `len` bytes took: one, or for a bundle as many as the
    /// bytes fill (rule 6), never more than the ring has.
    fn run_length(&self, len: usize, bundle: bool) -> usize {
        match bundle {
            true => len.div_ceil(self.buf_size).min(usize::from(self.entries)),
            false => 1,
        }
    }

    fn recycle(&self, bid: u16) {
        self.ledger.borrow_mut().release(bid);
        self.push(bid);
        self.publish();
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        for waker in waiting {
            waker.wake();
        }
    }
}

impl Drop for RingInner {
    fn drop(&mut self) {
        // Rule 2: no op refers to the ring any more, so the kernel is not filling it.
        if self.handle.unregister_buf_ring(self.bgid).is_ok() {
            // SAFETY: allocated in `new` with these layouts; unregistered, so the kernel
            // no longer refers to them, and no RingBuf exists (each holds the Rc).
            unsafe {
                dealloc(self.ring.as_ptr().cast(), self.ring_layout);
                dealloc(self.bufs.as_ptr(), self.bufs_layout);
            }
        }
        // Otherwise (rule 3) the memory is leaked: the kernel may still know the ring.
    }
}

/// What tells a ring of the buffers a multishot op's CQEs took (rules 5 and 6).
pub(crate) struct RingTap {
    ring: BufRing,
    bundle: bool,
}

impl RingTap {
    /// A tap for an op on `ring` whose CQEs carry one buffer, or a bundle of them.
    pub(crate) fn new(ring: &BufRing, bundle: bool) -> RingTap {
        RingTap {
            ring: ring.clone(),
            bundle,
        }
    }
}

impl BufferTap for RingTap {
    /// Rules 5 and 6: the reaper saw `cqe`; the buffers it carries left the ring. A bundle's
    /// run is resolved now, while none of its buffers can have been recycled.
    fn taken_by(&self, cqe: &CqeResult) -> bool {
        let Some(first) = io_uring::cqueue::buffer_select(cqe.flags) else {
            return false;
        };
        // Failed receives commit no buffer; a bundle's empty one (EOF) neither.
        let len = match cqe.result {
            Ok(len) => len as usize,
            Err(_) => return false,
        };
        let inner = &self.ring.inner;
        let count = inner.run_length(len, self.bundle);
        if count > 1 {
            inner.positions.resolve(first, count, inner.tail.get());
        }
        // `run_length` is at most `entries`, a u16.
        let mut ledger = inner.ledger.borrow_mut();
        ledger.taken(count as u16);
        ledger.free == 0
    }
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.inner.bgid)
            .field("entries", &self.inner.entries)
            .field("buf_size", &self.inner.buf_size)
            .field("ledger", &self.inner.ledger.borrow())
            .finish()
    }
}

/// A buffer leased from a [`BufRing`], holding the bytes the kernel received into it. It
/// goes back to the ring when dropped. It is an [`IoBuf`], so it can be written straight
/// out again (an echo without a copy).
///
/// A `RingBuf` may also hold bytes of its own instead of a pool buffer
/// ([`RingBuf::detached`]): bytes a dropped read kept, handed out by a receive stream
/// before the pool's buffers.
pub struct RingBuf {
    backing: Backing,
    len: usize,
}

enum Backing {
    /// Buffer `bid` of the pool, leased: the kernel does not write it (rule 1).
    Pool { ring: Rc<RingInner>, bid: u16 },
    /// Bytes that are not the pool's.
    Own(Box<[u8]>),
}

impl RingBuf {
    /// Buffer `bid` of `ring`, holding `len` received bytes.
    fn leased(ring: Rc<RingInner>, bid: u16, len: usize) -> RingBuf {
        RingBuf {
            backing: Backing::Pool { ring, bid },
            len,
        }
    }

    /// A buffer holding `bytes`, not taken from any pool.
    pub fn detached(bytes: Vec<u8>) -> RingBuf {
        let bytes = bytes.into_boxed_slice();
        RingBuf {
            len: bytes.len(),
            backing: Backing::Own(bytes),
        }
    }

    /// Whether this buffer is a pool's (rather than [`detached`](RingBuf::detached)).
    pub fn is_pooled(&self) -> bool {
        matches!(self.backing, Backing::Pool { .. })
    }

    fn ptr(&self) -> *const u8 {
        match &self.backing {
            // SAFETY: `bid < entries`, so the offset is inside the buffer allocation.
            Backing::Pool { ring, bid } => unsafe {
                ring.bufs.as_ptr().add(*bid as usize * ring.buf_size)
            },
            Backing::Own(bytes) => bytes.as_ptr(),
        }
    }
}

impl Deref for RingBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: a pool buffer: the kernel wrote `len` bytes at the buffer's start (the
        // memory was zeroed before, so it is initialized either way); the buffer is leased,
        // so the kernel does not write it now (rule 1); the allocation lives while `ring`
        // does. Own bytes: `len` is the boxed slice's length (set in `detached`).
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }
    }
}

// SAFETY: a pool buffer's memory is inside the pool, which does not move and lives as
// long as this value's `Rc` (rule 2); the kernel does not write it while leased (rule 1).
// Own bytes live on the heap in a box this value owns and never resizes.
unsafe impl IoBuf for RingBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        if let Backing::Pool { ring, bid } = &self.backing {
            ring.recycle(*bid);
        }
    }
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("RingBuf");
        match &self.backing {
            Backing::Pool { bid, .. } => f.field("bid", bid),
            Backing::Own(_) => f.field("detached", &true),
        };
        f.field("len", &self.len).finish()
    }
}

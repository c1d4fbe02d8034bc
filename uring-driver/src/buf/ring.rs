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
use crate::driver::lifecycle::BufferTap;

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

    /// Takes buffer `bid`, which a CQE says the kernel filled with `len` bytes (rule 1).
    ///
    /// # Errors
    ///
    /// `InvalidData` if `bid` is not a buffer of this ring or is leased already (rule 4):
    /// the CQE did not come from this ring's group.
    pub(crate) fn lease(&self, bid: u16, len: usize) -> io::Result<RingBuf> {
        let inner = &self.inner;
        inner.ledger.borrow_mut().lease(bid).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "buffer ring (group {}): the kernel reported buffer {bid}, which is {why}",
                    inner.bgid
                ),
            )
        })?;
        Ok(RingBuf {
            ring: inner.clone(),
            bid,
            len: len.min(inner.buf_size),
        })
    }
}

/// Where each buffer of a ring is: free (in the ring), in transit (taken by the kernel,
/// its CQE reaped, not yet leased) or leased (rules 4 and 5). Pure bookkeeping, checked
/// on every step; `free + in_transit + leased == entries` always holds.
#[derive(Debug)]
struct Ledger {
    entries: u16,
    free: u16,
    in_transit: u16,
    /// One bit per buffer id: set while leased.
    leased: Vec<u64>,
}

impl Ledger {
    /// A ledger of `entries` buffers, none in the ring yet.
    fn new(entries: u16) -> Ledger {
        Ledger {
            entries,
            free: 0,
            in_transit: 0,
            leased: vec![0; (entries as usize).div_ceil(64)],
        }
    }

    fn bit(bid: u16) -> (usize, u64) {
        (bid as usize / 64, 1u64 << (bid % 64))
    }

    /// A buffer was put in the ring (at start, or recycled).
    fn put(&mut self) {
        self.free += 1;
    }

    /// The reaper saw a CQE that carries a buffer: the kernel took one from the ring.
    fn taken(&mut self) {
        self.free = self.free.saturating_sub(1);
        self.in_transit += 1;
    }

    /// The CQE naming `bid` becomes a lease. `Err` says why `bid` cannot be trusted.
    fn lease(&mut self, bid: u16) -> Result<(), &'static str> {
        if bid >= self.entries {
            return Err("not in this ring");
        }
        let (word, bit) = Self::bit(bid);
        if self.leased[word] & bit != 0 {
            return Err("leased already");
        }
        self.leased[word] |= bit;
        self.in_transit = self.in_transit.saturating_sub(1);
        Ok(())
    }

    /// Lease `bid` ends; it goes back in the ring.
    fn release(&mut self, bid: u16) {
        let (word, bit) = Self::bit(bid);
        debug_assert!(self.leased[word] & bit != 0, "buffer {bid} released twice");
        self.leased[word] &= !bit;
        self.put();
    }

    #[cfg(test)]
    fn leased_count(&self) -> u32 {
        self.leased.iter().map(|w| w.count_ones()).sum()
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
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes pushed buffers visible to the kernel.
    fn publish(&self) {
        // SAFETY: `ring` is the base of the registered ring; its tail is the `resv` field
        // of the first entry, which the kernel reads atomically.
        let tail = unsafe { &*BufRingEntry::tail(self.ring.as_ptr()).cast::<AtomicU16>() };
        tail.store(self.tail.get(), Ordering::Release);
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

impl BufferTap for BufRing {
    /// Rule 5: the reaper saw a CQE with these `flags`; if it carries a buffer, the
    /// kernel took it from the ring.
    fn taken_by(&self, flags: u32) {
        if io_uring::cqueue::buffer_select(flags).is_some() {
            self.inner.ledger.borrow_mut().taken();
        }
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
pub struct RingBuf {
    ring: Rc<RingInner>,
    bid: u16,
    len: usize,
}

impl RingBuf {
    fn ptr(&self) -> *const u8 {
        // SAFETY: `bid < entries`, so the offset is inside the buffer allocation.
        unsafe {
            self.ring
                .bufs
                .as_ptr()
                .add(self.bid as usize * self.ring.buf_size)
        }
    }
}

impl Deref for RingBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the kernel wrote `len` bytes at the buffer's start (the memory was
        // zeroed before, so it is initialized either way); the buffer is leased, so the
        // kernel does not write it now (rule 1); the allocation lives while `ring` does.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }
    }
}

// SAFETY: the buffer's memory is inside the pool, which does not move and lives as long
// as this value's `Rc` (rule 2); the kernel does not write it while leased (rule 1).
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
        self.ring.recycle(self.bid);
    }
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    /// xorshift64*: a seed replays exactly.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn ledger_refuses_foreign_and_double_leases() {
        let mut ledger = Ledger::new(4);
        (0..4).for_each(|_| ledger.put());
        ledger.taken();
        assert_eq!(ledger.lease(9), Err("not in this ring"));
        assert_eq!(ledger.lease(2), Ok(()));
        assert_eq!(ledger.lease(2), Err("leased already"));
        ledger.release(2);
        assert_eq!(
            (ledger.free, ledger.in_transit, ledger.leased_count()),
            (4, 0, 0)
        );
    }

    /// Random takes, leases and releases against the kernel's view of the ring: the
    /// counts always add up, and the free count is the kernel's once CQEs are reaped.
    #[test]
    fn ledger_matches_the_kernels_view() {
        let seeds = if cfg!(miri) { 4 } else { 500 };
        for seed in 1..=seeds {
            let mut rng = seed * 0x9e37_79b9;
            let entries = 1 + (next(&mut rng) % 70) as u16;
            let mut ledger = Ledger::new(entries);
            (0..entries).for_each(|_| ledger.put());
            let mut in_ring: Vec<u16> = (0..entries).collect();
            let mut reaped: Vec<u16> = Vec::new();
            let mut leased: Vec<u16> = Vec::new();
            for _ in 0..300 {
                match next(&mut rng) % 3 {
                    // The kernel fills a buffer and its CQE is reaped.
                    0 if !in_ring.is_empty() => {
                        let bid = in_ring.remove((next(&mut rng) % in_ring.len() as u64) as usize);
                        ledger.taken();
                        reaped.push(bid);
                    }
                    1 if !reaped.is_empty() => {
                        let bid = reaped.remove(0);
                        ledger.lease(bid).unwrap();
                        assert!(ledger.lease(bid).is_err());
                        leased.push(bid);
                    }
                    2 if !leased.is_empty() => {
                        let bid =
                            leased.swap_remove((next(&mut rng) % leased.len() as u64) as usize);
                        ledger.release(bid);
                        in_ring.push(bid);
                    }
                    _ => {}
                }
                assert_eq!(ledger.free as usize, in_ring.len(), "seed {seed}");
                assert_eq!(ledger.in_transit as usize, reaped.len(), "seed {seed}");
                assert_eq!(ledger.leased_count() as usize, leased.len(), "seed {seed}");
            }
        }
    }
}

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
    /// Buffers in the ring (rule 1).
    free: Cell<u16>,
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
            free: Cell::new(0),
            waiting: RefCell::new(Vec::new()),
        };
        for bid in 0..entries {
            inner.push(bid);
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

    /// Buffers in the ring now, ready for the kernel.
    pub fn available(&self) -> u16 {
        self.inner.free.get()
    }

    /// Ready once at least one buffer is in the ring (after `ENOBUFS`, before re-arming).
    pub fn poll_available(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.free.get() > 0 {
            return Poll::Ready(());
        }
        let mut waiting = self.inner.waiting.borrow_mut();
        if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Takes buffer `bid`, which a CQE says the kernel filled with `len` bytes (rule 1).
    pub(crate) fn lease(&self, bid: u16, len: usize) -> RingBuf {
        debug_assert!(bid < self.inner.entries && len <= self.inner.buf_size);
        self.inner.free.set(self.inner.free.get() - 1);
        RingBuf {
            ring: self.inner.clone(),
            bid,
            len: len.min(self.inner.buf_size),
        }
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
        self.free.set(self.free.get() + 1);
    }

    /// Makes pushed buffers visible to the kernel.
    fn publish(&self) {
        // SAFETY: `ring` is the base of the registered ring; its tail is the `resv` field
        // of the first entry, which the kernel reads atomically.
        let tail = unsafe { &*BufRingEntry::tail(self.ring.as_ptr()).cast::<AtomicU16>() };
        tail.store(self.tail.get(), Ordering::Release);
    }

    fn recycle(&self, bid: u16) {
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

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.inner.bgid)
            .field("entries", &self.inner.entries)
            .field("buf_size", &self.inner.buf_size)
            .field("available", &self.inner.free.get())
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

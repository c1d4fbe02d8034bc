//! Registered (fixed) buffers (`IORING_REGISTER_BUFFERS`): buffers pinned once for the
//! ring's life, so read/write ops on them skip per-op page pinning.
//!
//! Rules:
//! 1. A buffer's memory is allocated before registration and freed only after the table
//!    is unregistered (when the pool and every buffer checked out of it are gone).
//! 2. A checked-out [`FixedBuf`] holds its memory and an `Rc` of the pool: the table stays
//!    registered while any op or user holds one.
//!
//! Owns: `FixedBufPool` and `FixedBuf`. Must not free or reuse a buffer while the table is
//! registered.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{IoBuf, IoBufMut};
use crate::Handle;

/// A ring's table of registered buffers, checked out one at a time as [`FixedBuf`]s.
#[derive(Clone)]
pub struct FixedBufPool {
    inner: Rc<PoolInner>,
}

struct PoolInner {
    handle: Handle,
    /// The buffers not checked out, by index.
    slots: RefCell<Vec<Option<Box<[u8]>>>>,
    /// Indices of the slots holding their buffer.
    free: RefCell<Vec<u16>>,
    /// Tasks waiting for a buffer to come back.
    waiting: RefCell<Vec<Waker>>,
    size: usize,
}

impl FixedBufPool {
    /// Allocates `count` zeroed buffers of `size` bytes and registers them with the ring.
    /// A ring has one table: a second pool on the same ring fails with `EBUSY`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero count or size; `ResourceBusy` if the ring has a table
    /// already; `OutOfMemory`/`ENOMEM` if the pages cannot be pinned (raise `ulimit -l`).
    pub fn new(handle: &Handle, count: u16, size: usize) -> io::Result<FixedBufPool> {
        if count == 0 || size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "fixed buffers: count and size must be non-zero",
            ));
        }
        let bufs: Vec<Box<[u8]>> = (0..count)
            .map(|_| vec![0u8; size].into_boxed_slice())
            .collect();
        let iovecs: Vec<libc::iovec> = bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.as_ptr().cast_mut().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: every iovec points into a boxed buffer owned by the pool until the table
        // is unregistered in `Drop` (rule 1).
        unsafe { handle.register_buffers(&iovecs) }.map_err(|e| match e.raw_os_error() {
            Some(libc::EBUSY) => io::Error::new(
                io::ErrorKind::ResourceBusy,
                "fixed buffers: this ring already has a registered buffer table",
            ),
            Some(libc::ENOMEM) => io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "fixed buffers: cannot pin {} bytes ({e}); raise ulimit -l",
                    count as usize * size
                ),
            ),
            _ => e,
        })?;
        Ok(FixedBufPool {
            inner: Rc::new(PoolInner {
                handle: handle.clone(),
                slots: RefCell::new(bufs.into_iter().map(Some).collect()),
                free: RefCell::new((0..count).rev().collect()),
                waiting: RefCell::new(Vec::new()),
                size,
            }),
        })
    }

    /// Checks out a free buffer, or `None` if all are in use.
    pub fn try_get(&self) -> Option<FixedBuf> {
        let index = self.inner.free.borrow_mut().pop()?;
        let buf = self.inner.slots.borrow_mut()[usize::from(index)].take();
        debug_assert!(buf.is_some(), "a free slot holds its buffer");
        Some(FixedBuf {
            pool: self.inner.clone(),
            index,
            buf,
            init: 0,
        })
    }

    /// A free buffer, or (when all are checked out) `Pending` until one comes back.
    pub fn poll_get(&self, cx: &mut Context<'_>) -> Poll<FixedBuf> {
        if let Some(buf) = self.try_get() {
            return Poll::Ready(buf);
        }
        let mut waiting = self.inner.waiting.borrow_mut();
        if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Size of each buffer.
    pub fn buf_size(&self) -> usize {
        self.inner.size
    }

    /// Buffers not checked out.
    pub fn available(&self) -> usize {
        self.inner.free.borrow().len()
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // Rule 1: every buffer is back (each FixedBuf held an Rc). Unregister before the
        // boxes are freed; if that fails, leak them rather than free pinned memory.
        if self.handle.unregister_buffers().is_err() {
            for buf in self.slots.get_mut().drain(..).flatten() {
                std::mem::forget(buf);
            }
        }
    }
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufPool")
            .field("buf_size", &self.inner.size)
            .field("available", &self.available())
            .finish()
    }
}

/// A registered buffer checked out of a [`FixedBufPool`]; back in the pool when dropped.
/// Use it with the `read_fixed`/`write_fixed` ops; its contents are the initialized bytes.
pub struct FixedBuf {
    pool: Rc<PoolInner>,
    index: u16,
    buf: Option<Box<[u8]>>,
    init: usize,
}

impl FixedBuf {
    /// The buffer's index in the ring's table.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The ring whose buffer table holds this buffer (op rule 8).
    pub fn handle(&self) -> &Handle {
        &self.pool.handle
    }

    fn bytes(&self) -> &[u8] {
        self.buf.as_deref().expect("present until dropped")
    }

    /// Empties the buffer (its initialized length becomes 0), for reading into it again:
    /// a read fills it from the start and extends what is initialized.
    pub fn clear(&mut self) {
        self.init = 0;
    }

    /// Replaces the contents with `data` (truncated to the buffer's size); returns how
    /// many bytes were copied.
    pub fn fill(&mut self, data: &[u8]) -> usize {
        let buf = self.buf.as_deref_mut().expect("present until dropped");
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        self.init = n;
        n
    }
}

impl std::ops::Deref for FixedBuf {
    type Target = [u8];

    /// The initialized bytes.
    fn deref(&self) -> &[u8] {
        &self.bytes()[..self.init]
    }
}

// SAFETY: the bytes are a boxed slice (stable heap memory, fully initialized: zeroed at
// allocation) owned by this value; the pool keeps the table registered meanwhile (rule 2).
unsafe impl IoBuf for FixedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.bytes().as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.init
    }
    fn bytes_total(&self) -> usize {
        self.bytes().len()
    }
}

// SAFETY: as for `IoBuf`; any byte pattern is valid.
unsafe impl IoBufMut for FixedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf
            .as_deref_mut()
            .expect("present until dropped")
            .as_mut_ptr()
    }

    unsafe fn set_init(&mut self, pos: usize) {
        self.init = self.init.max(pos);
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        let buf = self.buf.take();
        self.pool.slots.borrow_mut()[self.index as usize] = buf;
        self.pool.free.borrow_mut().push(self.index);
        // Wake every waiter (after the borrow: a waker may run code that uses the pool).
        // All of them, not one: a waiter may have gone, and the wake must not die with it.
        let waiting = std::mem::take(&mut *self.pool.waiting.borrow_mut());
        for waker in waiting {
            waker.wake();
        }
    }
}

impl fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("init", &self.init)
            .finish()
    }
}

//! Objects registered with the ring: provided-buffer rings, the fixed-buffer table and the
//! file table.
//!
//! Owns: the `io_uring_register` calls. Must not keep anything registered by itself: the
//! objects in `buf/` and `file_table.rs` own their registrations and undo them on drop.

use std::io;

use super::Handle;

impl Handle {
    /// A buffer group id not used yet on this ring.
    pub(crate) fn next_buffer_group(&self) -> u16 {
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_buffer_group;
        inner.next_buffer_group = id.wrapping_add(1);
        id
    }

    /// Registers a provided-buffer ring.
    ///
    /// # Safety
    ///
    /// `ring_addr` must point to page-aligned memory for `entries` ring entries that stays
    /// allocated until the ring is unregistered.
    pub(crate) unsafe fn register_buf_ring(
        &self,
        ring_addr: u64,
        entries: u16,
        group: u16,
    ) -> io::Result<()> {
        let inner = self.inner.borrow();
        // SAFETY: forwarded from this function's contract.
        unsafe {
            inner
                .uring
                .submitter()
                .register_buf_ring_with_flags(ring_addr, entries, group, 0)
        }
    }

    /// Registers the ring's fixed-buffer table.
    ///
    /// # Safety
    ///
    /// Every iovec must point to memory that stays allocated until the table is
    /// unregistered.
    pub(crate) unsafe fn register_buffers(&self, iovecs: &[libc::iovec]) -> io::Result<()> {
        let inner = self.inner.borrow();
        // SAFETY: forwarded from this function's contract.
        unsafe { inner.uring.submitter().register_buffers(iovecs) }
    }

    /// Unregisters the ring's fixed-buffer table.
    pub(crate) fn unregister_buffers(&self) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::other("driver busy"))?;
        inner.uring.submitter().unregister_buffers()
    }

    /// Registers an empty (sparse) file table of `capacity` slots.
    pub(crate) fn register_files_sparse(&self, capacity: u32) -> io::Result<()> {
        self.inner
            .borrow()
            .uring
            .submitter()
            .register_files_sparse(capacity)
    }

    /// Sets file-table slots from `offset` on (`-1` clears a slot).
    pub(crate) fn update_files(&self, offset: u32, fds: &[std::os::fd::RawFd]) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::other("driver busy"))?;
        inner
            .uring
            .submitter()
            .register_files_update(offset, fds)
            .map(drop)
    }

    /// Unregisters a provided-buffer ring.
    pub(crate) fn unregister_buf_ring(&self, group: u16) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::other("driver busy"))?;
        inner.uring.submitter().unregister_buf_ring(group)
    }
}

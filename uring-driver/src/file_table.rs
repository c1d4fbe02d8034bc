//! Registered (fixed) files: descriptors installed in the ring's file table, so ops on
//! them skip the per-op descriptor lookup and reference counting.
//!
//! Rules:
//! 1. A slot of the table holds a file from [`FileTable::register`] until the last clone
//!    of its [`RegisteredFd`] drops; ops hold a clone, so the slot is never cleared (or
//!    reused for another file) while an op that names it is in flight.
//! 2. The descriptor itself stays open beside the slot, for the syscalls that need it.
//!
//! Owns: `FileTable` and `RegisteredFd`. Must not clear a slot while an op names it.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

use crate::{Handle, SharedFd};

/// A ring's table of registered files. A ring has one: a second fails with `ResourceBusy`.
#[derive(Clone)]
pub struct FileTable {
    inner: Rc<TableInner>,
}

struct TableInner {
    handle: Handle,
    free: RefCell<Vec<u32>>,
}

impl FileTable {
    /// Registers an empty table of `capacity` slots with the ring.
    ///
    /// # Errors
    ///
    /// `ResourceBusy` if the ring has a table already; `Unsupported` on kernels without
    /// sparse tables (before 5.19); `InvalidInput` for a capacity of 0.
    pub fn new(handle: &Handle, capacity: u32) -> io::Result<FileTable> {
        if capacity == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "file table: capacity 0",
            ));
        }
        handle
            .register_files_sparse(capacity)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EBUSY) => io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "file table: this ring already has a registered file table",
                ),
                Some(libc::EINVAL) => io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("sparse registered-file tables need Linux 5.19 or newer ({e})"),
                ),
                _ => e,
            })?;
        Ok(FileTable {
            inner: Rc::new(TableInner {
                handle: handle.clone(),
                free: RefCell::new((0..capacity).rev().collect()),
            }),
        })
    }

    /// Installs `fd` in a free slot.
    ///
    /// # Errors
    ///
    /// `StorageFull`-like `OutOfMemory` when every slot is taken, or the registration's
    /// error.
    pub fn register(&self, fd: OwnedFd) -> io::Result<RegisteredFd> {
        self.register_shared(&SharedFd::new(fd))
    }

    /// Installs a descriptor that other handles share (a clone is kept open beside the
    /// slot, rule 2): no second descriptor is made.
    ///
    /// # Errors
    ///
    /// As [`register`](FileTable::register).
    pub fn register_shared(&self, fd: &SharedFd) -> io::Result<RegisteredFd> {
        let index = self.inner.free.borrow_mut().pop().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "file table: every slot is in use",
            )
        })?;
        if let Err(e) = self.inner.handle.update_files(index, &[fd.as_raw_fd()]) {
            self.inner.free.borrow_mut().push(index);
            return Err(e);
        }
        Ok(RegisteredFd {
            inner: Rc::new(FdInner {
                table: self.inner.clone(),
                index,
                fd: fd.clone(),
            }),
        })
    }

    /// Free slots.
    pub fn available(&self) -> usize {
        self.inner.free.borrow().len()
    }
}

impl fmt::Debug for FileTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTable")
            .field("available", &self.available())
            .finish()
    }
}

/// A file registered in a [`FileTable`]; ops name it by its slot. Cheap to clone; the slot
/// is cleared when the last clone drops (rule 1).
#[derive(Clone)]
pub struct RegisteredFd {
    inner: Rc<FdInner>,
}

struct FdInner {
    table: Rc<TableInner>,
    index: u32,
    /// Rule 2.
    fd: SharedFd,
}

impl RegisteredFd {
    /// The slot in the ring's file table.
    pub fn index(&self) -> u32 {
        self.inner.index
    }

    /// The ring whose file table holds this file (op rule 8).
    pub fn handle(&self) -> &Handle {
        &self.inner.table.handle
    }
}

impl Drop for FdInner {
    fn drop(&mut self) {
        // Clear the slot (-1); no op names it any more (rule 1). If clearing fails the
        // slot is not reused: a wrong file must never answer to this index.
        if self.table.handle.update_files(self.index, &[-1]).is_ok() {
            self.table.free.borrow_mut().push(self.index);
        }
    }
}

impl AsRawFd for RegisteredFd {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.fd.as_raw_fd()
    }
}

impl AsFd for RegisteredFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }
}

impl fmt::Debug for RegisteredFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredFd")
            .field("index", &self.inner.index)
            .field("fd", &self.inner.fd.as_raw_fd())
            .finish()
    }
}

//! `SharedFd`: a reference-counted fd that ops clone, so the number is not closed (and
//! reused) while the kernel holds it (op rule 4).
//!
//! Owns: closing the fd when the last clone goes. Must not close while an op holds a clone.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

/// A file descriptor shared by its owner and the operations in flight on it.
///
/// Every op that names an fd holds a clone, so the descriptor stays open (and its number is
/// not reused for another file) until the last op on it has posted its final completion.
/// The fd is closed with `close(2)` when the last clone is dropped; use the close op to close
/// it through the ring instead.
#[derive(Clone, Debug)]
pub struct SharedFd {
    fd: Rc<OwnedFd>,
}

impl SharedFd {
    /// Takes ownership of `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        SharedFd { fd: Rc::new(fd) }
    }

    /// Returns the descriptor if this is the last handle to it, or the handle back if ops
    /// or other handles still hold it.
    pub fn try_unwrap(self) -> Result<OwnedFd, SharedFd> {
        Rc::try_unwrap(self.fd).map_err(|fd| SharedFd { fd })
    }
}

impl From<OwnedFd> for SharedFd {
    fn from(fd: OwnedFd) -> Self {
        SharedFd::new(fd)
    }
}

impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

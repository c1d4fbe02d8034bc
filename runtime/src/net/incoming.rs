//! A multishot accept as a stream of connections, for every listener type.
//!
//! Owns: [`Incoming`] and which accept errors it survives. Must not drop a connection the
//! kernel accepted: one accepted while nobody awaits waits in the stream.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;

use uring_driver::op::AcceptMulti;
use uring_driver::{MultishotOp, SharedFd};

use super::TcpStream;
use crate::error::named;
use crate::executor::context::driver;

/// The stream of connections made by [`TcpListener::incoming`](super::TcpListener::incoming)
/// (`Incoming<TcpStream>`) and [`UnixListener::incoming`](super::UnixListener::incoming)
/// (`Incoming<UnixStream>`).
///
/// The kernel may end a multishot accept at any time (for instance when its completion
/// queue is full); the stream then re-arms it, so it ends only on an error that accepting
/// again cannot cure (the listener was shut down or is not listening).
pub struct Incoming<S = TcpStream> {
    /// The listening socket, to re-arm the accept.
    fd: SharedFd,
    /// The multishot accept, or why it could not start; `None` once ended for good.
    op: Option<io::Result<MultishotOp<AcceptMulti>>>,
    /// Makes a connection of an accepted descriptor.
    make: fn(OwnedFd) -> S,
}

impl<S> Incoming<S> {
    /// The connections of listener `fd`, each made by `make`.
    pub(crate) fn new(fd: &SharedFd, make: fn(OwnedFd) -> S) -> Incoming<S> {
        Incoming {
            fd: fd.clone(),
            op: Some(Self::arm(fd)),
            make,
        }
    }

    fn arm(fd: &SharedFd) -> io::Result<MultishotOp<AcceptMulti>> {
        driver().map(|driver| MultishotOp::accept_multi(&driver, fd))
    }

    /// Whether accepting again may succeed after `error`: resource shortages
    /// ([`is_fd_exhaustion`]) and connections that died in the backlog
    /// ([`is_per_connection`]) pass, and `EAGAIN`; a listener that was shut down or is not
    /// listening does not.
    fn recoverable(error: &io::Error) -> bool {
        is_fd_exhaustion(error)
            || is_per_connection(error)
            || crate::error::raw_os_error(error) == Some(libc::EAGAIN)
    }

    /// The next connection; `None` once the listener cannot accept any more (it was shut
    /// down, or an error accepting again cannot cure was reported as the item before).
    /// Errors such as `EMFILE` are items: the caller decides whether to back off; the next
    /// call accepts again.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future returned loses no connection: one the kernel accepts meanwhile
    /// waits in the stream for the next call.
    pub async fn next(&mut self) -> Option<io::Result<S>> {
        loop {
            let op = match self.op.as_mut()? {
                Ok(op) => op,
                Err(_) => {
                    let Some(Err(e)) = self.op.take() else {
                        unreachable!()
                    };
                    return Some(Err(e));
                }
            };
            match op.next().await {
                Some(Ok(fd)) => return Some(Ok((self.make)(fd))),
                Some(Err(e)) => {
                    let e = named("accept", e);
                    if Self::recoverable(&e) {
                        // The multishot may have ended with this error: the next call
                        // re-arms it if so.
                    } else {
                        self.op = None;
                    }
                    return Some(Err(e));
                }
                // The kernel ended the multishot without an error: accept again.
                None => self.op = Some(Self::arm(&self.fd)),
            }
        }
    }
}

impl<S> fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("ended", &self.op.is_none())
            .finish()
    }
}

/// An accept error of running out of descriptors or memory (`EMFILE`, `ENFILE`,
/// `ENOBUFS`, `ENOMEM`): accepting may work again once connections close.
pub(crate) fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(
        crate::error::raw_os_error(e),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// An accept error about one connection that died before it was accepted.
pub(crate) fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        crate::error::raw_os_error(e),
        Some(libc::ECONNABORTED | libc::ECONNRESET | libc::EINTR | libc::EPROTO | libc::EPERM)
    )
}

//! I/O errors that name what failed.
//!
//! ringlet's I/O returns `io::Error`s whose message names the operation (and the path,
//! for files): `recv: Connection reset by peer (os error 104)`, `open "/etc/x": No such
//! file or directory (os error 2)`. The [`kind`](std::io::Error::kind) is the original
//! one, so matching on it works as usual; the original error is the
//! [`source`](std::error::Error::source), and [`raw_os_error`] gets its errno back.
//!
//! Owns: naming errors (`named`, `named_buf`). Must not change an error's kind or errno.

use std::error::Error;
use std::fmt;
use std::io;

/// The error of one operation: what was attempted, and why it failed.
#[derive(Debug)]
struct OpError {
    op: String,
    source: io::Error,
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.source)
    }
}

impl Error for OpError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `e`, with a message that names `op`. Already named errors are left alone.
pub(crate) fn named(op: impl Into<String>, e: io::Error) -> io::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<OpError>()) {
        return e;
    }
    io::Error::new(
        e.kind(),
        OpError {
            op: op.into(),
            source: e,
        },
    )
}

/// A read was given a buffer with no room: an error, since `Ok(0)` would read as the end
/// of the stream or file.
pub(crate) fn no_room() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the buffer has no room to read into: pass one with capacity, e.g. \
         `Vec::with_capacity(4096)` (a read of 0 bytes means end of stream)",
    )
}

/// Names the error of a `(result, buffer)` pair.
pub(crate) fn named_buf<T, B>(
    op: &'static str,
    (result, buf): (io::Result<T>, B),
) -> (io::Result<T>, B) {
    (result.map_err(|e| named(op, e)), buf)
}

/// The OS error number behind `e`, whether or not ringlet named it.
///
/// ```
/// let err = ringlet::run(ringlet::fs::File::open("/no/such/file"))?.unwrap_err();
/// assert_eq!(ringlet::error::raw_os_error(&err), Some(libc::ENOENT));
/// assert!(err.to_string().starts_with("open \"/no/such/file\""));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The errno is looked for along the error's source chain, so errors that wrap an OS
/// error as their source (an op's name, `io_uring_setup`'s remedy) give it too.
pub fn raw_os_error(e: &io::Error) -> Option<i32> {
    if let Some(errno) = e.raw_os_error() {
        return Some(errno);
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|inner| inner as _);
    while let Some(err) = next {
        if let Some(errno) = err
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return Some(errno);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_once_keeps_the_kind_and_the_errno() {
        let e = named("recv", io::Error::from_raw_os_error(libc::ECONNRESET));
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(raw_os_error(&e), Some(libc::ECONNRESET));
        assert!(e.to_string().starts_with("recv: "), "{e}");
        let again = named("other", e);
        assert!(
            again.to_string().starts_with("recv: "),
            "named once: {again}"
        );
        assert!(again.source().is_some());
    }
}

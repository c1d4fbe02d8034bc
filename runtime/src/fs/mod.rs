//! Files on io_uring: [`File`] with positional, owned-buffer reads and writes, and the
//! path operations `read`, `write`, `remove_file`, `rename`, `create_dir`, `metadata`.
//!
//! Every call is an io_uring op (openat, read, write, fsync, statx, unlinkat, renameat,
//! mkdirat): nothing blocks the worker, and nothing goes through a thread pool.
//!
//! ```
//! use ringlet::fs;
//!
//! ringlet::run(async {
//!     let path = std::env::temp_dir().join(format!("ringlet-doc-{}", std::process::id()));
//!     fs::write(&path, b"hello".to_vec()).await?;
//!     assert_eq!(fs::read(&path).await?, b"hello");
//!     assert_eq!(fs::metadata(&path).await?.len(), 5);
//!     fs::remove_file(&path).await
//! })??;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Owns: the path operations and `c_path`. Must not block the worker: nothing goes through
//! a thread pool.

mod file;

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use uring_driver::{IoBuf, Op};

pub use file::{File, Metadata, OpenOptions};

use crate::error::named;
use crate::executor::context::driver;

/// The path as the kernel takes it.
fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {path:?} contains a NUL byte"),
        )
    })
}

/// Reads a whole file.
///
/// # Errors
///
/// `NotFound`, `PermissionDenied`, ... from opening, or a read error.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let file = File::open(path).await?;
    let len = file.metadata().await?.len() as usize;
    // Read until EOF: the file may grow, or be a special file reporting size 0.
    let mut contents = Vec::with_capacity(len.max(4096));
    loop {
        if contents.len() == contents.capacity() {
            contents.reserve(contents.capacity());
        }
        let offset = contents.len();
        let (read, buf) = file.read_at(contents.slice(offset..), offset as u64).await;
        contents = buf.into_inner();
        if read? == 0 {
            return Ok(contents);
        }
    }
}

/// Writes `contents` to a file, creating it or truncating it.
///
/// # Errors
///
/// `PermissionDenied`, `NotFound` (missing directory), ... or a write error.
pub async fn write(path: impl AsRef<Path>, contents: impl IoBuf) -> io::Result<()> {
    let file = File::create(path).await?;
    file.write_all_at(contents, 0).await.0?;
    file.close().await
}

/// Removes a file.
///
/// # Errors
///
/// `NotFound`, `PermissionDenied`, or `IsADirectory`.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let remove = async { Op::unlinkat(&driver()?, c_path(path)?, false).await };
    remove
        .await
        .map_err(|e| named(format!("remove_file {path:?}"), e))
}

/// Removes an empty directory.
///
/// # Errors
///
/// `NotFound`, `DirectoryNotEmpty`, `PermissionDenied`, ...
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let remove = async { Op::unlinkat(&driver()?, c_path(path)?, true).await };
    remove
        .await
        .map_err(|e| named(format!("remove_dir {path:?}"), e))
}

/// Renames `from` to `to`, replacing `to` if it is a file.
///
/// # Errors
///
/// `NotFound` if `from` does not exist, `CrossesDevices` across file systems, ...
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    let rename = async { Op::renameat(&driver()?, c_path(from)?, c_path(to)?).await };
    rename
        .await
        .map_err(|e| named(format!("rename {from:?} to {to:?}"), e))
}

/// Creates a directory (permissions 0o777 before the umask).
///
/// # Errors
///
/// `AlreadyExists`, `NotFound` (missing parent), `PermissionDenied`, ...
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let create = async { Op::mkdirat(&driver()?, c_path(path)?, 0o777).await };
    create
        .await
        .map_err(|e| named(format!("create_dir {path:?}"), e))
}

/// The metadata of the file at `path` (following symlinks).
///
/// # Errors
///
/// `NotFound`, `PermissionDenied`, ...
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref();
    let stat = async { Op::statx_path(&driver()?, c_path(path)?).await };
    stat.await
        .map(Metadata::from_statx)
        .map_err(|e| named(format!("metadata {path:?}"), e))
}

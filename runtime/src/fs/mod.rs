//! Files on io_uring: [`File`] with positional, owned-buffer reads and writes, and the
//! path operations `read`, `write`, `copy`, `remove_file`, `rename`, `create_dir`,
//! `create_dir_all`, `hard_link`, `symlink`, `metadata` and `read_dir`.
//!
//! Every call is an io_uring op (openat, read, write, fsync, statx, unlinkat, renameat,
//! mkdirat, linkat, symlinkat): nothing blocks the worker. The one exception is
//! [`read_dir`]: io_uring cannot read a directory, so it reads batches of entries on the
//! blocking pool.
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
//! Owns: the path operations and `c_path`. Must not block the worker: only `read_dir`
//! goes through the blocking pool.

mod dir;
mod file;
mod metadata;

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use uring_driver::{IoBuf, Op};

pub use dir::{DirEntry, ReadDir, create_dir_all, read_dir};
pub use file::{File, OpenOptions};
pub use metadata::Metadata;

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
///
/// # Cancel safety
///
/// Cancel safe: it changes nothing; dropped, the file is closed and what was read is freed.
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
///
/// # Cancel safety
///
/// Not cancel safe: dropped, the file may have been created, truncated and partly written.
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
///
/// # Cancel safety
///
/// Dropped while in the kernel, the removal may already have taken effect: check before
/// retrying.
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
///
/// # Cancel safety
///
/// As [`remove_file`]: the removal may already have taken effect.
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
///
/// # Cancel safety
///
/// As [`remove_file`]: the rename may already have taken effect.
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
///
/// # Cancel safety
///
/// As [`remove_file`]: the directory may already exist.
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
///
/// # Cancel safety
///
/// Cancel safe: it changes nothing.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref();
    let stat = async { Op::statx_path(&driver()?, c_path(path)?).await };
    stat.await
        .map(Metadata::from_statx)
        .map_err(|e| named(format!("metadata {path:?}"), e))
}

/// Bytes moved per read and write by [`copy`].
const COPY_CHUNK: usize = 256 * 1024;

/// Copies the contents of the file `from` to `to`, creating or truncating it, and gives
/// `to` the permission bits of `from` (as `std::fs::copy`). Returns the number of bytes
/// copied.
///
/// # Errors
///
/// `NotFound`, `PermissionDenied`, `InvalidInput` if `from` is not a regular file, or a
/// read or write error, naming both paths.
///
/// # Cancel safety
///
/// Not cancel safe: dropped, the destination may exist, partly written.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    let copy = async {
        let source = File::open(from).await?;
        let meta = source.metadata().await?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the source is not a regular file",
            ));
        }
        let mode = meta.mode() & 0o7777;
        let dest = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(to)
            .await?;
        dest.set_mode(mode)?; // the file may have existed with other bits
        let mut buf = Vec::with_capacity(COPY_CHUNK.min(meta.len() as usize).max(4096));
        let mut offset = 0u64;
        loop {
            buf.clear();
            let (read, filled) = source.read_at(buf, offset).await;
            let n = read?;
            if n == 0 {
                break;
            }
            let (written, filled) = dest.write_all_at(filled, offset).await;
            written?;
            buf = filled;
            offset += n as u64;
        }
        dest.close().await?;
        Ok(offset)
    };
    copy.await
        .map_err(|e| named(format!("copy {from:?} to {to:?}"), e))
}

/// Makes `link` a new hard link to the file `original` (Linux 5.15+).
///
/// # Errors
///
/// `AlreadyExists` if `link` exists, `NotFound`, `CrossesDevices` across file systems,
/// `PermissionDenied`, ... naming both paths.
///
/// # Cancel safety
///
/// As [`remove_file`]: the link may already exist.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    let make = async { Op::linkat(&driver()?, c_path(original)?, c_path(link)?).await };
    make.await
        .map_err(|e| named(format!("hard_link {link:?} to {original:?}"), e))
}

/// Makes `link` a symbolic link to `target` (which need not exist; a relative target is
/// resolved from the link's directory) (Linux 5.15+).
///
/// # Errors
///
/// `AlreadyExists` if `link` exists, `NotFound` (missing directory), `PermissionDenied`,
/// ... naming both paths.
///
/// # Cancel safety
///
/// As [`remove_file`]: the link may already exist.
pub async fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (target, link) = (target.as_ref(), link.as_ref());
    let make = async { Op::symlinkat(&driver()?, c_path(target)?, c_path(link)?).await };
    make.await
        .map_err(|e| named(format!("symlink {link:?} to {target:?}"), e))
}

//! `File`: an open file with positional, owned-buffer reads and writes through the ring.
//!
//! Owns: `File` and `OpenOptions` (`Metadata` is in `metadata.rs`). Must not keep a
//! cursor: every read and write names its offset.

use super::metadata::Metadata;
use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use uring_driver::{BufResult, FixedBuf, IoBuf, IoBufMut, Op, RegisteredFd, SharedFd};

use super::c_path;
use crate::error::{named, named_buf, no_room};
use crate::executor::context::{driver, with_driver};
use crate::io_util;

/// An open file. Reads and writes are positional (`read_at`, `write_at`): there is no
/// cursor, so concurrent operations on one file never race over a position.
///
/// ```
/// use ringlet::fs::File;
///
/// ringlet::run(async {
///     let path = std::env::temp_dir().join(format!("ringlet-file-{}", std::process::id()));
///     let file = File::options()
///         .read(true)
///         .write(true)
///         .create(true)
///         .truncate(true)
///         .open(&path)
///         .await?;
///     file.write_all_at(b"0123456789".to_vec(), 0).await.0?;
///     file.sync_all().await?;
///     let (read, buf) = file.read_at(vec![0u8; 4], 3).await;
///     assert_eq!(&buf[..read?], b"3456");
///     file.close().await?;
///     ringlet::fs::remove_file(&path).await
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    fd: SharedFd,
    /// The file's slot in the worker's table of registered files, once registered.
    registered: Option<RegisteredFd>,
}

/// Options for opening a file, as `std::fs::OpenOptions`.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// No access yet: set at least `read` or `write`.
    pub fn new() -> Self {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
        }
    }

    /// Read access.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Write access.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Writes go to the end of the file (whatever offset they name).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncates the file to 0 bytes on open.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Creates the file if it does not exist.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Creates the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// Permission bits of a created file (default 0o666, before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    fn flags(&self) -> io::Result<i32> {
        let access = match (self.read, self.write || self.append) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "open: neither read nor write access requested",
                ));
            }
        };
        let mut flags = access;
        if self.append {
            flags |= libc::O_APPEND;
        }
        if self.truncate {
            flags |= libc::O_TRUNC;
        }
        if self.create_new {
            flags |= libc::O_CREAT | libc::O_EXCL;
        } else if self.create {
            flags |= libc::O_CREAT;
        }
        Ok(flags)
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// `NotFound`, `AlreadyExists` (with `create_new`), `PermissionDenied`,
    /// `InvalidInput` (no access mode, or a NUL in the path), ...
    ///
    /// # Cancel safety
    ///
    /// Dropped while the kernel opens the file, the open is cancelled; a descriptor the
    /// kernel opened anyway is closed, never leaked. With `create` or `truncate`, that may
    /// already have happened to the file.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        let open = async {
            let fd = Op::openat(&driver()?, c_path(path)?, self.flags()?, self.mode).await?;
            Ok(File::from_fd(fd))
        };
        open.await.map_err(|e| named(format!("open {path:?}"), e))
    }
}

impl File {
    /// A file on the descriptor `fd` (just opened).
    pub(super) fn from_fd(fd: std::os::fd::OwnedFd) -> File {
        File {
            fd: SharedFd::new(fd),
            registered: None,
        }
    }

    /// Opens a file for reading.
    ///
    /// # Errors
    ///
    /// `NotFound`, `PermissionDenied`, ...
    ///
    /// # Cancel safety
    ///
    /// Dropped, the open is cancelled; a descriptor the kernel opened anyway is closed,
    /// never leaked.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates a file for writing, truncating it if it exists.
    ///
    /// # Errors
    ///
    /// `PermissionDenied`, `NotFound` (missing directory), ...
    ///
    /// # Cancel safety
    ///
    /// As [`open`](File::open); the file may have been created or truncated by then.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options for opening a file.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Reads up to `buf.bytes_total()` bytes at byte `offset` into `buf`, from its start;
    /// `Ok(0)` at the end of file.
    ///
    /// # Errors
    ///
    /// A read error; `InvalidInput` for a buffer with no room (`Vec::new()`), which could
    /// not tell data from the end of file. The buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in effect: a positional read changes no state, so a dropped one
    /// (cancelled; its buffer freed once the kernel is done) is repeated by reading the
    /// same offset again.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, offset: u64) -> BufResult<usize, B> {
        if buf.bytes_total() == 0 {
            return (Err(named("read", no_room())), buf);
        }
        match &self.registered {
            Some(fd) => {
                with_driver("read", buf, |driver, buf| {
                    Op::read_at(driver, fd, buf, offset)
                })
                .await
            }
            None => {
                with_driver("read", buf, |driver, buf| {
                    Op::read_at(driver, &self.fd, buf, offset)
                })
                .await
            }
        }
    }

    /// Reads exactly `buf.bytes_total()` bytes at `offset`.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the file ends first (what was read stays in `buf`).
    ///
    /// # Cancel safety
    ///
    /// As [`read_at`](File::read_at): read the same offset again.
    pub async fn read_exact_at<B: IoBufMut>(&self, buf: B, offset: u64) -> BufResult<(), B> {
        let read =
            io_util::read_exact(buf, |slice, done| self.read_at(slice, offset + done as u64));
        named_buf("read", read.await)
    }

    /// Writes some of `buf`'s initialized bytes at `offset`; returns how many.
    ///
    /// # Errors
    ///
    /// A write error (`StorageFull`, ...); the buffer comes back either way.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a write dropped while in the kernel is cancelled, but may have
    /// happened in whole or in part, and how much is not known. Writing the same bytes at
    /// the same offset again is always correct.
    pub async fn write_at<B: IoBuf>(&self, buf: B, offset: u64) -> BufResult<usize, B> {
        match &self.registered {
            Some(fd) => {
                with_driver("write", buf, |driver, buf| {
                    Op::write_at(driver, fd, buf, offset)
                })
                .await
            }
            None => {
                with_driver("write", buf, |driver, buf| {
                    Op::write_at(driver, &self.fd, buf, offset)
                })
                .await
            }
        }
    }

    /// Installs the file in the current worker's table of registered files (a direct
    /// descriptor; made on first use, with 4096 slots): from then on `read_at`,
    /// `write_at` and the calls built on them name the file by its slot, and the kernel
    /// skips looking up and reference-counting the descriptor on each op. Worth it for a
    /// file read or written many times; the descriptor stays open beside the slot, and the
    /// slot is freed when the file (and every op on it) is gone. A second call does
    /// nothing.
    ///
    /// # Errors
    ///
    /// Every slot in use (`OutOfMemory`), a kernel before 5.19 (`Unsupported`), or not
    /// being in a runtime.
    pub fn register(&mut self) -> io::Result<()> {
        if self.registered.is_none() {
            let table = crate::executor::context::file_table()?;
            self.registered = Some(
                table
                    .register_shared(&self.fd)
                    .map_err(|e| named("register", e))?,
            );
        }
        Ok(())
    }

    /// Whether [`register`](File::register) installed the file in the worker's table.
    pub fn is_registered(&self) -> bool {
        self.registered.is_some()
    }

    /// As [`read_at`](File::read_at) into a registered buffer from a
    /// [`FixedBufPool`](crate::buf::FixedBufPool) of this worker: the kernel skips mapping
    /// the buffer. The read fills the buffer from its start ([`FixedBuf::clear`] it to
    /// reuse it).
    ///
    /// # Errors
    ///
    /// As [`read_at`](File::read_at); `InvalidInput` for a buffer of another worker's pool.
    ///
    /// # Cancel safety
    ///
    /// As [`read_at`](File::read_at); a dropped read's buffer goes back to its pool once
    /// the kernel is done.
    pub async fn read_fixed_at(&self, buf: FixedBuf, offset: u64) -> BufResult<usize, FixedBuf> {
        with_driver("read_fixed", buf, |driver, buf| {
            Op::read_fixed_at(driver, &self.fd, buf, offset)
        })
        .await
    }

    /// As [`write_at`](File::write_at) from a registered buffer (see
    /// [`read_fixed_at`](File::read_fixed_at)): writes its initialized bytes.
    ///
    /// # Errors
    ///
    /// As [`write_at`](File::write_at); `InvalidInput` for a buffer of another worker's
    /// pool.
    ///
    /// # Cancel safety
    ///
    /// As [`write_at`](File::write_at).
    pub async fn write_fixed_at(&self, buf: FixedBuf, offset: u64) -> BufResult<usize, FixedBuf> {
        with_driver("write_fixed", buf, |driver, buf| {
            Op::write_fixed_at(driver, &self.fd, buf, offset)
        })
        .await
    }

    /// Writes all of `buf`'s initialized bytes at `offset`.
    ///
    /// # Errors
    ///
    /// The first write error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped, some prefix of the buffer may have been written. Writing
    /// it all again at the same offset is always correct.
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, offset: u64) -> BufResult<(), B> {
        let write = io_util::write_all(buf, |slice, done| {
            self.write_at(slice, offset + done as u64)
        });
        named_buf("write", write.await)
    }

    /// Flushes data and metadata to storage (`fsync`).
    ///
    /// # Errors
    ///
    /// An I/O error from the device.
    ///
    /// # Cancel safety
    ///
    /// Dropped, the flush may still happen (it is not undone); call it again to know it
    /// completed.
    pub async fn sync_all(&self) -> io::Result<()> {
        let sync = async { Op::fsync(&driver()?, &self.fd, false).await };
        sync.await.map_err(|e| named("fsync", e))
    }

    /// Flushes data (and the metadata needed to read it) to storage (`fdatasync`).
    ///
    /// # Errors
    ///
    /// An I/O error from the device.
    ///
    /// # Cancel safety
    ///
    /// As [`sync_all`](File::sync_all).
    pub async fn sync_data(&self) -> io::Result<()> {
        let sync = async { Op::fsync(&driver()?, &self.fd, true).await };
        sync.await.map_err(|e| named("fdatasync", e))
    }

    /// The file's metadata (`statx`).
    ///
    /// # Errors
    ///
    /// Rare: `EOVERFLOW` and the like.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it changes nothing.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let stat = async { Op::statx_fd(&driver()?, &self.fd).await };
        stat.await
            .map(Metadata::from_statx)
            .map_err(|e| named("metadata", e))
    }

    /// Sets the permission bits (`fchmod(2)`: no ring opcode exists for it; it updates the
    /// inode in memory and does not wait for the disk).
    pub(super) fn set_mode(&self, mode: u32) -> io::Result<()> {
        // SAFETY: fchmod takes no pointers; the descriptor is open while `self` lives.
        let rc = unsafe { libc::fchmod(self.fd.as_raw_fd(), mode as libc::mode_t) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Closes the file through the ring and reports the result (dropping it closes too,
    /// silently).
    ///
    /// # Errors
    ///
    /// What `close(2)` reports, e.g. a deferred write error on some file systems.
    ///
    /// # Cancel safety
    ///
    /// Dropped, the descriptor is still closed (by the driver, once the kernel is done with
    /// it); only the result is lost.
    pub async fn close(mut self) -> io::Result<()> {
        // The table's slot holds a clone of the descriptor: free it first.
        drop(self.registered.take());
        match self.fd.try_unwrap() {
            Ok(fd) => Op::close(&driver()?, fd)
                .await
                .map_err(|e| named("close", e)),
            // An op still holds it (e.g. a cancelled read finishing): it closes when done.
            Err(_) => Ok(()),
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> File {
        File {
            registered: None,
            fd: SharedFd::new(file.into()),
        }
    }
}

crate::io_util::impl_as_fd!(File);

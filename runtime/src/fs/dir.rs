//! Directories: [`read_dir`] and [`create_dir_all`].
//!
//! io_uring has no opcode that reads a directory, so [`read_dir`] reads it on the blocking
//! pool, a batch of entries per trip; everything else is a ring op.
//!
//! Owns: `ReadDir`, `DirEntry`, `create_dir_all`. Must not read a directory on the worker:
//! `getdents` can wait for the disk.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::FileType;
use std::io;
use std::path::{Path, PathBuf};

use super::{Metadata, create_dir, metadata};
use crate::error::named;
use crate::task::spawn_blocking;

/// Entries read from the directory per trip to the blocking pool.
const BATCH: usize = 64;

/// The entries of a directory, from [`read_dir`]: call
/// [`next_entry`](ReadDir::next_entry) until it returns `None`. Like `std::fs::read_dir`,
/// it skips `.` and `..`, in no particular order.
pub struct ReadDir {
    path: PathBuf,
    /// The directory stream, lent to the blocking pool while it reads; `None` at the end.
    inner: Option<std::fs::ReadDir>,
    batch: VecDeque<io::Result<DirEntry>>,
}

/// One entry of a directory, from [`ReadDir::next_entry`].
#[derive(Debug, Clone)]
pub struct DirEntry {
    path: PathBuf,
    file_name: OsString,
    file_type: FileType,
}

impl DirEntry {
    /// The entry's full path: the directory's path joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.file_name.clone()
    }

    /// The entry's type (a symlink is reported as a symlink, not followed). Read with the
    /// entry, so it costs nothing here.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// The metadata of the file the entry names, following symlinks (as [`metadata`]).
    ///
    /// # Errors
    ///
    /// As [`metadata`]: `NotFound` if the entry was removed since it was read, ...
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it changes nothing; dropping it cancels the lookup.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        metadata(&self.path).await
    }
}

/// Opens the directory at `path` for reading its entries.
///
/// ```
/// use ringlet::fs;
///
/// ringlet::run(async {
///     let dir = std::env::temp_dir().join(format!("ringlet-read-dir-{}", std::process::id()));
///     fs::create_dir_all(dir.join("sub")).await?;
///     fs::write(dir.join("file"), b"x".to_vec()).await?;
///     let mut names = Vec::new();
///     let mut entries = fs::read_dir(&dir).await?;
///     while let Some(entry) = entries.next_entry().await? {
///         names.push(entry.file_name().into_string().unwrap());
///     }
///     names.sort();
///     assert_eq!(names, ["file", "sub"]);
///     std::fs::remove_dir_all(&dir)
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// `NotFound`, `NotADirectory`, `PermissionDenied`, ... naming the path.
///
/// # Cancel safety
///
/// Dropping the future leaves the listing to finish on the blocking pool, and its result is
/// discarded; nothing changes on disk.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_path_buf();
    let open = path.clone();
    let inner = spawn_blocking(move || std::fs::read_dir(open))
        .await
        .map_err(|e| io::Error::other(format!("read_dir {path:?}: {e}")))?
        .map_err(|e| named(format!("read_dir {path:?}"), e))?;
    Ok(ReadDir {
        path,
        inner: Some(inner),
        batch: VecDeque::new(),
    })
}

impl ReadDir {
    /// The next entry, or `None` once every entry was returned.
    ///
    /// # Errors
    ///
    /// An error reading the directory (naming it); the next call goes on after it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while a batch is being read stops the directory there:
    /// later calls return `None`.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        loop {
            if let Some(entry) = self.batch.pop_front() {
                return entry.map(Some);
            }
            let Some(mut inner) = self.inner.take() else {
                return Ok(None);
            };
            let (inner, batch) = spawn_blocking(move || {
                let batch: VecDeque<io::Result<DirEntry>> = inner
                    .by_ref()
                    .take(BATCH)
                    .map(|entry| {
                        let entry = entry?;
                        Ok(DirEntry {
                            path: entry.path(),
                            file_name: entry.file_name(),
                            file_type: entry.file_type()?,
                        })
                    })
                    .collect();
                let more = batch.len() == BATCH;
                (more.then_some(inner), batch)
            })
            .await
            .map_err(|e| io::Error::other(format!("read_dir {:?}: {e}", self.path)))?;
            self.inner = inner;
            let path = &self.path;
            self.batch = batch
                .into_iter()
                .map(|entry| entry.map_err(|e| named(format!("read_dir {path:?}"), e)))
                .collect();
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.path)
            .field("ended", &(self.inner.is_none() && self.batch.is_empty()))
            .finish()
    }
}

/// Creates a directory and every missing parent (as `mkdir -p`); a directory that
/// exists already is not an error.
///
/// # Errors
///
/// `AlreadyExists` if `path` (or a parent) exists and is not a directory,
/// `PermissionDenied`, ... naming the directory that could not be made.
///
/// # Cancel safety
///
/// Dropped, the directories created so far stay; calling it again finishes the job.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    // Walk up to the first ancestor that exists (or can be made), then make the rest
    // downwards. Each step is one mkdirat through the ring.
    let mut missing: Vec<&Path> = Vec::new();
    let mut next = Some(path);
    while let Some(dir) = next {
        if dir.as_os_str().is_empty() {
            break;
        }
        match create_dir(dir).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(dir);
                next = dir.parent();
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if metadata(dir).await.is_ok_and(|m| m.is_dir()) {
                    break;
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    for dir in missing.into_iter().rev() {
        match create_dir(dir).await {
            Ok(()) => {}
            // Made meanwhile by someone else: fine if it is a directory.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !metadata(dir).await.is_ok_and(|m| m.is_dir()) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

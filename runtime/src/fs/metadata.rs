//! `Metadata`: what `statx` says about a file.
//!
//! Owns: `Metadata`.

use std::fmt;
use std::time::{Duration, SystemTime};

/// File metadata, from `statx`.
#[derive(Clone, Copy)]
pub struct Metadata {
    stat: libc::statx,
}

impl Metadata {
    pub(crate) fn from_statx(stat: libc::statx) -> Self {
        Metadata { stat }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.stat.stx_size
    }

    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn file_type(&self) -> u32 {
        u32::from(self.stat.stx_mode) & libc::S_IFMT
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type() == libc::S_IFREG
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }

    /// Whether this is a symbolic link (only from `File::metadata` on a link opened with
    /// `O_PATH`; path lookups follow links).
    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }

    /// Permission bits (`st_mode & 0o7777`).
    pub fn mode(&self) -> u32 {
        u32::from(self.stat.stx_mode) & 0o7777
    }

    /// Last modification time.
    pub fn modified(&self) -> SystemTime {
        let t = self.stat.stx_mtime;
        let since = Duration::new(t.tv_sec.unsigned_abs(), t.tv_nsec);
        if t.tv_sec >= 0 {
            SystemTime::UNIX_EPOCH + since
        } else {
            SystemTime::UNIX_EPOCH - since
        }
    }

    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.stat.stx_ino
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("len", &self.len())
            .field("is_file", &self.is_file())
            .field("is_dir", &self.is_dir())
            .field("mode", &format_args!("{:o}", self.mode()))
            .finish()
    }
}

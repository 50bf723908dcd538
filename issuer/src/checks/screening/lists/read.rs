//! Reading list files: the errors, which never quote a line, the file opened, its bytes hashed
//! as they are parsed, fixed-width digits.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Why a list did not load. Never quotes a line's content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The file could not be read.
    #[error("screening list {file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not what the format says.
    #[error("screening list {file}, line {line}: {reason}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it, without its content.
        reason: String,
    },
    /// The file parsed but holds nothing to screen against: a truncated download or the wrong
    /// file. Refused so that screening never silently runs against an empty list.
    #[error("screening list {file}: no entity to screen against")]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// The list configuration itself is wrong.
    #[error("screening configuration: {0}")]
    Config(String),
}

pub(super) fn open(path: &Path) -> Result<File, ListError> {
    File::open(path).map_err(|source| ListError::Io {
        file: path.to_owned(),
        source,
    })
}

pub(super) fn short_hex(hasher: Sha256) -> String {
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A reader that hashes what passes through it, so the version hash covers exactly the bytes
/// parsed (the file may be replaced while it is read).
pub(super) struct HashingReader<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub(super) fn parse_digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

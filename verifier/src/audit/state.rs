//! The auditor's memory between runs: the last checkpoint it verified.
//!
//! A small JSON file, `{"origin": "…", "size": 123, "root": "<base64>"}`. With it, a replay
//! requires the log to extend what was verified before, so a log that was rewritten, truncated
//! or forked is caught even when the issuer signed a fresh checkpoint for it. It is written
//! atomically (a temporary file in the same directory, synced, then renamed over the old one),
//! so a crash leaves either the old state or the new one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kyc_core::tlog::{Checkpoint, Hash};
use serde::{Deserialize, Serialize};

/// The largest state file read: the state is well under a kilobyte.
const MAX_STATE_LEN: u64 = 64 * 1024;

/// The last checkpoint an auditor verified: origin, size and root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditorState {
    /// The log's origin (its checkpoint key's name).
    pub origin: String,
    /// How many entries were verified.
    pub size: u64,
    /// The RFC 6962 root of those entries.
    pub root: Hash,
}

/// The state file cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading or writing failed.
    #[error("auditor state {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Malformed: the file is not an auditor state.
    #[error("auditor state {path} is malformed: {reason}")]
    Malformed {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl AuditorState {
    /// The state recording `checkpoint` as verified.
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Self {
        Self {
            origin: checkpoint.origin().to_owned(),
            size: checkpoint.size(),
            root: *checkpoint.root(),
        }
    }

    /// Reads the state at `path`; `None` when there is no file yet (the first audit).
    pub fn load(path: &Path) -> Result<Option<Self>, StateError> {
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let file = match fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_STATE_LEN + 1),
            &mut bytes,
        )
        .map_err(io)?;
        if bytes.len() as u64 > MAX_STATE_LEN {
            return Err(StateError::Malformed {
                path: path.to_owned(),
                reason: format!("larger than {MAX_STATE_LEN} bytes"),
            });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Malformed {
                path: path.to_owned(),
                reason: kyc_core::MalformedError::json("auditor state", &e).to_string(),
            })
    }

    /// Writes the state to `path` atomically: temporary file, fsync, rename, fsync of the
    /// directory.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().ok_or_else(|| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?;
        let mut tmp_name = name.to_owned();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        json.push(b'\n');
        let written = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&tmp, path)?;
            // The rename is durable once the directory is synced (POSIX); other platforms do
            // not open directories, and there the rename is what they offer.
            #[cfg(unix)]
            fs::File::open(&dir)?.sync_all()?;
            Ok(())
        })();
        if written.is_err() {
            // Best effort: the temporary file is ours, and useless once the write failed.
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(io)
    }
}

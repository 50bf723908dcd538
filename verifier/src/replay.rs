//! Replay protection: a presentation's nonce is accepted once.
//!
//! The in-memory store serves a long-running checkout service; the file store serves the
//! one-shot `kyc-verify presentation --replay-store FILE`.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Remembers accepted `(aud, nonce)` pairs until their request expires.
pub trait ReplayStore {
    /// Record the pair; `Ok(false)` when it was already recorded (a replay).
    fn first_use(
        &mut self,
        aud: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> std::io::Result<bool>;
}

/// In-process store.
#[derive(Debug, Default)]
pub struct MemoryReplayStore {
    seen: HashSet<(String, String)>,
}

impl ReplayStore for MemoryReplayStore {
    fn first_use(
        &mut self,
        aud: &str,
        nonce: &str,
        _expires_at: DateTime<Utc>,
    ) -> std::io::Result<bool> {
        Ok(self.seen.insert((aud.to_owned(), nonce.to_owned())))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Seen {
    aud: String,
    nonce: String,
    #[serde(rename = "expiresAt")]
    expires_at: DateTime<Utc>,
}

/// A JSON Lines file of accepted nonces, appended to and synced on each acceptance.
///
/// Entries whose request has expired need not be kept (an expired request is refused anyway);
/// compaction is left to the operator. One writer at a time.
#[derive(Debug)]
pub struct FileReplayStore {
    path: PathBuf,
}

impl FileReplayStore {
    /// A store at `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl ReplayStore for FileReplayStore {
    fn first_use(
        &mut self,
        aud: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> std::io::Result<bool> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let seen: Seen = serde_json::from_str(line)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                    if seen.aud == aud && seen.nonce == nonce {
                        return Ok(false);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let line = serde_json::to_string(&Seen {
            aud: aud.into(),
            nonce: nonce.into(),
            expires_at,
        })
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        writeln!(file, "{line}")?;
        file.sync_all()?;
        Ok(true)
    }
}

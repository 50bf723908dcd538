//! Rotating the issuer's signing key, with the issuer stopped (`kyc-issuer key rotate`).
//!
//! 1. A new key is written beside the current one (`issuer-key.jwk.next`, mode 0600); while it
//!    is there the service refuses to start.
//! 2. The current key signs a rotation statement naming its successor
//!    ([`kyc_core::key_rotation::KeyRotation`]), and the `key_rotated` audit entry carrying it
//!    is appended, durably, then a checkpoint signed by the retiring key covers it.
//! 3. The statement is published (`data_dir/key-rotations/NNNN.jwt`, served at
//!    `GET /v1/key-rotations`), and the new key replaces the old one (rename, directory
//!    synced). The old private key is gone; its public key stays known through the statement,
//!    and the credentials it signed stay verifiable (merchants learn the successor with
//!    `kyc-verify trust learn`, which needs the retiring key's signature).
//!
//! Interrupted anywhere, running it again finishes the same rotation: the new key in
//! `.next` is reused, and a `key_rotated` entry already last in the log for it is not written
//! twice.

use std::path::{Path, PathBuf};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use kyc_core::audit_event::AuditEvent;
use kyc_core::key_rotation::KeyRotation;
use kyc_core::DidKey;

use crate::audit::{AuditError, AuditLog};
use crate::signing_key::{self, KeyFileError};

/// Why a rotation did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The new key could not be created or read.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The log refused the entry.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A published statement does not verify.
    #[error("a published rotation statement does not verify: {0}")]
    Statement(String),
    /// The log's last entry does not read.
    #[error("the log's last entry does not read")]
    LastEntry,
    /// An earlier rotation was interrupted: the service does not start until it is finished.
    #[error(
        "{0} exists: a rotation was interrupted; run `kyc-issuer key rotate` again to finish it"
    )]
    Interrupted(String),
}

/// Where a rotation reads and writes.
#[derive(Debug, Clone)]
pub struct RotationPaths {
    /// The data directory.
    pub dir: PathBuf,
    /// The signing key file.
    pub key: PathBuf,
    /// The successor's file while the rotation runs.
    pub next: PathBuf,
    /// The published statements.
    pub statements: PathBuf,
}

/// A finished rotation.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The retired key's DID.
    pub previous: DidKey,
    /// The new key's DID.
    pub current: DidKey,
    /// The statement, signed by the retired key.
    pub statement: String,
    /// Where it was published.
    pub published: PathBuf,
}

/// Rotate `old_key` (the issuer's, stopped) to the key at `paths.next` (created unless an
/// interrupted rotation left it), logging the rotation in `log` as `by` (a staff commitment),
/// then putting the new key in place.
pub fn rotate(
    log: &AuditLog,
    old_key: &SigningKey,
    paths: &RotationPaths,
    by: String,
) -> Result<Rotated, RotationError> {
    let previous = DidKey::from_verifying_key(&old_key.verifying_key());
    let (_, current) = signing_key::load_or_create(&paths.next)?;
    let statement = match logged_rotation(log, &current)? {
        Some(statement) => statement,
        None => {
            let statement = KeyRotation::sign(old_key, &current, Utc::now());
            log.append_blocking(&AuditEvent::KeyRotated {
                previous: previous.as_str().to_owned(),
                current: current.as_str().to_owned(),
                by,
                statement: statement.clone(),
            })?;
            statement
        }
    };
    // The last checkpoint under the retiring key covers the rotation.
    log.checkpoint_blocking()?;
    let published = publish(&paths.statements, &statement)?;
    std::fs::rename(&paths.next, &paths.key).map_err(io(&paths.next))?;
    sync_dir(&paths.dir)?;
    Ok(Rotated {
        previous,
        current,
        statement,
        published,
    })
}

/// Refuse while `paths.next` exists: the log may already name the key it holds.
pub fn refuse_interrupted(paths: &RotationPaths) -> Result<(), RotationError> {
    if paths.next.exists() {
        return Err(RotationError::Interrupted(paths.next.display().to_string()));
    }
    Ok(())
}

/// The statement of a `key_rotated` entry to `current` when it is the log's last entry (an
/// interrupted rotation after it was logged).
fn logged_rotation(log: &AuditLog, current: &DidKey) -> Result<Option<String>, RotationError> {
    let size = log.size();
    if size == 0 {
        return Ok(None);
    }
    let Some(line) = log.entries(size - 1, size)?.pop() else {
        return Ok(None);
    };
    let entry = kyc_core::tlog::Entry::parse_line(&line).map_err(|_| RotationError::LastEntry)?;
    match AuditEvent::from_parts(&entry.kind, &entry.data) {
        Ok(AuditEvent::KeyRotated {
            current: c,
            statement,
            ..
        }) if c == current.as_str() => Ok(Some(statement)),
        _ => Ok(None),
    }
}

/// Write `statement` as the next `NNNN.jwt` in `dir` (unless it is already there).
fn publish(dir: &Path, statement: &str) -> Result<PathBuf, RotationError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    let existing = published(dir)?;
    if let Some((path, _)) = existing.iter().find(|(_, s)| s == statement) {
        return Ok(path.clone());
    }
    let path = dir.join(format!("{:04}.jwt", existing.len() + 1));
    let tmp = path.with_extension("jwt.tmp");
    std::fs::write(&tmp, statement).map_err(io(&tmp))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// The statements published in `dir`, oldest first.
pub fn published(dir: &Path) -> Result<Vec<(PathBuf, String)>, RotationError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "jwt") {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            out.push((path, text.trim().to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<(), RotationError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RotationError + '_ {
    move |source| RotationError::Io {
        path: path.display().to_string(),
        source,
    }
}

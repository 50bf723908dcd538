//! The holder's key on disk: a private OKP JWK (RFC 8037), created with mode 0600.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use ed25519_dalek::SigningKey;
use kyc_core::did::{self, DidKey};

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HolderKeyError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Group or others may read the file.
    #[error("holder key is readable by group or others (mode {0:o}); chmod 600 it")]
    Exposed(u32),
    /// The file is not a private Ed25519 JWK.
    #[error("not a private Ed25519 JWK: {0}")]
    Invalid(did::DidError),
}

/// Create a new holder key at `path` (which must not exist).
pub fn create(path: &Path) -> Result<DidKey, HolderKeyError> {
    let (key, did) = DidKey::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(did::private_jwk(&key).as_bytes())?;
    file.sync_all()?;
    Ok(did)
}

/// Load the holder key at `path`, refusing a file that group or others can read.
pub fn load(path: &Path) -> Result<SigningKey, HolderKeyError> {
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(HolderKeyError::Exposed(mode & 0o777));
    }
    did::from_private_jwk(std::fs::read_to_string(path)?.trim()).map_err(HolderKeyError::Invalid)
}

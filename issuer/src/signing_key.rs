//! The issuer's signing key on disk: a private OKP JWK (RFC 8037), mode 0600.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use ed25519_dalek::SigningKey;
use kyc_core::did::{self, DidKey};

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Group or others may read the file: the key must be treated as leaked.
    #[error("key file {0} is readable by group or others (mode {1:o}); chmod 600 it")]
    Exposed(String, u32),
    /// The file is not a private Ed25519 JWK.
    #[error("key file {0} is not a private Ed25519 JWK: {1}")]
    Invalid(String, did::DidError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Create a new key at `path` (which must not exist), readable by its owner only.
pub fn create(path: &Path) -> Result<(SigningKey, DidKey), KeyFileError> {
    let (key, did) = DidKey::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(did::private_jwk(&key).as_bytes())
        .map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok((key, did))
}

/// Load the key at `path`, creating it first when there is none (the service's first start).
pub fn load_or_create(path: &Path) -> Result<(SigningKey, DidKey), KeyFileError> {
    match create(path) {
        Err(KeyFileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            load(path)
        }
        created => created,
    }
}

/// Load the key at `path`, refusing a file that group or others can read.
pub fn load(path: &Path) -> Result<(SigningKey, DidKey), KeyFileError> {
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Exposed(
            path.display().to_string(),
            mode & 0o777,
        ));
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let key = did::from_private_jwk(text.trim())
        .map_err(|e| KeyFileError::Invalid(path.display().to_string(), e))?;
    let did = DidKey::from_verifying_key(&key.verifying_key());
    Ok((key, did))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_and_refuse_exposed() {
        let dir = std::env::temp_dir().join(format!("kyc-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("issuer.jwk");
        let _ = std::fs::remove_file(&path);
        let (_, did) = create(&path).unwrap();
        assert_eq!(load(&path).unwrap().1, did);
        assert!(
            matches!(create(&path), Err(KeyFileError::Io { .. })),
            "never overwrites"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(&path), Err(KeyFileError::Exposed(_, 0o644))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

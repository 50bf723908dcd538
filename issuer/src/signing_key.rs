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
    /// The file is the test kit's key (`kyc-test-signer keygen`): the issuer never signs with it.
    #[error("key file {0} is a test key (kyc-test-signer's); the issuer does not sign with it")]
    TestKey(String),
    /// The file is not a 32-byte secret in base64url.
    #[error("key file {0} is not a 32-byte secret in base64url")]
    InvalidSecret(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Write `contents` to a new file at `path` (which must not exist), readable by its owner only,
/// and sync it.
pub(crate) fn create_private(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(contents).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Read the private file at `path`, refusing one that group or others can read.
pub(crate) fn read_private(path: &Path) -> Result<String, KeyFileError> {
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
    std::fs::read_to_string(path).map_err(io(path))
}

/// `create`, or when the file is already there (a later start), `load`.
pub(crate) fn create_or_load<T>(
    path: &Path,
    create: impl FnOnce(&Path) -> Result<T, KeyFileError>,
    load: impl FnOnce(&Path) -> Result<T, KeyFileError>,
) -> Result<T, KeyFileError> {
    match create(path) {
        Err(KeyFileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            load(path)
        }
        created => created,
    }
}

/// Create a new key at `path` (which must not exist), readable by its owner only.
pub fn create(path: &Path) -> Result<(SigningKey, DidKey), KeyFileError> {
    let (key, did) = DidKey::generate();
    create_private(path, did::private_jwk(&key).as_bytes())?;
    Ok((key, did))
}

/// Load the key at `path`, creating it first when there is none (the service's first start).
pub fn load_or_create(path: &Path) -> Result<(SigningKey, DidKey), KeyFileError> {
    create_or_load(path, create, load)
}

/// Load the key at `path`, refusing a file that group or others can read.
pub fn load(path: &Path) -> Result<(SigningKey, DidKey), KeyFileError> {
    let text = read_private(path)?;
    if did::is_test_jwk(&text) {
        return Err(KeyFileError::TestKey(path.display().to_string()));
    }
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

    #[test]
    fn a_test_signers_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.jwk");
        let (key, _) = DidKey::generate();
        create_private(&path, did::private_test_jwk(&key).as_bytes()).unwrap();
        assert!(matches!(load(&path), Err(KeyFileError::TestKey(_))));
    }
}

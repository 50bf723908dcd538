//! An encrypted backup of the whole wallet: `kyc-wallet export --out FILE`, `kyc-wallet import
//! FILE`.
//!
//! # Format
//!
//! A compact JWE with the keystore's parameters (`PBES2-HS512+A256KW`, `A256GCM`, 600,000
//! PBKDF2 iterations, 16-byte salt; see [`crate::keystore`]) and `cty` [`CTY`], whose plaintext
//! is
//!
//! ```json
//! {"format": "kyc-wallet-backup", "version": 1, "createdAt": "…", "did": "did:key:z…",
//!  "files": {"wallet.json": "…", "keystore.jwe": "…", "applications.json": "…",
//!            "credentials/<uuid>.sd-jwt": "…", "credentials/<uuid>.jwt": "…"}}
//! ```
//!
//! # Passwords (decided here)
//!
//! The backup is encrypted under the **backup password**: `KYC_WALLET_BACKUP_PASSWORD` when set,
//! else the wallet password. The keystore inside stays sealed under the wallet password, so a
//! backup with a separate password needs both to be used, and one without is exactly as strong
//! as the wallet itself. `export` unlocks the wallet first (a backup of a wallet its owner cannot
//! open is no backup); `import` unlocks the restored keystore before it moves anything into
//! place.
//!
//! # Import is all or nothing
//!
//! The files are written to a private staging directory beside the destination, the wallet
//! there is opened and unlocked, and only then is it renamed into place. A wallet already at
//! the destination is replaced only with `--force`; a wrong password or a damaged file changes
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keystore::{self, KeystoreError};
use crate::wallet::{Staged, Wallet, WalletError};

/// JWE `cty` of a wallet backup.
pub const CTY: &str = "kyc-wallet-backup+json";
/// The environment variable holding a backup password distinct from the wallet password.
pub const ENV_BACKUP_PASSWORD: &str = "KYC_WALLET_BACKUP_PASSWORD";
/// The `format` member.
const FORMAT: &str = "kyc-wallet-backup";
/// The only version written and read.
const VERSION: u32 = 1;
/// A backup larger than this is not one (the wallet refuses files over 4 MiB each).
pub const MAX_BACKUP_LEN: usize = 64 * 1024 * 1024;

/// Why a backup cannot be written or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The backup password does not open it.
    #[error("wrong backup password")]
    WrongPassword,
    /// It is not a backup this wallet wrote, or it was altered.
    #[error("the backup is damaged or not a kyc-wallet backup ({0})")]
    Damaged(String),
    /// Encrypting failed, or the password is too weak.
    #[error("encrypting the backup: {0}")]
    Encryption(KeystoreError),
    /// The wallet, or the restored one.
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Contents {
    format: String,
    version: u32,
    created_at: DateTime<Utc>,
    did: String,
    files: BTreeMap<String, String>,
}

/// The backup of `wallet`, encrypted under `password`.
pub fn export(wallet: &Wallet, password: &str) -> Result<String, BackupError> {
    let contents = Contents {
        format: FORMAT.into(),
        version: VERSION,
        created_at: Utc::now(),
        did: wallet.did().as_str().to_owned(),
        files: wallet.snapshot()?.into_iter().collect(),
    };
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(&contents).map_err(|e| BackupError::Damaged(e.to_string()))?,
    );
    keystore::seal_bytes(&json, password, CTY).map_err(BackupError::Encryption)
}

/// Decrypt and stage the backup `jwe` for `dest`; [`Staged::commit`] moves it into place.
pub fn stage(jwe: &str, password: &str, dest: &Path) -> Result<Staged, BackupError> {
    let plaintext =
        keystore::open_bytes(jwe, password, CTY, MAX_BACKUP_LEN).map_err(|e| match e {
            KeystoreError::WrongPassword => BackupError::WrongPassword,
            KeystoreError::Tampered => BackupError::Damaged(
                "its contents do not authenticate (the password is right)".into(),
            ),
            other => BackupError::Damaged(other.to_string()),
        })?;
    let contents: Contents = serde_json::from_slice(&plaintext)
        .map_err(|_| BackupError::Damaged("its contents are not a wallet backup".into()))?;
    if contents.format != FORMAT || contents.version != VERSION {
        return Err(BackupError::Damaged("unknown format or version".into()));
    }
    let files: Vec<(String, String)> = contents.files.into_iter().collect();
    let staged = Staged::new(dest, &files)?;
    if staged.wallet().did().as_str() != contents.did {
        return Err(BackupError::Damaged(
            "its wallet.json names another DID".into(),
        ));
    }
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "a wallet password";

    #[test]
    fn round_trip_refusals_and_all_or_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let wallet = Wallet::init(&tmp.path().join("w"), PASSWORD).unwrap();
        let backup = export(&wallet, PASSWORD).unwrap();

        let dest = tmp.path().join("restored");
        assert!(matches!(
            stage(&backup, "not the password", &dest),
            Err(BackupError::WrongPassword)
        ));
        let mut parts: Vec<String> = backup.split('.').map(str::to_owned).collect();
        let swap = if parts[3].starts_with("AAAA") {
            "BBBB"
        } else {
            "AAAA"
        };
        parts[3].replace_range(0..4, swap);
        assert!(matches!(
            stage(&parts.join("."), PASSWORD, &dest),
            Err(BackupError::Damaged(_))
        ));
        assert!(!dest.exists());
        // Nothing is left behind by the refusals.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);

        let staged = stage(&backup, PASSWORD, &dest).unwrap();
        staged.wallet().unlock(PASSWORD).unwrap();
        let restored = staged.commit(false).unwrap();
        assert_eq!(restored.did(), wallet.did());

        // A wallet in place is replaced only when asked.
        let other = Wallet::init(&tmp.path().join("other"), PASSWORD).unwrap();
        let second = export(&other, PASSWORD).unwrap();
        let staged = stage(&second, PASSWORD, &dest).unwrap();
        assert!(matches!(staged.commit(false), Err(WalletError::Exists(_))));
        assert_eq!(Wallet::open(&dest).unwrap().did(), wallet.did());
        let staged = stage(&second, PASSWORD, &dest).unwrap();
        assert_eq!(staged.commit(true).unwrap().did(), other.did());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 3);
    }
}

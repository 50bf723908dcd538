//! The issuer's long-term secret (`data_dir/issuer-secret.key`, mode 0600, created on the first
//! start): the keys of everything keyed that must outlive a signing-key rotation, derived from
//! it by purpose. It is not the signing key and not derived from it.
//!
//! **How the audit log names credentials and staff**: by keyed commitments, never by their ids.
//!
//! A credential's `id` is visible to every shop it is shown to, and a staff member's name says
//! who looked at a case; an entry that carried either would let a reader of the log join a
//! customer's credential to their case, its risk reasons and its reviewer (issue 12, finding 3).
//! Entries carry `base64url(HMAC-SHA-256(key, label || 0x00 || value))` instead
//! ([`crate::pii::commitment`]'s construction), under one issuer-wide key derived from the
//! secret:
//!
//! - the same credential or person gives the same commitment in every entry, so the auditor's
//!   replay still checks that a revocation names an issued credential, and sees that one reviewer
//!   decided several cases, without learning which credential or who;
//! - rotating the signing key does not change the names of credentials already in the log;
//! - whoever holds the key (the operator, or an auditor it is given to for an investigation) turns
//!   an id into its commitment with `kyc-issuer audit commitment`, and finds its entries.
//!
//! **The association index** (which earlier applications share a document number, a phone…)
//! is keyed by another key derived from it, so a rotation does not orphan the index either.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::pii::keyed_commitment;
use crate::signing_key::{create_or_load, create_private, read_private, KeyFileError};

/// Length of the secret, in bytes.
const KEY_LEN: usize = 32;

/// Purpose of the audit commitment key.
const AUDIT_COMMITMENTS: &[u8] = b"kyc-issuer/audit-commitments/v1";
/// Purpose of the association index key.
const ASSOCIATION_INDEX: &[u8] = b"kyc-issuer/association-index/v1";

/// What a commitment names: the label it is taken under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// A credential's `id` (`urn:uuid:…`).
    Credential,
    /// A staff member's name, as in the staff directory.
    Staff,
}

impl Committed {
    fn label(self) -> &'static str {
        match self {
            Self::Credential => "credential",
            Self::Staff => "staff",
        }
    }
}

/// The issuer's long-term secret.
#[derive(Clone)]
pub struct IssuerSecret {
    secret: Zeroizing<[u8; KEY_LEN]>,
    commitments: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for IssuerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuerSecret(..)")
    }
}

impl IssuerSecret {
    /// A secret from its bytes (tests, fixtures).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let secret = Zeroizing::new(bytes);
        let commitments = Zeroizing::new(derive(&secret, AUDIT_COMMITMENTS));
        Self {
            secret,
            commitments,
        }
    }

    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self::from_bytes(*bytes)
    }

    /// The key at `path`, created (mode 0600) on the first start.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        create_or_load(
            path,
            |path| {
                let key = Self::generate();
                create_private(path, URL_SAFE_NO_PAD.encode(key.secret.as_ref()).as_bytes())?;
                Ok(key)
            },
            Self::load,
        )
    }

    /// The key at `path`, refusing a file that group or others can read.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let text = Zeroizing::new(read_private(path)?);
        let invalid = || KeyFileError::InvalidSecret(path.display().to_string());
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?);
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| invalid())?;
        Ok(Self::from_bytes(key))
    }

    /// The commitment to `value`, named as `what`.
    #[must_use]
    pub fn commit(&self, what: Committed, value: &str) -> String {
        keyed_commitment(self.commitments.as_ref(), what.label(), value)
    }

    /// The key of the association index's hashes.
    #[must_use]
    pub fn association_index_key(&self) -> [u8; KEY_LEN] {
        derive(&self.secret, ASSOCIATION_INDEX)
    }

    /// The commitment to a credential's `id`.
    #[must_use]
    pub fn credential(&self, id: &str) -> String {
        self.commit(Committed::Credential, id)
    }

    /// The commitment to a staff member's name.
    #[must_use]
    pub fn staff(&self, name: &str) -> String {
        self.commit(Committed::Staff, name)
    }
}

/// `HMAC-SHA-256(secret, purpose)`: a key for one purpose.
fn derive(secret: &[u8; KEY_LEN], purpose: &[u8]) -> [u8; KEY_LEN] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn known_answer_and_labels_kept_apart() {
        let key = IssuerSecret::from_bytes(std::array::from_fn(|i| i as u8));
        // Python: k = hmac.new(bytes(range(32)), b"kyc-issuer/audit-commitments/v1",
        //   "sha256").digest(); base64.urlsafe_b64encode(hmac.new(k,
        //   b"credential\x00urn:uuid:1", "sha256").digest()).rstrip(b"=")
        assert_eq!(
            key.credential("urn:uuid:1"),
            "8k-RHTiHJD3B03k2w49r3oIXERlGBtWrSEsxSg_Oa9w"
        );
        assert_ne!(key.credential("alice"), key.staff("alice"));
        assert_ne!(key.staff("alice"), IssuerSecret::generate().staff("alice"));
    }

    #[test]
    fn created_once_then_loaded_and_refused_when_exposed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer-secret.key");
        let first = IssuerSecret::load_or_create(&path).unwrap();
        let again = IssuerSecret::load_or_create(&path).unwrap();
        assert_eq!(first.staff("bob"), again.staff("bob"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            IssuerSecret::load(&path),
            Err(KeyFileError::Exposed(..))
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "not base64!").unwrap();
        assert!(matches!(
            IssuerSecret::load(&path),
            Err(KeyFileError::InvalidSecret(_))
        ));
    }
}

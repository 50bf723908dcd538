//! An issuer's key rotation statement: the retiring key says which key succeeds it.
//!
//! A compact JWS signed by the **previous** key, header `{"alg": "EdDSA", "typ":
//! "kyc-key-rotation+jwt", "kid": "<previous key's did:key DID URL>"}`, payload `{"previous":
//! "<did:key>", "current": "<did:key>", "at": "<RFC 3339>"}`. The issuer logs it in its
//! `key_rotated` audit entry and publishes it; a merchant whose trust file trusts `previous`
//! learns `current` from it (`kyc-verify trust learn`), and the auditor's replay checks every
//! `key_rotated` entry carries one. A statement not signed by the key it retires proves
//! nothing and is refused.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::did::DidKey;
use crate::error::{CryptoError, MalformedError, VerifyError};
use crate::jws::{self, CompactJws};

/// `typ` of a key rotation statement.
pub const TYP_KEY_ROTATION: &str = "kyc-key-rotation+jwt";

/// What a rotation statement says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// The retiring key's DID: it signs the statement.
    pub previous: String,
    /// The succeeding key's DID.
    pub current: String,
    /// From when the succeeding key signs (and the retiring one no longer does).
    pub at: DateTime<Utc>,
}

impl KeyRotation {
    /// The statement that `previous_key` is succeeded by `current` from `at`.
    pub fn sign(previous_key: &SigningKey, current: &DidKey, at: DateTime<Utc>) -> String {
        let previous = DidKey::from_verifying_key(&previous_key.verifying_key());
        let statement = Self {
            previous: previous.as_str().to_owned(),
            current: current.as_str().to_owned(),
            at,
        };
        // Two strings and a time always serialise.
        let payload = serde_json::to_vec(&statement).unwrap_or_default();
        jws::sign(
            TYP_KEY_ROTATION,
            Some(&previous.key_id()),
            &payload,
            previous_key,
        )
    }

    /// Read `statement`, checking that the key it retires signed it.
    pub fn verify(statement: &str) -> Result<Self, VerifyError> {
        let jws = CompactJws::parse(statement.trim())?;
        jws.expect_typ(&[TYP_KEY_ROTATION])?;
        let kid = jws
            .header
            .kid
            .as_deref()
            .ok_or_else(|| CryptoError::BadKeyId("missing".into()))?;
        let signer = DidKey::parse_key_id(kid).map_err(|e| CryptoError::BadKeyId(e.to_string()))?;
        jws.verify(signer.verifying_key())?;
        let rotation: Self = jws.payload_json("key rotation")?;
        if rotation.previous != signer.as_str() {
            return Err(CryptoError::KeyIdNotIssuer.into());
        }
        let current = DidKey::parse(&rotation.current).map_err(MalformedError::from)?;
        if current.as_str() == signer.as_str() {
            return Err(MalformedError::Structure("a key cannot succeed itself".into()).into());
        }
        Ok(rotation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_by_the_retiring_key_only() {
        let (old, old_did) = DidKey::generate();
        let (new, new_did) = DidKey::generate();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let statement = KeyRotation::sign(&old, &new_did, at);
        let read = KeyRotation::verify(&statement).unwrap();
        assert_eq!(read.previous, old_did.as_str());
        assert_eq!(read.current, new_did.as_str());
        assert_eq!(read.at, at);

        // Signed by the new key, claiming to retire the old one: refused.
        let payload = serde_json::to_vec(&read).unwrap();
        let forged = jws::sign(TYP_KEY_ROTATION, Some(&new_did.key_id()), &payload, &new);
        assert_eq!(
            KeyRotation::verify(&forged).unwrap_err(),
            VerifyError::Crypto(CryptoError::KeyIdNotIssuer)
        );
        // The old key's kid over another key's signature: refused.
        let lying = jws::sign(TYP_KEY_ROTATION, Some(&old_did.key_id()), &payload, &new);
        assert!(KeyRotation::verify(&lying).is_err());
        // A tampered payload: refused.
        let mut parts: Vec<&str> = statement.split('.').collect();
        let other = jws::sign(TYP_KEY_ROTATION, None, b"{}", &old);
        parts[1] = other.split('.').nth(1).unwrap();
        assert!(KeyRotation::verify(&parts.join(".")).is_err());
        // Another typ (a credential signed by the old key) is not a statement.
        let wrong_typ = jws::sign("vc+jwt", Some(&old_did.key_id()), &payload, &old);
        assert!(KeyRotation::verify(&wrong_typ).is_err());
    }
}

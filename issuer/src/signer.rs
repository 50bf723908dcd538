//! The one holder of the issuer's signing key in the service.
//!
//! It signs a credential or a status list only after an audit entry naming it (by the digest
//! of its signing input, [`kyc_core::jws::Unsigned::digest`]) is durable in the log. Ed25519
//! signatures are deterministic, so the digest fixes the signed object: every signature the
//! key makes here is one the log recorded first, and an auditor finds any credential or list
//! in the log from its own bytes ([`kyc_core::jws::input_digest`]). The log's checkpoints are
//! signed by the audit writer: they are signed notes over the log itself.
//!
//! The production binary has no other path to the key: test and demo signing lives in the test
//! kit's own binary (`kyc-test-signer`), which refuses the issuer's key files.

use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::SigningKey;
use kyc_core::audit_event::AuditEvent;
use kyc_core::jws::Unsigned;
use kyc_core::sd_jwt::UnsignedSdJwt;
use kyc_core::DidKey;

use crate::audit::{AuditError, AuditLog};

/// Something to sign: a compact JWS, or an SD-JWT (whose issuer-signed JWT is what is signed).
#[derive(Debug, Clone)]
pub enum Draft {
    /// A compact JWS (`vc+jwt` credential, status list).
    Jws(Unsigned),
    /// A `vc+sd-jwt` credential.
    SdJwt(UnsignedSdJwt),
}

impl Draft {
    /// The digest of what the key signs.
    pub fn digest(&self) -> String {
        match self {
            Self::Jws(jws) => jws.digest(),
            Self::SdJwt(sd) => sd.jwt.digest(),
        }
    }

    fn sign(self, key: &SigningKey) -> String {
        match self {
            Self::Jws(jws) => jws.sign(key),
            Self::SdJwt(sd) => sd.sign(key),
        }
    }
}

/// Why nothing was signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A draft is named by none of the events: a bug in the caller; nothing was logged.
    #[error("a draft to sign is named by no audit event")]
    NotLogged,
    /// The events could not be made durable: nothing was signed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The issuer's signing key, behind the audit log.
#[derive(Debug)]
pub struct IssuerSigner {
    key: SigningKey,
    did: DidKey,
    signatures: AtomicU64,
}

impl IssuerSigner {
    /// The signer of `key`.
    pub fn new(key: SigningKey) -> Self {
        let did = DidKey::from_verifying_key(&key.verifying_key());
        Self {
            key,
            did,
            signatures: AtomicU64::new(0),
        }
    }

    /// The issuer's DID.
    pub fn did(&self) -> &DidKey {
        &self.did
    }

    /// Append `events` to `audit`, durably, then sign `drafts`, each of which one of the events
    /// must name ([`AuditEvent::signed_digests`]). Nothing is logged when a draft is unnamed;
    /// nothing is signed when the log refuses.
    pub async fn log_then_sign(
        &self,
        audit: &AuditLog,
        events: &[AuditEvent],
        drafts: Vec<Draft>,
    ) -> Result<Vec<String>, SignError> {
        let named: std::collections::HashSet<&str> =
            events.iter().flat_map(AuditEvent::signed_digests).collect();
        if drafts.iter().any(|d| !named.contains(d.digest().as_str())) {
            return Err(SignError::NotLogged);
        }
        audit.append_all(events).await?;
        let signed: Vec<String> = drafts.into_iter().map(|d| d.sign(&self.key)).collect();
        self.signatures
            .fetch_add(signed.len() as u64, Ordering::Relaxed);
        Ok(signed)
    }

    /// How many signatures [`IssuerSigner::log_then_sign`] has made since start.
    pub fn signatures(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }
}

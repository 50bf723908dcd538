//! Signing credentials and status lists.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::credential::{Evidence, StatusEntry};
use kyc_core::status_list::{Bitstring, StatusListCredential};
use kyc_core::{sd_jwt, DidKey, KycCredential, KycSubject, MalformedError};

/// Both securing forms of one credential.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The credential as signed.
    pub credential: KycCredential,
    /// `vc+jwt`.
    pub jwt: String,
    /// `vc+sd-jwt` with every disclosure.
    pub sd_jwt: String,
}

/// Where a credential's revocation bit lives.
#[derive(Debug, Clone)]
pub struct StatusSlot {
    /// URL of the status list credential.
    pub list_url: String,
    /// Index in that list.
    pub index: u64,
}

/// Sign `subject` valid from `now` for `validity`, in both forms, with `evidence` of the checks.
///
/// The assurance level is derived from the tier, so the two cannot disagree.
pub fn issue(
    key: &SigningKey,
    mut subject: KycSubject,
    now: DateTime<Utc>,
    validity: Duration,
    status: Option<&StatusSlot>,
    evidence: Vec<Evidence>,
) -> Result<Issued, MalformedError> {
    let issuer = DidKey::from_verifying_key(&key.verifying_key());
    subject.assurance_level = subject.kyc_tier.assurance_level();
    let mut credential = KycCredential::new(&issuer, subject, now, Some(now + validity));
    credential.credential_status = status.map(|s| StatusEntry::revocation(&s.list_url, s.index));
    credential.evidence = evidence;
    let jwt = credential.sign_jwt(key)?;
    let sd_jwt = sd_jwt::issue(&credential, key)?;
    Ok(Issued {
        credential,
        jwt,
        sd_jwt,
    })
}

/// A signed revocation list at `url` with `revoked` set, valid for `validity` from `now`.
pub fn status_list(
    key: &SigningKey,
    url: &str,
    revoked: &[u64],
    now: DateTime<Utc>,
    validity: Duration,
) -> Result<String, MalformedError> {
    let mut list = Bitstring::new(0);
    for &index in revoked {
        if !list.set(index, true) {
            return Err(MalformedError::Structure(format!(
                "index {index} is beyond the list's {} entries",
                list.len()
            )));
        }
    }
    let issuer = DidKey::from_verifying_key(&key.verifying_key());
    StatusListCredential::revocation(&issuer, url, &list, now, Some(now + validity)).sign_jwt(key)
}

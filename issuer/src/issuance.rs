//! Credentials and status lists drafted for signing: everything but the signature, so that the
//! audit entry naming them is written before the key signs ([`crate::signer`]).

use chrono::{DateTime, Duration, Utc};
use kyc_core::credential::{Evidence, StatusEntry};
use kyc_core::jws::Unsigned;
use kyc_core::sd_jwt::{self, UnsignedSdJwt};
use kyc_core::status_list::{Bitstring, StatusListCredential};
use kyc_core::{DidKey, KycCredential, KycSubject, MalformedError};

/// Both securing forms of one credential, unsigned.
#[derive(Debug, Clone)]
pub struct Drafted {
    /// The credential.
    pub credential: KycCredential,
    /// `vc+jwt`.
    pub jwt: Unsigned,
    /// `vc+sd-jwt` with every disclosure.
    pub sd_jwt: UnsignedSdJwt,
}

/// Where a credential's revocation bit lives.
#[derive(Debug, Clone)]
pub struct StatusSlot {
    /// URL of the status list credential.
    pub list_url: String,
    /// Index in that list.
    pub index: u64,
}

/// `subject`'s credential from `issuer`, valid from `now` for `validity`, in both forms, with
/// `evidence` of the checks.
///
/// The assurance level is derived from the tier, so the two cannot disagree.
pub fn draft(
    issuer: &DidKey,
    mut subject: KycSubject,
    now: DateTime<Utc>,
    validity: Duration,
    status: Option<&StatusSlot>,
    evidence: Vec<Evidence>,
) -> Result<Drafted, MalformedError> {
    subject.assurance_level = subject.kyc_tier.assurance_level();
    let mut credential = KycCredential::new(issuer, subject, now, Some(now + validity));
    credential.credential_status = status.map(|s| StatusEntry::revocation(&s.list_url, s.index));
    credential.evidence = evidence;
    let jwt = credential.unsigned_jwt(issuer)?;
    let sd_jwt = sd_jwt::prepare(&credential, issuer)?;
    Ok(Drafted {
        credential,
        jwt,
        sd_jwt,
    })
}

/// `issuer`'s revocation list at `url` with `revoked` set, valid for `validity` from `now`.
pub fn status_list(
    issuer: &DidKey,
    url: &str,
    revoked: &[u64],
    now: DateTime<Utc>,
    validity: Duration,
) -> Result<Unsigned, MalformedError> {
    let mut list = Bitstring::new(0);
    for &index in revoked {
        if !list.set(index, true) {
            return Err(MalformedError::Structure(format!(
                "index {index} is beyond the list's {} entries",
                list.len()
            )));
        }
    }
    StatusListCredential::revocation(issuer, url, &list, now, Some(now + validity))
        .unsigned_jwt(issuer)
}

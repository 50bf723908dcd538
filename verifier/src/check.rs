//! Credential and presentation checks, each ending in one [`Verdict`].
//!
//! Order: what `kyc-core` checks (shape, signature, disclosures, key binding, request policy)
//! first, since nothing else can be trusted before; then this relying party's own policy: the
//! trust list, the validity window, revocation status, and for presentations, replay.

use chrono::{DateTime, Duration, Utc};
use kyc_core::credential::{self, KycCredential};
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::sd_jwt::{self, SdJwt, TYP_VC_SD_JWT};
use kyc_core::{MalformedError, PolicyError, VerifyError};
use serde_json::Value;

use crate::replay::{Redemption, ReplayStore};
use crate::status_cache::StatusLists;
use crate::trust::{KeyWindow, TrustList};
use crate::verdict::{Refusal, StatusOutcome, Verdict};

/// What the relying party knows and requires about revocation status.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusPolicy<'a> {
    /// The status lists at hand, already verified (a synced cache, or one list given).
    pub lists: Option<&'a StatusLists>,
    /// The oldest list acceptable, measured from when it was fetched (or, for a list given as
    /// a file, its `validFrom`); `None` accepts any age (a list past its own `validUntil` is
    /// always refused).
    pub max_age: Option<Duration>,
    /// Refuse a credential with a status entry when no list for it is at hand.
    pub require: bool,
}

/// Verify a credential in either securing form (an SD-JWT is checked with all its disclosures).
pub fn verify_credential(
    input: &str,
    trust: &TrustList,
    status: &StatusPolicy<'_>,
    at: DateTime<Utc>,
) -> Verdict {
    let sd_form = input.contains('~');
    let verified = if sd_form {
        SdJwt::parse(input)
            .map_err(VerifyError::from)
            .and_then(|parsed| {
                if parsed.key_binding.is_some() {
                    return Err(MalformedError::Structure(
                        "this is a presentation; verify it against its request".into(),
                    )
                    .into());
                }
                sd_jwt::verify(&parsed, trust.resolver()).map(|v| v.verified)
            })
    } else {
        credential::verify_jwt(input, trust.resolver())
    };
    let form = if sd_form {
        TYP_VC_SD_JWT
    } else {
        credential::TYP_VC_JWT
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => return Verdict::failed(&e).with_form(form),
    };
    let mut verdict = Verdict::default().with_form(form);
    relying_party_policy(&mut verdict, &verified.credential, trust, status, at);
    for e in verified.credential.check_validity(at) {
        verdict.push(&e.into());
    }
    verdict.valid = verdict.errors.is_empty();
    verdict
}

/// Verify a checkout presentation against the request it answers.
///
/// `replay` must hold the request (see [`ReplayStore::issue`]): a presentation is accepted only
/// for a request this relying party issued, unexpired and not answered before. The store is
/// consulted last, and only for a presentation that passes everything else, so a rejected
/// presentation does not burn its nonce. Its I/O errors are the caller's to report.
pub fn verify_presentation(
    input: &str,
    request: &PresentationRequest,
    trust: &TrustList,
    status: &StatusPolicy<'_>,
    replay: &mut dyn ReplayStore,
    at: DateTime<Utc>,
) -> std::io::Result<Verdict> {
    let verified = match presentation::verify_presentation(input, request, trust.resolver(), at) {
        Ok(v) => v,
        Err(e) => return Ok(Verdict::failed(&e).with_form(TYP_VC_SD_JWT)),
    };
    let mut verdict = Verdict::default().with_form(TYP_VC_SD_JWT);
    relying_party_policy(&mut verdict, &verified.credential, trust, status, at);
    if let Ok(Value::Object(mut subject)) =
        serde_json::to_value(&verified.credential.credential_subject)
    {
        subject.retain(|k, _| verified.disclosed.contains(k));
        verdict.disclosed = Some(subject);
    }
    if verdict.errors.is_empty() {
        match replay.redeem(request, at)? {
            Redemption::Accepted => {}
            Redemption::Unknown => verdict.refuse(&Refusal::UnknownNonce),
            Redemption::Expired => {
                verdict.push(&PolicyError::RequestExpired(request.expires_at).into())
            }
            Redemption::Replayed => verdict.push(&PolicyError::Replayed.into()),
        }
    }
    verdict.valid = verdict.errors.is_empty();
    Ok(verdict)
}

/// Trust list and revocation status: what this relying party adds to a verified credential.
fn relying_party_policy(
    verdict: &mut Verdict,
    credential: &KycCredential,
    trust: &TrustList,
    status: &StatusPolicy<'_>,
    at: DateTime<Utc>,
) {
    verdict.issuer = Some(credential.issuer.clone());
    verdict.subject = Some(credential.credential_subject.id.clone());
    verdict.kyc_tier = Some(credential.credential_subject.kyc_tier.as_u8());
    match trust.get(&credential.issuer) {
        Some((issuer, key)) => {
            verdict.issuer_name = Some(issuer.name.clone());
            match key.window(credential.valid_from) {
                KeyWindow::InService => {}
                KeyWindow::Retired(until) => verdict.refuse(&Refusal::KeyRetired(until)),
                KeyWindow::NotYetActive(from) => verdict.refuse(&Refusal::KeyNotYetActive(from)),
            }
        }
        None => verdict.push(&PolicyError::UntrustedIssuer(credential.issuer.clone()).into()),
    }
    let entry = credential.credential_status.as_ref();
    let cached = entry.and_then(|e| status.lists?.for_url(&e.status_list_credential));
    verdict.status = Some(match (entry, cached) {
        (None, _) => StatusOutcome::NoStatus,
        (Some(_), None) => {
            if status.require {
                verdict.refuse(&Refusal::StatusUnavailable);
            }
            StatusOutcome::NotChecked
        }
        (Some(entry), Some(cached)) => {
            let list = &cached.list;
            let as_of = cached.as_of();
            let too_old = status.max_age.is_some_and(|max| as_of < at - max);
            if too_old || list.credential.valid_until.is_some_and(|until| at >= until) {
                verdict.push(&PolicyError::StaleStatusList(as_of).into());
            }
            // After a key rotation the list may be signed by another key of the same issuer.
            let signer = &list.credential.issuer;
            let issuer = if trust.same_issuer(signer, &credential.issuer) {
                signer
            } else {
                &credential.issuer
            };
            match list.is_set(entry, issuer) {
                Ok(false) => StatusOutcome::Valid,
                Ok(true) => {
                    verdict.push(&PolicyError::Revoked.into());
                    StatusOutcome::Revoked
                }
                Err(e) => {
                    verdict.push(&e);
                    StatusOutcome::NotChecked
                }
            }
        }
    });
}

/// Why a presentation request could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request would be malformed (unknown or repeated claim, empty audience).
    #[error(transparent)]
    Invalid(#[from] MalformedError),
    /// The store could not record it.
    #[error("recording the request's nonce: {0}")]
    Store(#[from] std::io::Error),
}

/// Build a presentation request with a fresh nonce, valid for `ttl` from `now`, and record it in
/// `store`, so that [`verify_presentation`] accepts one answer to it.
pub fn issue_request(
    store: &mut dyn ReplayStore,
    aud: &str,
    min_tier: kyc_core::KycTier,
    claims: &[&str],
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<PresentationRequest, RequestError> {
    let request = PresentationRequest::new(aud, min_tier, claims, now, ttl)?;
    store.issue(&request)?;
    Ok(request)
}

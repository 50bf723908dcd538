//! Answering a merchant's presentation request: which credential, which claims, then the
//! key-bound SD-JWT presentation (`kyc_core::presentation::present`).
//!
//! The wallet refuses up front what the merchant's verifier would reject anyway, and says why:
//! an expired request, a credential that is expired, below the requested tier, or lacks a
//! requested claim. By default it discloses exactly the requested claims; `--disclose` may add
//! more (the holder's choice, shown on stderr) but not leave a requested one out.
//!
//! With several credentials that fit, the one with the **lowest** sufficient tier is chosen (the
//! tier is always disclosed, and a higher one says more about the holder than was asked), then
//! the one valid longest.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::credential::DISCLOSABLE_CLAIMS;
use kyc_core::presentation::{self, PresentationRequest};
use kyc_core::MalformedError;

use crate::held::{Summary, Validity};

/// Why the wallet will not answer the request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// The request is not a valid presentation request.
    #[error("the presentation request is invalid: {0}")]
    BadRequest(MalformedError),
    /// The request's `expiresAt` has passed.
    #[error("the presentation request expired at {0}; ask the merchant for a new one")]
    RequestExpired(DateTime<Utc>),
    /// The wallet holds no credential at all.
    #[error("the wallet holds no credential; `kyc-wallet apply`, then `kyc-wallet collect`")]
    NoCredentials,
    /// The credential lacks claims the merchant asks for (or `--disclose` names).
    #[error("credential {credential} does not carry {}: it cannot satisfy the request", .missing.join(", "))]
    MissingClaims {
        /// The credential's short id.
        credential: String,
        /// Claim names missing.
        missing: Vec<String>,
    },
    /// The credential's tier is below the request's `minTier`.
    #[error("credential {credential} has KYC tier {have}; the merchant requires at least {need}")]
    TierTooLow {
        /// The credential's short id.
        credential: String,
        /// Its tier.
        have: u8,
        /// The tier required.
        need: u8,
    },
    /// The credential is expired or not yet valid.
    #[error("credential {credential} is {}", if *.validity == Validity::Expired { "expired" } else { "not yet valid" })]
    NotValid {
        /// The credential's short id.
        credential: String,
        /// Where it stands.
        validity: Validity,
    },
    /// Several credentials are held and none fits; one reason each.
    #[error("no credential in the wallet satisfies the request:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    NoneSuitable(Vec<CheckoutError>),
    /// `--disclose` leaves out claims the merchant requires.
    #[error("--disclose leaves out {}, which the merchant requires; the presentation would be rejected", .0.join(", "))]
    WithholdsRequired(Vec<String>),
    /// `--disclose` names something that is not a KYC claim.
    #[error("--disclose names an unknown claim; disclosable claims are: {}", DISCLOSABLE_CLAIMS.join(", "))]
    UnknownClaim,
    /// Every credential that fits was shown to another shop, and no new batch could be had.
    #[error("every credential in the wallet was shown to another shop, and a credential is shown to one shop only (so that shops cannot recognise you); run `kyc-wallet collect` online for a new batch")]
    ShownElsewhere,
    /// The credential could not be turned into a presentation.
    #[error("the credential cannot be presented: {0}")]
    Present(MalformedError),
}

/// What will be shown to the merchant.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The credential presented.
    pub credential: Summary,
    /// The claims disclosed, in the credential's order.
    pub disclose: Vec<String>,
    /// Of those, the ones the merchant did not ask for.
    pub beyond_request: Vec<String>,
    /// The credential's claims that stay hidden.
    pub withheld: Vec<String>,
}

/// Parse a request and refuse it when expired at `now`.
pub fn read_request(json: &[u8], now: DateTime<Utc>) -> Result<PresentationRequest, CheckoutError> {
    let request = PresentationRequest::from_json(json).map_err(CheckoutError::BadRequest)?;
    if now >= request.expires_at {
        return Err(CheckoutError::RequestExpired(request.expires_at));
    }
    Ok(request)
}

/// Choose among `held` the credential to present for `request` and what to disclose.
/// `disclose`, when given, replaces the requested claims as the set to disclose.
pub fn plan(
    request: &PresentationRequest,
    held: &[Summary],
    disclose: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Plan, CheckoutError> {
    if now >= request.expires_at {
        return Err(CheckoutError::RequestExpired(request.expires_at));
    }
    let wanted: Vec<String> = match disclose {
        None => request.claims.clone(),
        Some(chosen) => {
            if chosen
                .iter()
                .any(|c| !DISCLOSABLE_CLAIMS.contains(&c.as_str()))
            {
                return Err(CheckoutError::UnknownClaim);
            }
            let left_out: Vec<String> = request
                .claims
                .iter()
                .filter(|c| !chosen.contains(c))
                .cloned()
                .collect();
            if !left_out.is_empty() {
                return Err(CheckoutError::WithholdsRequired(left_out));
            }
            chosen.to_vec()
        }
    };
    let mut fitting = Vec::new();
    let mut reasons = Vec::new();
    for summary in held {
        match fits(summary, request, &wanted) {
            Ok(()) => fitting.push(summary),
            Err(e) => reasons.push(e),
        }
    }
    fitting.sort_by_key(|s| (s.tier, std::cmp::Reverse(s.valid_until)));
    let Some(chosen) = fitting.first() else {
        return Err(match reasons.len() {
            0 => CheckoutError::NoCredentials,
            1 => reasons.remove(0),
            _ => CheckoutError::NoneSuitable(reasons),
        });
    };
    let (disclose, withheld) = chosen
        .disclosable
        .iter()
        .cloned()
        .partition(|c| wanted.contains(c));
    let beyond_request = wanted
        .iter()
        .filter(|c| !request.claims.contains(c))
        .cloned()
        .collect();
    Ok(Plan {
        credential: (*chosen).clone(),
        disclose,
        beyond_request,
        withheld,
    })
}

fn fits(
    summary: &Summary,
    request: &PresentationRequest,
    wanted: &[String],
) -> Result<(), CheckoutError> {
    if summary.validity != Validity::Valid {
        return Err(CheckoutError::NotValid {
            credential: summary.stem.clone(),
            validity: summary.validity,
        });
    }
    if summary.tier < request.min_tier.as_u8() {
        return Err(CheckoutError::TierTooLow {
            credential: summary.stem.clone(),
            have: summary.tier,
            need: request.min_tier.as_u8(),
        });
    }
    let missing = summary.missing(wanted);
    if !missing.is_empty() {
        return Err(CheckoutError::MissingClaims {
            credential: summary.stem.clone(),
            missing: missing.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(())
}

/// The presentation of `sd_jwt` (the planned credential, as issued) for `request`, disclosing
/// `plan.disclose`, key-bound with `key` at `now`.
pub fn present(
    plan: &Plan,
    request: &PresentationRequest,
    sd_jwt: &str,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<String, CheckoutError> {
    // `presentation::present` discloses the request's claims; the key binding takes only its
    // `aud` and `nonce`, so the holder's choice goes in as the claim list.
    let chosen = PresentationRequest {
        claims: plan.disclose.clone(),
        ..request.clone()
    };
    presentation::present(sd_jwt, &chosen, key, now).map_err(CheckoutError::Present)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use kyc_core::KycTier;

    fn summary(stem: &str, tier: u8, claims: &[&str], validity: Validity) -> Summary {
        Summary {
            id: format!("urn:uuid:{stem}"),
            stem: stem.into(),
            issuer: "did:key:z6Mk".into(),
            subject: "did:key:z6Mk".into(),
            tier,
            assurance_level: None,
            valid_from: Utc::now() - Duration::days(1),
            valid_until: Some(Utc::now() + Duration::days(tier.into())),
            validity,
            disclosable: claims.iter().map(|c| (*c).to_owned()).collect(),
            status: None,
            evidence: Vec::new(),
            presented_to: None,
        }
    }

    fn request(tier: KycTier, claims: &[&str]) -> PresentationRequest {
        PresentationRequest::new("shop", tier, claims, Utc::now(), Duration::minutes(5)).unwrap()
    }

    #[test]
    fn picks_the_lowest_sufficient_tier_and_discloses_what_was_asked() {
        let held = [
            summary("t3", 3, &["ageOver18", "givenName"], Validity::Valid),
            summary("t2", 2, &["ageOver18", "givenName"], Validity::Valid),
            summary("t1", 1, &["givenName"], Validity::Valid),
        ];
        let p = plan(
            &request(KycTier::Verified, &["ageOver18"]),
            &held,
            None,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(p.credential.stem, "t2");
        assert_eq!(p.disclose, ["ageOver18"]);
        assert_eq!(p.withheld, ["givenName"]);
        assert!(p.beyond_request.is_empty());
        let more = ["ageOver18".to_owned(), "givenName".to_owned()];
        let p = plan(
            &request(KycTier::Verified, &["ageOver18"]),
            &held,
            Some(&more),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(p.beyond_request, ["givenName"]);
    }

    #[test]
    fn refusals() {
        let now = Utc::now();
        let one = [summary("t0", 0, &[], Validity::Valid)];
        assert!(matches!(
            plan(&request(KycTier::Unverified, &["ageOver18"]), &one, None, now),
            Err(CheckoutError::MissingClaims { missing, .. }) if missing == ["ageOver18"]
        ));
        assert!(matches!(
            plan(&request(KycTier::Basic, &[]), &one, None, now),
            Err(CheckoutError::TierTooLow {
                have: 0,
                need: 1,
                ..
            })
        ));
        let expired = [summary("old", 2, &["ageOver18"], Validity::Expired)];
        assert!(matches!(
            plan(&request(KycTier::Basic, &[]), &expired, None, now),
            Err(CheckoutError::NotValid { .. })
        ));
        assert!(matches!(
            plan(&request(KycTier::Basic, &[]), &[], None, now),
            Err(CheckoutError::NoCredentials)
        ));
        let both = [one[0].clone(), expired[0].clone()];
        let err = plan(&request(KycTier::Basic, &[]), &both, None, now).unwrap_err();
        assert!(
            matches!(&err, CheckoutError::NoneSuitable(r) if r.len() == 2),
            "{err}"
        );
        let r = request(KycTier::Unverified, &["ageOver18"]);
        assert!(matches!(
            plan(&r, &one, Some(&[]), now),
            Err(CheckoutError::WithholdsRequired(_))
        ));
        assert!(matches!(
            plan(&r, &one, Some(&["ssn".to_owned()]), now),
            Err(CheckoutError::UnknownClaim)
        ));
        assert!(matches!(
            plan(&r, &one, None, r.expires_at),
            Err(CheckoutError::RequestExpired(_))
        ));
    }
}

//! Credentials the wallet holds: checked when collected, summarised for `list` and `show`.
//!
//! The wallet verifies what it stores, offline, with `kyc-core`: the issuer's signature on both
//! forms, the SD-JWT's disclosures and `cnf`, that both forms are the same credential, and that
//! it is bound to this wallet's DID. A credential that fails is not stored; one that fails later
//! (a damaged file) is reported, not presented.

use chrono::{DateTime, Utc};
use kyc_core::credential::{self, KycCredential};
use kyc_core::did::Resolver;
use kyc_core::sd_jwt::{self, SdJwt};
use kyc_core::{DidKey, VerifyError};
use serde::Serialize;

use crate::wallet::StoredCredential;

/// Why a credential is not fit to hold.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeldError {
    /// It does not verify (malformed, bad signature, …).
    #[error("the credential does not verify: {0}")]
    Invalid(#[from] VerifyError),
    /// It is bound to another holder.
    #[error("the credential is bound to another holder, not this wallet's DID")]
    NotOurs,
    /// Its two forms, or the issuer's description of it, disagree.
    #[error("the issuer's answer is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// Where a credential stands in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// Within `validFrom`..`validUntil`.
    Valid,
    /// Before `validFrom`.
    NotYetValid,
    /// Past `validUntil`.
    Expired,
}

/// The credential's status entry (Bitstring Status List).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSummary {
    /// `revocation`.
    pub purpose: String,
    /// The status list credential's URL.
    pub list: String,
    /// The credential's index in it.
    pub index: String,
}

/// What a person (or a script) needs to know about a held credential. Claim names only: the
/// values stay in the credential until the holder presents them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `urn:uuid:…`.
    pub id: String,
    /// The wallet's short name for it (the uuid).
    pub stem: String,
    /// The issuer's DID.
    pub issuer: String,
    /// The holder's DID (this wallet's).
    pub subject: String,
    /// KYC tier, 0–3.
    pub tier: u8,
    /// `low`, `substantial` or `high`; none for tier 0.
    pub assurance_level: Option<String>,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// Valid, expired or not yet valid, now.
    pub validity: Validity,
    /// Claims that can be disclosed selectively, in the credential's order.
    pub disclosable: Vec<String>,
    /// The status entry, if the issuer gave one.
    pub status: Option<StatusSummary>,
    /// The checks behind it: `(check, outcome)`.
    pub evidence: Vec<(String, String)>,
    /// The one shop (`aud`) it was presented to; it is shown to no other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented_to: Option<String>,
}

impl Summary {
    /// Whether the credential carries every claim in `claims`; the missing ones otherwise.
    pub fn missing<'a>(&self, claims: &'a [String]) -> Vec<&'a str> {
        claims
            .iter()
            .filter(|c| !self.disclosable.contains(c))
            .map(String::as_str)
            .collect()
    }
}

/// Verify and summarise the SD-JWT of a held credential, which must be bound to `holder` (its
/// own holder key's DID, [`StoredCredential::holder`]).
pub fn summarise(
    stored: &StoredCredential,
    holder: &DidKey,
    now: DateTime<Utc>,
) -> Result<Summary, HeldError> {
    let parsed = SdJwt::parse(&stored.sd_jwt).map_err(VerifyError::from)?;
    let verified = sd_jwt::verify(&parsed, &Resolver::new())?;
    let credential = verified.verified.credential;
    if credential.credential_subject.id != holder.as_str() {
        return Err(HeldError::NotOurs);
    }
    let mut summary = summary_of(&credential, &stored.stem, verified.disclosed, now);
    summary.presented_to = stored.presented_to().map(str::to_owned);
    Ok(summary)
}

/// [`summarise`] a held credential against its own holder key's DID, or the wallet's (`wallet`)
/// for a credential the wallet records no holder key for.
pub fn summarise_held(
    stored: &StoredCredential,
    wallet: &DidKey,
    now: DateTime<Utc>,
) -> Result<Summary, HeldError> {
    let holder = stored
        .holder(wallet)
        .map_err(|_| HeldError::Inconsistent("the wallet's record of its holder key is damaged"))?;
    summarise(stored, &holder, now)
}

/// Check a credential just collected: both forms verify, are the same credential with the id
/// and tier the issuer announced, and are bound to `holder`.
pub fn check_collected(
    id: &str,
    tier: u8,
    sd_jwt: &str,
    jwt: &str,
    holder: &DidKey,
    now: DateTime<Utc>,
) -> Result<Summary, HeldError> {
    let stem = crate::wallet::credential_stem(id)
        .map_err(|_| HeldError::Inconsistent("the credential id is not usable"))?;
    let summary = summarise(
        &StoredCredential {
            stem,
            sd_jwt: sd_jwt.to_owned(),
            jwt: None,
            meta: None,
        },
        holder,
        now,
    )?;
    let jwt = credential::verify_jwt(jwt, &Resolver::new())?;
    if summary.id != id || jwt.credential.id.as_deref() != Some(id) {
        return Err(HeldError::Inconsistent("the two forms carry different ids"));
    }
    if jwt.credential.issuer != summary.issuer {
        return Err(HeldError::Inconsistent(
            "the two forms name different issuers",
        ));
    }
    if jwt.credential.credential_subject.id != holder.as_str() {
        return Err(HeldError::NotOurs);
    }
    if summary.tier != tier || jwt.credential.credential_subject.kyc_tier.as_u8() != tier {
        return Err(HeldError::Inconsistent(
            "the tier differs from the one announced",
        ));
    }
    Ok(summary)
}

fn summary_of(
    c: &KycCredential,
    stem: &str,
    disclosable: Vec<String>,
    now: DateTime<Utc>,
) -> Summary {
    let validity = if now < c.valid_from {
        Validity::NotYetValid
    } else if c.valid_until.is_some_and(|u| now >= u) {
        Validity::Expired
    } else {
        Validity::Valid
    };
    Summary {
        // The SD-JWT form carries no id; the wallet files it under the one the issuer gave.
        id: c.id.clone().unwrap_or_else(|| format!("urn:uuid:{stem}")),
        stem: stem.to_owned(),
        issuer: c.issuer.clone(),
        subject: c.credential_subject.id.clone(),
        tier: c.credential_subject.kyc_tier.as_u8(),
        assurance_level: c.credential_subject.assurance_level.map(|l| wire_name(&l)),
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        validity,
        disclosable,
        status: c.credential_status.as_ref().map(|s| StatusSummary {
            purpose: s.status_purpose.clone(),
            list: s.status_list_credential.clone(),
            index: s.status_list_index.clone(),
        }),
        evidence: c
            .evidence
            .iter()
            .map(|e| (wire_name(&e.check), wire_name(&e.outcome)))
            .collect(),
        presented_to: None,
    }
}

/// The wire name of one of `kyc-core`'s enums, through its serde form (one way to spell it).
fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// What the wallet knows of a credential's revocation status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum Revocation {
    /// The credential has no status entry.
    NoStatus,
    /// No status list for it at hand (none fetched, and offline).
    Unknown,
    /// Checked against a list fetched at `as_of`.
    Checked {
        /// Whether the list marks it revoked.
        revoked: bool,
        /// When the list was fetched.
        as_of: DateTime<Utc>,
    },
    /// The list at hand does not answer for this credential.
    Unusable {
        /// Why.
        reason: String,
    },
}

/// The revocation status of the credential `summary` describes, from the lists at hand (the
/// wallet's status cache, `kyc_verifier::status_cache`).
pub fn revocation(
    summary: &Summary,
    lists: &kyc_verifier::status_cache::StatusLists,
) -> Revocation {
    let Some(status) = &summary.status else {
        return Revocation::NoStatus;
    };
    let Some(cached) = lists.for_url(&status.list) else {
        return Revocation::Unknown;
    };
    let entry = kyc_core::credential::StatusEntry {
        id: format!("{}#{}", status.list, status.index),
        kind: "BitstringStatusListEntry".into(),
        status_purpose: status.purpose.clone(),
        status_list_index: status.index.clone(),
        status_list_credential: status.list.clone(),
    };
    match cached.list.is_set(&entry, &summary.issuer) {
        Ok(revoked) => Revocation::Checked {
            revoked,
            as_of: cached.as_of(),
        },
        Err(e) => Revocation::Unusable {
            reason: e.to_string(),
        },
    }
}

//! The audit log's typed events: what the issuer records and the auditor replays.
//!
//! Each event is the `kind` and `data` of one [`crate::tlog::Entry`]. No personal data appears:
//! applications and subjects are pseudonymous ids (random UUIDs, unlinkable to identity without
//! the issuer's database), and values that must be provable later (a document number, a holder
//! DID) appear only as keyed commitments, `base64url(HMAC-SHA-256(key, value))`, with the key
//! kept by the issuer and destroyed with the subject. Credentials and staff, whose ids are seen
//! outside the issuer (a credential's `id` by every shop), appear as commitments under the
//! issuer's audit commitment key, so a reader of the log cannot join a credential to its case.
//!
//! The rules for which checks back which tier ([`required_checks`]) live here too, so the issuer
//! that decides and the auditor that replays read one definition.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::credential::KycTier;

/// A KYC check whose completion the log records: identity data, identity document, face match
/// and liveness, sanctions and PEP screening, country risk, proof of address, or a provider-only
/// check. Wider than a credential's `evidence` kinds: the log also records the checks a
/// credential does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditCheck {
    /// Identity data complete for the jurisdiction, ID numbers valid.
    Identity,
    /// Identity document: MRZ check digits, expiry, consistency with the data.
    Document,
    /// Face match and liveness.
    Biometric,
    /// Sanctions and PEP screening.
    Screening,
    /// Country risk and association signals.
    Risk,
    /// Proof of address.
    Address,
    /// A check only an external provider can run (e.g. China's mobile-number verification).
    Provider,
}

impl AuditCheck {
    /// The check's name, as serialised (`screening`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Document => "document",
            Self::Biometric => "biometric",
            Self::Screening => "screening",
            Self::Risk => "risk",
            Self::Address => "address",
            Self::Provider => "provider",
        }
    }
}

/// Outcome of a check, as in [`crate::credential::CheckOutcome`].
pub use crate::credential::CheckOutcome;

/// Risk level of a decision: low (approve at the tier reached), medium (manual review), high
/// (reject and report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Approve automatically at the tier reached.
    Low,
    /// Manual review.
    Medium,
    /// Reject and report.
    High,
}

/// What a decision does with an application: approve (at its tier), review (to the queue),
/// request_documents (ask the customer; the application is checked again), reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// Approve at the decision's tier.
    Approve,
    /// Send to the review queue.
    Review,
    /// Ask the customer for more documents; the application re-enters checking.
    RequestDocuments,
    /// Reject (and, at high risk, report).
    Reject,
}

/// One audit event. Serialised as `kind` (the variant, snake_case) and `data` (its fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// A customer submitted an application.
    ApplicationSubmitted {
        /// Pseudonymous application id.
        application: String,
        /// Pseudonymous subject id.
        subject: String,
        /// Jurisdiction policy applied (`EU`, `US`, `CN`, `JP`, `default`).
        jurisdiction: String,
        /// Keyed commitment to the holder DID.
        #[serde(rename = "holderCommitment")]
        holder_commitment: String,
    },
    /// The customer uploaded further documents; checks run again.
    DocumentsSubmitted {
        /// Application id.
        application: String,
    },
    /// A check finished.
    CheckCompleted {
        /// Application id.
        application: String,
        /// Which check.
        check: AuditCheck,
        /// Its outcome.
        outcome: CheckOutcome,
        /// Machine-readable reason codes (never values).
        #[serde(default)]
        reasons: Vec<String>,
        /// Version of the data the check used (e.g. the sanctions list), when it has one.
        #[serde(
            default,
            rename = "dataVersion",
            skip_serializing_if = "Option::is_none"
        )]
        data_version: Option<String>,
    },
    /// The risk engine or a reviewer decided.
    Decision {
        /// Application id.
        application: String,
        /// Risk level.
        level: RiskLevel,
        /// What happens next.
        action: DecisionAction,
        /// The tier approved (with `approve` only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tier: Option<KycTier>,
        /// Every contribution to the decision, as reason codes.
        reasons: Vec<String>,
        /// The staff member, when a person decided, as the issuer's keyed commitment to their
        /// name (the same person gives the same commitment; who it is needs the issuer's key).
        #[serde(
            default,
            rename = "reviewerCommitment",
            skip_serializing_if = "Option::is_none"
        )]
        reviewer: Option<String>,
    },
    /// A credential was signed and handed to the holder.
    CredentialIssued {
        /// Application id.
        application: String,
        /// The issuer's keyed commitment to the credential's `id`: a shop that saw the id cannot
        /// find this entry, the replay still matches a revocation to it.
        #[serde(rename = "credentialCommitment")]
        credential: String,
        /// `base64url(SHA-256(signing input))` of the `vc+jwt` form ([`crate::jws::Unsigned`]):
        /// logged before the signature is made, and found again from any copy of the credential
        /// ([`crate::jws::input_digest`]).
        #[serde(rename = "credentialHash")]
        credential_hash: String,
        /// The same of the `vc+sd-jwt` form's issuer-signed JWT.
        #[serde(rename = "sdJwtHash")]
        sd_jwt_hash: String,
        /// Its tier.
        tier: KycTier,
        /// Status list URL.
        #[serde(rename = "statusList")]
        status_list: String,
        /// Index in the status list.
        #[serde(rename = "statusIndex")]
        status_index: u64,
    },
    /// A credential was revoked.
    CredentialRevoked {
        /// The commitment to the credential's `id`, as in its `credential_issued` entry.
        #[serde(rename = "credentialCommitment")]
        credential: String,
        /// Reason code.
        reason: String,
        /// The admin who revoked it, by commitment.
        #[serde(rename = "byCommitment")]
        by: String,
    },
    /// A status list was signed, as the log's revocations before this entry imply: its bits are
    /// those of the credentials issued into it and revoked before this entry.
    StatusListPublished {
        /// The list's URL.
        #[serde(rename = "statusList")]
        status_list: String,
        /// `base64url(SHA-256(signing input))` of the signed list (`vc+jwt`).
        #[serde(rename = "listHash")]
        list_hash: String,
        /// How many of its bits are set.
        revoked: u64,
    },
    /// A subject's personal data was crypto-shredded.
    SubjectErased {
        /// Pseudonymous subject id.
        subject: String,
        /// The admin who erased it, by commitment.
        #[serde(rename = "byCommitment")]
        by: String,
    },
    /// An admin registered a webhook endpoint (state changes are POSTed to it).
    WebhookRegistered {
        /// The endpoint's id.
        webhook: String,
        /// `base64url(SHA-256(url))` of its normalised URL (the URL itself may carry a token).
        #[serde(rename = "urlHash")]
        url_hash: String,
        /// The admin who registered it, by commitment.
        #[serde(rename = "byCommitment")]
        by: String,
    },
    /// An admin deleted a webhook endpoint.
    WebhookDeleted {
        /// The endpoint's id.
        webhook: String,
        /// The admin who deleted it, by commitment.
        #[serde(rename = "byCommitment")]
        by: String,
    },
    /// The issuer's signing key changed.
    KeyRotated {
        /// The old issuer DID.
        previous: String,
        /// The new issuer DID.
        current: String,
        /// The rotation statement, signed by the old key
        /// ([`crate::key_rotation::KeyRotation`]): the replay checks it names these two keys.
        statement: String,
        /// The admin who rotated it, by commitment.
        #[serde(rename = "byCommitment")]
        by: String,
    },
}

/// Why an entry's `kind`/`data` is not a known event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid audit event: {0}")]
pub struct EventError(String);

impl AuditEvent {
    /// The entry `kind` and `data` for this event.
    pub fn to_parts(&self) -> (String, Map<String, Value>) {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut o)) => {
                let kind = match o.remove("kind") {
                    Some(Value::String(k)) => k,
                    _ => String::new(),
                };
                let data = match o.remove("data") {
                    Some(Value::Object(d)) => d,
                    _ => Map::new(),
                };
                (kind, data)
            }
            // An enum of plain fields always serialises to an object.
            _ => (String::new(), Map::new()),
        }
    }

    /// Read an event from an entry's `kind` and `data`.
    pub fn from_parts(kind: &str, data: &Map<String, Value>) -> Result<Self, EventError> {
        let value = serde_json::json!({"kind": kind, "data": data});
        serde_json::from_value(value).map_err(|e| {
            EventError(crate::error::MalformedError::json("audit event", &e).to_string())
        })
    }

    /// The digests of the signing inputs this event names: what the issuer's key may sign once
    /// the event is durable (the credential's two forms, a status list).
    pub fn signed_digests(&self) -> Vec<&str> {
        match self {
            Self::CredentialIssued {
                credential_hash,
                sd_jwt_hash,
                ..
            } => vec![credential_hash, sd_jwt_hash],
            Self::StatusListPublished { list_hash, .. } => vec![list_hash],
            _ => Vec::new(),
        }
    }

    /// The application this event belongs to, if any.
    pub fn application(&self) -> Option<&str> {
        match self {
            Self::ApplicationSubmitted { application, .. }
            | Self::DocumentsSubmitted { application }
            | Self::CheckCompleted { application, .. }
            | Self::Decision { application, .. }
            | Self::CredentialIssued { application, .. } => Some(application),
            _ => None,
        }
    }
}

/// The checks that must have completed `clear` (in the application's latest round) before a
/// credential of `tier` may be issued (`docs/design.md`, "KYC tiers and risk").
///
/// Tier 2 also needs the risk level `low`, and tier 3 a reviewer's approval: both are properties
/// of the decision, checked by [`approval_allows`].
pub fn required_checks(tier: KycTier) -> &'static [AuditCheck] {
    use AuditCheck::*;
    match tier {
        KycTier::Unverified => &[],
        KycTier::Basic => &[Identity, Screening],
        KycTier::Verified => &[Identity, Screening, Document, Biometric, Risk],
        KycTier::Enhanced => &[Identity, Screening, Document, Biometric, Risk, Address],
    }
}

/// Whether an approve decision at `tier`, at `level`, by `reviewer`, may stand.
pub fn approval_allows(tier: KycTier, level: RiskLevel, reviewer: Option<&str>) -> bool {
    match tier {
        KycTier::Unverified | KycTier::Basic => level != RiskLevel::High,
        // Automatic approval needs low risk; a reviewer may approve a medium case.
        KycTier::Verified => {
            level == RiskLevel::Low || (level == RiskLevel::Medium && reviewer.is_some())
        }
        KycTier::Enhanced => reviewer.is_some() && level != RiskLevel::High,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_their_serialised_names() {
        use AuditCheck::*;
        for check in [
            Identity, Document, Biometric, Screening, Risk, Address, Provider,
        ] {
            assert_eq!(serde_json::to_value(check).unwrap(), check.as_str());
        }
    }

    #[test]
    fn parts_round_trip() {
        let e = AuditEvent::Decision {
            application: "a1".into(),
            level: RiskLevel::Low,
            action: DecisionAction::Approve,
            tier: Some(KycTier::Verified),
            reasons: vec!["all_checks_clear".into()],
            reviewer: None,
        };
        let (kind, data) = e.to_parts();
        assert_eq!(kind, "decision");
        assert_eq!(data["tier"], 2);
        assert_eq!(AuditEvent::from_parts(&kind, &data).unwrap(), e);
        assert!(AuditEvent::from_parts("decision", &Map::new()).is_err());
        let issued = AuditEvent::CredentialIssued {
            application: "a1".into(),
            credential: "urn:uuid:1".into(),
            credential_hash: "h".into(),
            sd_jwt_hash: "h".into(),
            tier: KycTier::Enhanced,
            status_list: "https://i/1".into(),
            status_index: 131_071,
        };
        let (kind, data) = issued.to_parts();
        assert_eq!(AuditEvent::from_parts(&kind, &data).unwrap(), issued);
        assert!(AuditEvent::from_parts("no_such_kind", &data).is_err());
    }

    #[test]
    fn tiers_need_their_checks() {
        assert!(required_checks(KycTier::Verified).contains(&AuditCheck::Biometric));
        assert!(!required_checks(KycTier::Basic).contains(&AuditCheck::Document));
        assert!(!approval_allows(KycTier::Enhanced, RiskLevel::Low, None));
        assert!(approval_allows(
            KycTier::Enhanced,
            RiskLevel::Medium,
            Some("rev-1")
        ));
        assert!(!approval_allows(KycTier::Verified, RiskLevel::Medium, None));
        assert!(!approval_allows(
            KycTier::Basic,
            RiskLevel::High,
            Some("rev-1")
        ));
    }
}

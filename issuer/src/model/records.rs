//! The issuer's records: subjects, applications with their checks and decisions, credentials,
//! webhooks, reports, and what the indexes remember of liveness answers and vendor requests.
//! What the state store keeps, and what the audit log's events describe.

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::KycTier;
use serde::{Deserialize, Serialize};

use super::reasons::{Reason, UnknownReason};
use super::LivenessChallenge;

/// Where an application is (`docs/design.md`: submitted → checking → approved | in_review | rejected
/// → issued; in_review → more_documents_requested → checking …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    /// Received, checks not started.
    Submitted,
    /// Checks running.
    Checking,
    /// Approved at a tier; the holder may collect the credential.
    Approved,
    /// Waiting for a reviewer.
    InReview,
    /// A reviewer asked for more documents.
    MoreDocumentsRequested,
    /// Rejected.
    Rejected,
    /// The credential was issued.
    Issued,
}

impl ApplicationState {
    /// The states an application may move to from this one.
    pub fn may_become(self, next: ApplicationState) -> bool {
        use ApplicationState::*;
        matches!(
            (self, next),
            (Submitted, Checking)
                | (Checking, Approved | InReview | Rejected)
                | (InReview, Approved | Rejected | MoreDocumentsRequested)
                | (MoreDocumentsRequested, Checking)
                | (Approved, Issued)
        )
    }

    /// Whether the application can change no more (issued or rejected).
    pub fn is_final(self) -> bool {
        matches!(self, ApplicationState::Issued | ApplicationState::Rejected)
    }
}

/// One check's result on an application.
///
/// On the wire (the API, the store) the screening-list entries a check matched follow its
/// reasons as `match:<list>/<entity>` ([`MATCH_PREFIX`]), as they always have; in memory they
/// are their own field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "CheckRecordWire", try_from = "CheckRecordWire")]
pub struct CheckRecord {
    /// Which check.
    pub check: AuditCheck,
    /// Outcome.
    pub outcome: CheckOutcome,
    /// Reason codes.
    pub reasons: Vec<Reason>,
    /// The screening-list entries (`list/entity`) the check matched and a reviewer has not
    /// cleared: references for the reviewer, not findings of their own.
    pub matches: Vec<String>,
    /// Why each of `matches` matched, for the reviewer: the score, the entry's name that
    /// matched, the evidence. Never in the audit log (which carries `matches` only) nor in the
    /// holder's view.
    pub match_details: Vec<MatchDetail>,
    /// When it completed.
    pub at: DateTime<Utc>,
    /// The version of the data it ran against (a sanctions list, the FATF lists), when any.
    pub data_version: Option<String>,
}

/// Why a screening-list entry matched, as a reviewer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchDetail {
    /// The entry, `list/entity` (as in `match:` reasons).
    pub entry: String,
    /// The match score in [0, 1] (four decimals) against the screening threshold.
    pub score: f64,
    /// The entry's name that matched best, as compared (transliterated, lower case).
    pub name: String,
    /// The evidence codes (`name_strong`, `dob_exact`, `nationality_mismatch`…).
    pub evidence: Vec<String>,
}

// Scores are finite (rounded to four decimals), so equality is an equivalence.
impl Eq for MatchDetail {}

/// The prefix of a reason on the wire that names a screening-list entry (`match:ofac-sdn/36`).
pub const MATCH_PREFIX: &str = "match:";

impl CheckRecord {
    /// A record with no matches and no data version.
    pub fn new(
        check: AuditCheck,
        outcome: CheckOutcome,
        reasons: Vec<Reason>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            check,
            outcome,
            reasons,
            matches: Vec::new(),
            match_details: Vec::new(),
            at,
            data_version: None,
        }
    }

    /// The reasons as the wire carries them: the codes, then one `match:` entry per match.
    pub fn wire_reasons(&self) -> Vec<String> {
        self.reasons
            .iter()
            .map(Reason::to_string)
            .chain(self.matches.iter().map(|m| format!("{MATCH_PREFIX}{m}")))
            .collect()
    }
}

/// A [`CheckRecord`] as the API and the store carry it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckRecordWire {
    /// Which check.
    pub check: AuditCheck,
    /// Outcome.
    pub outcome: CheckOutcome,
    /// Reason codes; for a reviewer, then the screening-list entries matched
    /// (`match:<list>/<entity>`).
    pub reasons: Vec<String>,
    /// When it completed.
    pub at: DateTime<Utc>,
    /// The version of the data it ran against (a sanctions list, the FATF lists), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<String>,
    /// For a reviewer: why each matched entry matched (absent when none, and for anyone else).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_details: Vec<MatchDetail>,
}

impl From<CheckRecord> for CheckRecordWire {
    fn from(r: CheckRecord) -> Self {
        Self {
            reasons: r.wire_reasons(),
            match_details: r.match_details,
            check: r.check,
            outcome: r.outcome,
            at: r.at,
            data_version: r.data_version,
        }
    }
}

impl TryFrom<CheckRecordWire> for CheckRecord {
    type Error = UnknownReason;

    fn try_from(w: CheckRecordWire) -> Result<Self, UnknownReason> {
        let mut reasons = Vec::new();
        let mut matches = Vec::new();
        for reason in w.reasons {
            match reason.strip_prefix(MATCH_PREFIX) {
                Some(entry) => matches.push(entry.to_owned()),
                None => reasons.push(reason.parse()?),
            }
        }
        Ok(Self {
            check: w.check,
            outcome: w.outcome,
            reasons,
            matches,
            match_details: w.match_details,
            at: w.at,
            data_version: w.data_version,
        })
    }
}

/// The decision on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionRecord {
    /// Risk level.
    pub level: RiskLevel,
    /// Action.
    pub action: DecisionAction,
    /// Tier approved, with `approve`.
    #[schema(required = true)]
    pub tier: Option<KycTier>,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// The reviewer, when a person decided.
    #[schema(required = true)]
    pub reviewer: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// An application, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    /// Pseudonymous id (UUID).
    pub id: String,
    /// The subject it belongs to.
    pub subject: String,
    /// The holder did:key the credential will be bound to.
    pub holder: String,
    /// Jurisdiction policy.
    pub jurisdiction: String,
    /// Current state.
    pub state: ApplicationState,
    /// Submitted at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The submission (identity, document, captures) as JWE under the subject key.
    pub sealed_submission: String,
    /// Check results of the current round.
    pub checks: Vec<CheckRecord>,
    /// The latest decision.
    pub decision: Option<DecisionRecord>,
    /// The issued credential's id (the first one of the approval).
    pub credential: Option<String>,
    /// Every credential issued for the approval, oldest first: the holder collects them in
    /// batches, one per shop (`docs/design.md` "Privacy at checkout"). Empty in records written
    /// before batches, whose one credential is [`Self::credential`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    /// When an admin revoked the approval: every credential of it is revoked, and no further
    /// batch is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<DateTime<Utc>>,
}

impl ApplicationRecord {
    /// The ids of every credential issued for this application, oldest first.
    pub fn credential_ids(&self) -> Vec<String> {
        if self.credentials.is_empty() {
            self.credential.iter().cloned().collect()
        } else {
            self.credentials.clone()
        }
    }
}

/// A subject: the person behind one or more applications, known by a pseudonymous id.
///
/// Its data key is not here: subject keys live in their own store (`crate::subject_keys`),
/// wrapped under a key-encryption key, where erasure destroys them physically; a database
/// keeps old versions of its records, and a key beside its ciphertexts protects nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Pseudonymous id (UUID).
    pub id: String,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Erased at.
    pub erased_at: Option<DateTime<Utc>>,
}

/// Revocation of a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Revocation {
    /// When.
    pub at: DateTime<Utc>,
    /// Reason code.
    pub reason: String,
    /// The admin.
    pub by: String,
}

/// An issued credential, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// `urn:uuid:…`.
    pub id: String,
    /// The application it was issued for.
    pub application: String,
    /// The subject.
    pub subject: String,
    /// Tier.
    pub tier: KycTier,
    /// Index in the status list.
    pub status_index: u64,
    /// Both signed forms, as JSON `{"jwt", "sdJwt"}`, sealed under the subject key.
    pub sealed_forms: String,
    /// Issued at.
    pub issued_at: DateTime<Utc>,
    /// Set once revoked.
    pub revoked: Option<Revocation>,
}

/// A platform's webhook endpoint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Id (UUID).
    pub id: String,
    /// Where state changes are POSTed (`http` or `https`).
    pub url: String,
    /// The HMAC-SHA256 signing key, shown to the admin once when registered.
    pub secret: [u8; 32],
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// The admin who registered it.
    pub created_by: String,
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("created_by", &self.created_by)
            .finish_non_exhaustive()
    }
}

/// A biometric vendor's request still waiting for its result on the webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorPending {
    /// The application it is about.
    pub application: String,
    /// Whether liveness frames were sent.
    pub liveness_asked: bool,
    /// When the round of checks that asked for it ran (its biometric record's time): a result
    /// for an earlier round never decides a later one.
    pub round_at: DateTime<Utc>,
}

/// A liveness frame set as the store remembers it, so that a replay is refused after a restart
/// too and an application checked again keeps the challenge it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivenessAnswer {
    /// The application that sent the frames.
    pub application: String,
    /// The challenge they answered.
    pub challenge: LivenessChallenge,
}

/// A report for the compliance officer: a high-risk rejection, with everything the decision
/// rests on and no personal data (the subject is pseudonymous; the officer reads the data
/// itself through the subject export when a filing needs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportRecord {
    /// The application rejected.
    pub application: String,
    /// Its subject (pseudonymous).
    pub subject: String,
    /// The jurisdiction's policy and version the checks ran under (`policy:EU:2026-11-01`).
    pub jurisdiction: String,
    /// The decision (level `high`, action `reject`), with every contribution.
    pub decision: DecisionRecord,
    /// The checks the decision rests on, with their data versions.
    pub checks: Vec<CheckRecord>,
    /// When the rejection was decided.
    pub created_at: DateTime<Utc>,
}

//! The issuer's state behind one trait: subjects (with their data keys), applications,
//! credentials, the status list allocation, and the registered webhooks.
//!
//! Personal data never sits here in clear: an application holds its submission, and a
//! credential record its signed forms, only as JWE under the subject's key ([`crate::pii`]), so
//! erasing the key erases them. Every mutation is durable before it returns.
//!
//! Ordering with the audit log: a state change is appended to the audit log first and stored
//! second, so a crash between the two leaves a logged change that the store has not applied
//! (the application is retried from its last stored state), never an unlogged one.
//!
//! sled is the embedded backend ([`sled_state`]); the trait is what a PostgreSQL backend would
//! implement for several issuer nodes.
//!
//! Lookups by something other than the key ([`StateStore::applications_in`],
//! [`StateStore::applications_of`]) are scans in the sled backend: they serve the review queue,
//! erasure and the GDPR export, all rare next to submissions. A backend with secondary indexes
//! (PostgreSQL: an index on the subject column) answers them without scanning.

pub mod sled_state;

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::KycTier;
use serde::{Deserialize, Serialize};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The backend failed (I/O, corruption); the message names no stored value.
    #[error("state store: {0}")]
    Backend(String),
    /// A record changed between read and write (another request got there first).
    #[error("the record changed concurrently; retry")]
    Conflict,
    /// A record to insert exists already.
    #[error("the record exists already")]
    Exists,
    /// A stored record does not decode.
    #[error("stored record {0} does not decode")]
    Corrupt(String),
}

/// Where an application is (DESIGN.md: submitted → checking → approved | in_review | rejected
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckRecord {
    /// Which check.
    #[schema(value_type = crate::api::openapi::AuditCheckSchema)]
    pub check: AuditCheck,
    /// Outcome.
    #[schema(value_type = crate::api::openapi::CheckOutcomeSchema)]
    pub outcome: CheckOutcome,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// When it completed.
    pub at: DateTime<Utc>,
    /// The version of the data it ran against (a sanctions list, the FATF lists), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<String>,
}

/// The decision on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionRecord {
    /// Risk level.
    #[schema(value_type = crate::api::openapi::RiskLevelSchema)]
    pub level: RiskLevel,
    /// Action.
    #[schema(value_type = crate::api::openapi::DecisionActionSchema)]
    pub action: DecisionAction,
    /// Tier approved, with `approve`.
    #[schema(value_type = Option<crate::api::openapi::KycTierSchema>, required = true)]
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
    /// The issued credential's id.
    pub credential: Option<String>,
}

/// A subject: the person behind one or more applications, known by a pseudonymous id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Pseudonymous id (UUID).
    pub id: String,
    /// The data key; `None` once erased (crypto-shredding).
    pub key: Option<[u8; 32]>,
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

/// A platform's webhook endpoint ([`crate::webhooks`]).
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

/// The issuer's state.
pub trait StateStore: Send + Sync + std::fmt::Debug + 'static {
    /// Insert or replace a subject.
    fn put_subject(&self, subject: &SubjectRecord) -> Result<(), StateError>;
    /// A subject by id.
    fn subject(&self, id: &str) -> Result<Option<SubjectRecord>, StateError>;
    /// Replace `current` (as last read) by `next`; [`StateError::Conflict`] if it changed since.
    fn replace_subject(
        &self,
        current: &SubjectRecord,
        next: &SubjectRecord,
    ) -> Result<(), StateError>;
    /// Insert a new application ([`StateError::Exists`] if the id is taken).
    fn insert_application(&self, application: &ApplicationRecord) -> Result<(), StateError>;
    /// An application by id.
    fn application(&self, id: &str) -> Result<Option<ApplicationRecord>, StateError>;
    /// Replace `current` (as last read) by `next`; [`StateError::Conflict`] if it changed since.
    fn replace_application(
        &self,
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError>;
    /// Every application in `state` (the review queue), oldest first.
    fn applications_in(
        &self,
        state: ApplicationState,
    ) -> Result<Vec<ApplicationRecord>, StateError>;
    /// Every application of `subject`, oldest first (a scan in the sled backend; see the
    /// module documentation).
    fn applications_of(&self, subject: &str) -> Result<Vec<ApplicationRecord>, StateError>;
    /// A status list index never handed out before, even across restarts.
    fn next_status_index(&self) -> Result<u64, StateError>;
    /// A new subject and its first application, durable together (one sync).
    fn insert_submission(
        &self,
        subject: &SubjectRecord,
        application: &ApplicationRecord,
    ) -> Result<(), StateError>;
    /// A new credential and its application moved from `current` to `next`, durable together
    /// (one sync); [`StateError::Conflict`] if the application changed since it was read.
    fn record_issuance(
        &self,
        credential: &CredentialRecord,
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError>;
    /// Insert a new credential ([`StateError::Exists`] if the id is taken).
    fn insert_credential(&self, credential: &CredentialRecord) -> Result<(), StateError>;
    /// A credential by id.
    fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, StateError>;
    /// Replace `current` by `next`; [`StateError::Conflict`] if it changed since.
    fn replace_credential(
        &self,
        current: &CredentialRecord,
        next: &CredentialRecord,
    ) -> Result<(), StateError>;
    /// Status indexes of every revoked credential.
    fn revoked_indexes(&self) -> Result<Vec<u64>, StateError>;
    /// The highest status index of any credential (a scan; read once at start).
    fn max_status_index(&self) -> Result<Option<u64>, StateError>;
    /// Insert a new webhook endpoint ([`StateError::Exists`] if the id is taken).
    fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<(), StateError>;
    /// Remove a webhook endpoint; whether it existed.
    fn delete_webhook(&self, id: &str) -> Result<bool, StateError>;
    /// Every webhook endpoint, oldest first.
    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StateError>;
    /// The association index: for each of `keys` (keyed hashes of identity values, see
    /// [`crate::checks::country_risk::AssociationKey`]), whether a holder other than `holder`
    /// has used it.
    fn associated(&self, keys: &[[u8; 17]], holder: &str) -> Result<Vec<bool>, StateError>;
    /// Record `holder` against each of `keys`; durable on return.
    fn record_associations(&self, keys: &[[u8; 17]], holder: &str) -> Result<(), StateError>;
    /// The screening-list entities a reviewer cleared for `subject`.
    fn screening_clearances(&self, subject: &str) -> Result<Vec<String>, StateError>;
    /// Remember that a reviewer cleared `entities` for `subject`; durable on return.
    fn add_screening_clearances(
        &self,
        subject: &str,
        entities: &[String],
    ) -> Result<(), StateError>;
    /// The application that answered a liveness challenge with the frame set of `digest`.
    fn liveness_answer(&self, digest: &[u8; 32]) -> Result<Option<LivenessAnswer>, StateError>;
    /// Remember that `answer.application` answered `answer.challenge` with the frame set of
    /// `digest`, unless the frames are already remembered. Not yet durable
    /// ([`StateStore::record_frame_sender`], which follows, syncs).
    fn record_liveness_answer(
        &self,
        digest: &[u8; 32],
        answer: &LivenessAnswer,
    ) -> Result<(), StateError>;
    /// The applications that sent any of these liveness frames (by SHA-256), first sender each.
    fn frame_senders(&self, frames: &[[u8; 32]]) -> Result<Vec<String>, StateError>;
    /// Remember `application` as the sender of these frames (where none is remembered yet);
    /// durable on return.
    fn record_frame_sender(&self, frames: &[[u8; 32]], application: &str)
        -> Result<(), StateError>;
    /// Forget what the indexes hold of an erased subject's `application`: `holder`'s entries
    /// under these association keys, the screening clearances of `subject`, and these liveness
    /// frames (each frame's and the set's digest) where `application` is the one remembered for
    /// them. Durable on return.
    fn forget_traces(
        &self,
        subject: &str,
        application: &str,
        holder: &str,
        associations: &[[u8; 17]],
        frames: &[[u8; 32]],
    ) -> Result<(), StateError>;
    /// Remember a vendor request waiting for its webhook; durable on return.
    fn record_vendor_pending(
        &self,
        reference: &str,
        pending: &VendorPending,
    ) -> Result<(), StateError>;
    /// The vendor request `reference`, if it is still waiting.
    fn vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError>;
    /// Take the vendor request `reference` (it is waiting no more); `None` if another caller
    /// took it first.
    fn take_vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError>;
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
    pub challenge: crate::checks::biometric::LivenessChallenge,
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

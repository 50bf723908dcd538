//! Applications, from submission to issued credential, and revocation: the issuer's business.
//!
//! Every state change is appended to the audit log (durably) before it is stored; see
//! [`crate::store`] for why that order. Once stored it is announced on the state change channel
//! ([`crate::events`]), which feeds the holder's status stream and the platforms' webhooks
//! ([`crate::webhooks`]). Personal data is sealed under the subject's key the moment it arrives
//! and opened only to sign a credential or to give the customer their data ([`Applications::export`]);
//! [`Applications::erase`] destroys that key once the retention period allows it.
//!
//! # Erasure
//!
//! Erasing a subject (crypto-shredding) sets its key to `None` and records when; the sealed
//! submissions and credential forms stay in the store as ciphertext nobody can open, and the
//! audit log, which holds only pseudonymous ids and keyed commitments, stays valid and
//! replayable. What is left in clear is what was never personal data in clear: ids, states,
//! check outcomes, decisions, and the holder's `did:key`, which stays so that the holder can
//! still authenticate and be told (410 Gone) that the data is gone. A credential already issued
//! is not revoked by erasure: it belongs to the holder and remains true. The retention period
//! runs from the subject's last activity (the latest application change, issuance or
//! revocation). The sled backend overwrites the key in place; its log-structured files may keep
//! the old bytes until sled reclaims the segment, and backups keep them for their lifetime, so
//! an operator that needs erasure to reach those too keeps subject keys in a key service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::audit_event::{approval_allows, required_checks, CheckOutcome};
use kyc_core::audit_event::{AuditCheck, AuditEvent, DecisionAction, RiskLevel};
use kyc_core::credential::{CheckKind, CountryCode, Evidence};
use kyc_core::status_list::MIN_ENTRIES;
use kyc_core::{DidKey, KycSubject, KycTier};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditError, AuditLog};
use crate::checks::biometric::{submission_frame_digests, PriorAnswer};
use crate::checks::country_risk::{association_keys, AssociationKind};
use crate::checks::{CheckContext, CheckSuite};
use crate::events::{EventSettings, Events, StateChange};
use crate::issuance::{self, StatusSlot};
use crate::pii::{self, PiiError, SubjectKey};
use crate::store::{
    ApplicationRecord, ApplicationState, CheckRecord, CredentialRecord, DecisionRecord,
    LivenessAnswer, ReportRecord, Revocation, StateError, StateStore, SubjectRecord, VendorPending,
};
use crate::webhooks::{WebhookError, WebhookSettings, Webhooks};

/// The parts of a submission the holder may upload again when a reviewer asks for documents.
pub const UPLOADABLE: [&str; 5] = [
    "document",
    "selfie",
    "livenessFrames",
    "livenessChallenge",
    "proofOfAddress",
];

/// The application JSON Schema (`schemas/application-v1.schema.json`).
pub const APPLICATION_SCHEMA: &str = include_str!("../../schemas/application-v1.schema.json");

/// A submission, after schema validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// Jurisdiction policy.
    pub jurisdiction: String,
    /// The holder's did:key.
    pub holder: String,
    /// Identity data.
    pub identity: Identity,
    /// The identity document.
    pub document: serde_json::Value,
    /// Selfie (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selfie: Option<String>,
    /// Liveness frames (base64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub liveness_frames: Vec<String>,
    /// The liveness challenge the frames answer (its id, as handed out by the issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_challenge: Option<String>,
    /// Proof of address (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_of_address: Option<String>,
}

/// Identity data of a submission (shapes fixed by the schema).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Given name(s).
    pub given_name: String,
    /// Family name(s).
    pub family_name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Nationality.
    pub nationality: CountryCode,
    /// Residence address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<Residence>,
    /// The rest (birth place, ID numbers, contact), kept sealed, used by the checks.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Residence address (only the country is used here).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Residence {
    /// Country of residence.
    pub country: CountryCode,
    /// Street, city, postal code, region.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// What went wrong, mapped to an HTTP status by the API layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplicationError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The jurisdiction has no policy here (422).
    #[error("unknown jurisdiction; known: {0}")]
    UnknownJurisdiction(String),
    /// No such application or credential, or not the caller's (404).
    #[error("not found")]
    NotFound,
    /// The application is not in a state that allows this (409).
    #[error("{0}")]
    WrongState(String),
    /// The requested tier is not backed by the checks (422).
    #[error("{0}")]
    TierNotEarned(String),
    /// A message's signature does not verify, or is stale (400).
    #[error("{0}")]
    BadSignature(String),
    /// The subject's data was erased (410).
    #[error("the subject's data has been erased")]
    Erased,
    /// The subject's data must still be kept (409).
    #[error(
        "the retention period runs until {}; the subject cannot be erased before",
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    RetentionNotOver {
        /// When erasure becomes possible.
        until: DateTime<Utc>,
    },
    /// Storage, audit log or crypto failed (500); logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StateError> for ApplicationError {
    fn from(e: StateError) -> Self {
        Self::Internal(e.to_string())
    }
}
impl From<AuditError> for ApplicationError {
    fn from(e: AuditError) -> Self {
        Self::Internal(e.to_string())
    }
}
impl From<PiiError> for ApplicationError {
    fn from(e: PiiError) -> Self {
        Self::Internal(e.to_string())
    }
}
impl From<WebhookError> for ApplicationError {
    fn from(e: WebhookError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// An application as its holder (or a reviewer) sees it: no personal data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    /// Id.
    pub id: String,
    /// The pseudonymous subject id (for `GET /v1/subjects/{id}/export`).
    pub subject: String,
    /// State.
    pub state: ApplicationState,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Submitted at.
    pub created_at: DateTime<Utc>,
    /// Checks of the current round.
    pub checks: Vec<CheckRecord>,
    /// The latest decision.
    #[schema(required = true)]
    pub decision: Option<DecisionRecord>,
    /// The credential id once issued.
    #[schema(required = true)]
    pub credential: Option<String>,
}

/// The view anyone but staff gets: without the screening-list entries a check matched
/// (`match:list/entity`), which only a reviewer needs. Telling a customer which sanctions or PEP
/// entry they resemble would tip them off and let them probe the lists.
impl From<&ApplicationRecord> for ApplicationView {
    fn from(a: &ApplicationRecord) -> Self {
        let mut view = Self::for_staff(a);
        for check in &mut view.checks {
            check
                .reasons
                .retain(|r| !r.starts_with(crate::checks::MATCH_PREFIX));
        }
        view
    }
}

impl ApplicationView {
    /// The view a reviewer gets: every reason, the matched list entries included.
    pub fn for_staff(a: &ApplicationRecord) -> Self {
        Self {
            id: a.id.clone(),
            subject: a.subject.clone(),
            state: a.state,
            jurisdiction: a.jurisdiction.clone(),
            created_at: a.created_at,
            checks: a.checks.clone(),
            decision: a.decision.clone(),
            credential: a.credential.clone(),
        }
    }
}

/// A collected credential, in both securing forms.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectedCredential {
    /// `urn:uuid:…`.
    pub id: String,
    /// Tier.
    #[schema(value_type = crate::api::openapi::KycTierSchema)]
    pub tier: KycTier,
    /// `vc+jwt`.
    pub jwt: String,
    /// `vc+sd-jwt` with every disclosure.
    pub sd_jwt: String,
}

/// A reviewer's decision on an application in review.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewDecision {
    /// approve, reject or request_documents.
    #[schema(schema_with = crate::api::openapi::reviewer_action)]
    pub action: DecisionAction,
    /// The tier, with approve.
    #[serde(default)]
    #[schema(value_type = Option<crate::api::openapi::KycTierSchema>)]
    pub tier: Option<KycTier>,
    /// Reason codes.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Screening-list entity ids the reviewer found are not this customer (false positives);
    /// remembered for the subject, so that later checks of it do not raise them again.
    #[serde(default)]
    pub cleared_screening_matches: Vec<String>,
}

/// What an application's checks leave in the store's indexes, written once the application is
/// stored (so that a request that fails changes nothing there).
#[derive(Debug)]
struct Traces {
    holder: String,
    associations: Vec<[u8; 17]>,
    /// The frame set's digest, the challenge it answered, each frame's digest.
    liveness: Option<([u8; 32], LivenessAnswer, Vec<[u8; 32]>)>,
    /// A vendor request waiting for its webhook.
    pending: Option<(String, VendorPending)>,
}

/// Issuance settings.
#[derive(Debug, Clone)]
pub struct IssuanceSettings {
    /// The issuer's public URL (status lists hang off it).
    pub public_url: String,
    /// Credential validity per tier, in days.
    pub validity_days: [u32; 4],
    /// How long a signed status list stays valid.
    pub status_list_validity: Duration,
}

/// Settings beyond issuance: status streams, webhook delivery, retention of personal data.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// The state change channel and status streams.
    pub events: EventSettings,
    /// Webhook delivery.
    pub webhooks: WebhookSettings,
    /// How long after a subject's last activity its data may be erased.
    pub retention: Duration,
}

impl From<&crate::config::Config> for ServiceSettings {
    fn from(config: &crate::config::Config) -> Self {
        Self {
            events: (&config.events).into(),
            webhooks: (&config.webhooks).into(),
            retention: Duration::days(config.retention.min_days.into()),
        }
    }
}

/// Everything the issuer holds about one subject, for the subject (GDPR Art. 15 access).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectExport {
    /// The pseudonymous subject id.
    pub subject: String,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// The subject's applications, oldest first, with what was submitted.
    pub applications: Vec<ExportedApplication>,
    /// The credentials issued to the subject.
    pub credentials: Vec<ExportedCredential>,
}

/// One application in a [`SubjectExport`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedApplication {
    /// Id.
    pub id: String,
    /// State.
    pub state: ApplicationState,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// The holder did:key.
    pub holder: String,
    /// Submitted at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The submission, decrypted.
    #[schema(value_type = crate::api::openapi::SubmissionSchema)]
    pub submission: Submission,
    /// Checks of the current round.
    pub checks: Vec<CheckRecord>,
    /// The latest decision.
    #[schema(required = true)]
    pub decision: Option<DecisionRecord>,
    /// The credential id once issued.
    #[schema(required = true)]
    pub credential: Option<String>,
}

/// One credential in a [`SubjectExport`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedCredential {
    /// `urn:uuid:…`.
    pub id: String,
    /// The application it was issued for.
    pub application: String,
    /// Tier.
    #[schema(value_type = crate::api::openapi::KycTierSchema)]
    pub tier: KycTier,
    /// Issued at.
    pub issued_at: DateTime<Utc>,
    /// Set once revoked.
    #[schema(required = true)]
    pub revoked: Option<Revocation>,
}

/// A signed status list, as served.
#[derive(Debug, Clone)]
pub struct SignedStatusList {
    /// The `vc+jwt`.
    pub jwt: String,
    /// Strong ETag (SHA-256 of the JWT).
    pub etag: String,
    /// Until when it is valid.
    pub valid_until: DateTime<Utc>,
}

/// The issuer's business logic over its store, audit log and key.
pub struct Applications {
    store: Arc<dyn StateStore>,
    audit: AuditLog,
    key: SigningKey,
    issuer: DidKey,
    settings: IssuanceSettings,
    checks: Arc<CheckSuite>,
    /// Key of the association index's hashes, derived from the issuer's key.
    index_key: [u8; 32],
    schema: jsonschema::Validator,
    status_lists: Mutex<HashMap<u64, SignedStatusList>>,
    /// The highest status list any credential points into (0: none yet); lists past it are
    /// 404, so that asking for arbitrary list numbers signs and caches nothing.
    highest_list: std::sync::atomic::AtomicU64,
    events: Events,
    webhooks: Arc<Webhooks>,
    retention: Duration,
    /// One erasure at a time, so that two requests cannot both log the same erasure.
    erasure: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Applications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applications")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn context(subject: &str, application: &str, what: &str) -> String {
    format!("subject/{subject}/application/{application}/{what}")
}

/// The submission sealed in `application`, opened with its subject's `key`.
fn open_submission(
    key: &SubjectKey,
    application: &ApplicationRecord,
) -> Result<Submission, ApplicationError> {
    let plaintext = zeroize::Zeroizing::new(pii::open(
        key,
        &application.sealed_submission,
        &context(&application.subject, &application.id, "submission"),
    )?);
    serde_json::from_slice(&plaintext).map_err(|e| ApplicationError::Internal(e.to_string()))
}

impl Applications {
    /// The business logic over these parts.
    pub fn new(
        store: Arc<dyn StateStore>,
        audit: AuditLog,
        key: SigningKey,
        settings: IssuanceSettings,
        checks: CheckSuite,
        service: ServiceSettings,
    ) -> Result<Self, ApplicationError> {
        let schema_json: serde_json::Value = serde_json::from_str(APPLICATION_SCHEMA)
            .map_err(|e| ApplicationError::Internal(format!("application schema: {e}")))?;
        let schema = jsonschema::validator_for(&schema_json)
            .map_err(|e| ApplicationError::Internal(format!("application schema: {e}")))?;
        let issuer = DidKey::from_verifying_key(&key.verifying_key());
        let webhooks = Arc::new(Webhooks::new(Arc::clone(&store), service.webhooks)?);
        let index_key = pii::derive_key(&key, b"kyc-issuer/association-index/v1");
        let highest_list = store
            .max_status_index()?
            .map_or(0, |i| i / MIN_ENTRIES as u64 + 1);
        Ok(Self {
            store,
            audit,
            key,
            issuer,
            settings,
            checks: Arc::new(checks),
            index_key,
            schema,
            status_lists: Mutex::new(HashMap::new()),
            highest_list: highest_list.into(),
            events: Events::new(service.events),
            webhooks,
            retention: service.retention,
            erasure: tokio::sync::Mutex::new(()),
        })
    }

    /// The issuer's DID.
    pub fn issuer(&self) -> &DidKey {
        &self.issuer
    }

    /// The KYC checks.
    pub fn checks(&self) -> &CheckSuite {
        &self.checks
    }

    /// The state change channel.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The platforms' webhook endpoints.
    pub fn webhooks(&self) -> &Arc<Webhooks> {
        &self.webhooks
    }

    /// Start delivering state changes to the webhook endpoints (a background task; needs a
    /// Tokio runtime).
    pub fn start_webhooks(&self) -> tokio::task::JoinHandle<()> {
        self.webhooks.spawn(self.events.subscribe())
    }

    /// Interval of keep-alive comments on status streams.
    pub fn keep_alive(&self) -> StdDuration {
        self.events.settings().keep_alive
    }

    /// Announce that `application` is stored in its current state.
    fn announce(&self, application: &ApplicationRecord) {
        self.events.publish(StateChange::current(application));
    }

    /// Validate a submission; errors name the place and the rule, never the value.
    pub fn validate(&self, body: &serde_json::Value) -> Result<Submission, ApplicationError> {
        if let Some(error) = self.schema.iter_errors(body).next() {
            let keyword = error.schema_path.to_string();
            let keyword = keyword.rsplit('/').next().unwrap_or_default().to_owned();
            let at = error.instance_path.to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            return Err(ApplicationError::BadRequest(format!(
                "submission does not match the application schema at {at} ({keyword})"
            )));
        }
        let submission: Submission = serde_json::from_value(body.clone()).map_err(|e| {
            ApplicationError::BadRequest(
                kyc_core::MalformedError::json("submission", &e).to_string(),
            )
        })?;
        if self.checks.policy(&submission.jurisdiction).is_none() {
            let known: Vec<&str> = self.checks.jurisdictions().codes().collect();
            return Err(ApplicationError::UnknownJurisdiction(known.join(", ")));
        }
        DidKey::parse(&submission.holder)
            .map_err(|e| ApplicationError::BadRequest(format!("holder: {e}")))?;
        Ok(submission)
    }

    /// Accept a submission: new subject, sealed data, the checks, the decision.
    pub async fn submit(
        &self,
        body: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<ApplicationView, ApplicationError> {
        let submission = self.validate(body)?;
        let subject_key = SubjectKey::generate();
        let subject = SubjectRecord {
            id: uuid::Uuid::new_v4().to_string(),
            key: Some(*subject_key.as_bytes()),
            created_at: now,
            erased_at: None,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let plaintext = serde_json::to_vec(&submission)
            .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        let sealed = pii::seal(
            &subject_key,
            &plaintext,
            &context(&subject.id, &id, "submission"),
        )?;
        let mut application = ApplicationRecord {
            id: id.clone(),
            subject: subject.id.clone(),
            holder: submission.holder.clone(),
            jurisdiction: submission.jurisdiction.clone(),
            state: ApplicationState::Submitted,
            created_at: now,
            updated_at: now,
            sealed_submission: sealed,
            checks: Vec::new(),
            decision: None,
            credential: None,
        };
        // The checks and the decision are computed first, then logged together with the
        // submission (one group commit), then stored in their final state.
        let mut events = vec![AuditEvent::ApplicationSubmitted {
            application: id.clone(),
            subject: subject.id.clone(),
            jurisdiction: submission.jurisdiction.clone(),
            holder_commitment: pii::commitment(&subject_key, "holderDid", &submission.holder),
        }];
        let (decision, traces) = self
            .assess(&mut application, &submission, &mut events, now)
            .await?;
        apply_decision(&mut application, decision, now);
        self.log_and_store(&events, &traces, || {
            Ok(self.store.insert_submission(&subject, &application)?)
        })
        .await?;
        // The checks ran inside this request, so neither `submitted` nor `checking` was stored
        // on its own; both are announced before the outcome, in order, so that subscribers see
        // every transition.
        for state in [ApplicationState::Submitted, ApplicationState::Checking] {
            self.events.publish(StateChange {
                id: application.id.clone(),
                state,
                at: now,
            });
        }
        self.announce(&application);
        Ok((&application).into())
    }

    /// Run every check and the risk engine on `application` (in memory), adding their audit
    /// events to `events`; returns the decision, not yet applied.
    ///
    /// The checks run on a blocking thread: the biometric check takes a few hundred
    /// milliseconds of CPU, which must not stall the runtime's workers.
    async fn assess(
        &self,
        application: &mut ApplicationRecord,
        submission: &Submission,
        events: &mut Vec<AuditEvent>,
        now: DateTime<Utc>,
    ) -> Result<(DecisionRecord, Traces), ApplicationError> {
        application.state = ApplicationState::Checking;
        let keys = association_keys(&self.index_key, submission);
        let bytes: Vec<[u8; 17]> = keys.iter().map(|k| k.bytes).collect();
        let shared: Vec<AssociationKind> = self
            .store
            .associated(&bytes, &submission.holder)?
            .into_iter()
            .zip(&keys)
            .filter_map(|(shared, key)| shared.then_some(key.kind))
            .collect();
        let cleared = self.store.screening_clearances(&application.subject)?;
        let digests = submission_frame_digests(submission);
        let (digest, frames) = match &digests {
            Some((set, each)) => (Some(*set), each.as_slice()),
            None => (None, &[][..]),
        };
        let senders = self.store.frame_senders(frames)?;
        let prior = if senders.iter().any(|s| *s != application.id) {
            PriorAnswer::OtherApplication
        } else {
            match digest.map(|d| self.store.liveness_answer(&d)).transpose()? {
                Some(Some(answer)) if answer.application == application.id => {
                    PriorAnswer::ThisApplication(answer.challenge)
                }
                Some(Some(_)) => PriorAnswer::OtherApplication,
                _ => PriorAnswer::None,
            }
        };
        let suite = Arc::clone(&self.checks);
        let owned = submission.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let ctx = CheckContext {
                now,
                shared: &shared,
                cleared: &cleared,
                liveness: &prior,
            };
            suite.run(&owned, ctx)
        })
        .await
        // Not the panic's text: it may quote the input.
        .map_err(|_| ApplicationError::Internal("a check failed to complete".into()))?
        .ok_or_else(|| ApplicationError::Internal("jurisdiction without a policy".into()))?;
        let traces = Traces {
            holder: submission.holder.clone(),
            associations: bytes,
            liveness: digest.zip(outcome.answered).map(|(digest, challenge)| {
                let answer = LivenessAnswer {
                    application: application.id.clone(),
                    challenge,
                };
                (digest, answer, frames.to_vec())
            }),
            pending: outcome.pending.map(|(reference, liveness_asked)| {
                let pending = VendorPending {
                    application: application.id.clone(),
                    liveness_asked,
                    round_at: now,
                };
                (reference, pending)
            }),
        };
        let checks = outcome.records;
        let policy = self
            .checks
            .policy(&submission.jurisdiction)
            .ok_or_else(|| ApplicationError::Internal("jurisdiction without a policy".into()))?;
        application.checks = checks;
        let decision = crate::risk::decide(&application.checks, &policy.into(), now);
        events.extend(
            application
                .checks
                .iter()
                .map(|record| AuditEvent::CheckCompleted {
                    application: application.id.clone(),
                    check: record.check,
                    outcome: record.outcome,
                    reasons: record.reasons.clone(),
                    data_version: record.data_version.clone(),
                }),
        );
        events.push(decision_event(&application.id, &decision));
        Ok((decision, traces))
    }

    /// Log `events`, then `store` the application they describe; then record the checks'
    /// `traces` in the indexes, or, when either write fails, give back what the checks consumed.
    async fn log_and_store(
        &self,
        events: &[AuditEvent],
        traces: &Traces,
        store: impl FnOnce() -> Result<(), ApplicationError>,
    ) -> Result<(), ApplicationError> {
        let stored = match self.audit.append_all(events).await {
            Ok(_) => store(),
            Err(e) => Err(e.into()),
        };
        match stored {
            Ok(()) => {
                self.commit_traces(traces);
                Ok(())
            }
            Err(e) => {
                self.abandon_traces(traces);
                Err(e)
            }
        }
    }

    /// Record what an application's checks leave in the indexes, once the application is
    /// stored. A failure here is logged, not answered: the application and its decision stand.
    fn commit_traces(&self, traces: &Traces) {
        let result = (|| -> Result<(), StateError> {
            self.store
                .record_associations(&traces.associations, &traces.holder)?;
            if let Some((digest, answer, frames)) = &traces.liveness {
                self.store.record_liveness_answer(digest, answer)?;
                self.store
                    .record_frame_sender(frames, &answer.application)?;
            }
            if let Some((reference, pending)) = &traces.pending {
                self.store.record_vendor_pending(reference, pending)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "recording an application's index entries failed");
        }
    }

    /// Undo what checks that will not be stored consumed: the liveness challenge, so that the
    /// customer's retry is not taken for a replay.
    fn abandon_traces(&self, traces: &Traces) {
        if let (Some((digest, answer, _)), Some(challenges)) =
            (&traces.liveness, self.checks.challenges())
        {
            challenges.release(answer.challenge.id, *digest);
        }
    }

    /// A biometric vendor posts a result it promised (`202` at the time of the check): the
    /// signature and its time are checked, the request must still be waiting and its
    /// application in review; the biometric check's record is replaced and the application
    /// decided again, both logged.
    pub async fn vendor_result(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ApplicationView, ApplicationError> {
        let Some(check) = self.checks.biometric().filter(|c| c.has_vendor()) else {
            return Err(ApplicationError::NotFound);
        };
        // The signature first: an unauthenticated caller learns nothing about what waits.
        let result = check
            .verify_vendor_result(headers, body, now)
            .map_err(|e| match e {
                crate::checks::biometric::WebhookError::MalformedBody => {
                    ApplicationError::BadRequest(e.to_string())
                }
                _ => ApplicationError::BadSignature(e.to_string()),
            })?
            .ok_or(ApplicationError::NotFound)?;
        let reference = result
            .reference
            .clone()
            .ok_or_else(|| ApplicationError::BadRequest("no reference in the result".into()))?;
        let pending = self
            .store
            .vendor_pending(&reference)?
            .ok_or(ApplicationError::NotFound)?;
        let (outcome, reasons) = check
            .vendor_outcome(&result, pending.liveness_asked)
            .ok_or(ApplicationError::NotFound)?;
        let current = self
            .store
            .application(&pending.application)?
            .ok_or(ApplicationError::NotFound)?;
        // The result applies to the round that asked for it, and only while that round's
        // biometric record still waits for it.
        let same_round = current.checks.iter().any(|r| {
            r.check == AuditCheck::Biometric
                && r.at == pending.round_at
                && r.reasons.iter().any(|x| x == "biometric_pending")
        });
        if !same_round || current.state.is_final() {
            // It can never apply: forget it.
            self.store.take_vendor_pending(&reference)?;
        }
        if !same_round || current.state != ApplicationState::InReview {
            return Err(ApplicationError::WrongState(
                "the application does not wait for this result now".into(),
            ));
        }
        let policy = self
            .checks
            .policy(&current.jurisdiction)
            .ok_or_else(|| ApplicationError::Internal("jurisdiction without a policy".into()))?;
        // Taken once: a second delivery of the same result finds nothing waiting.
        let Some(taken) = self.store.take_vendor_pending(&reference)? else {
            return Err(ApplicationError::NotFound);
        };
        let mut next = current.clone();
        let record = CheckRecord::new(AuditCheck::Biometric, outcome, reasons, now);
        for r in next
            .checks
            .iter_mut()
            .filter(|r| r.check == AuditCheck::Biometric)
        {
            *r = record.clone();
        }
        let decision = crate::risk::decide(&next.checks, &policy.into(), now);
        let events = [
            AuditEvent::CheckCompleted {
                application: next.id.clone(),
                check: AuditCheck::Biometric,
                outcome: record.outcome,
                reasons: record.reasons.clone(),
                data_version: None,
            },
            decision_event(&next.id, &decision),
        ];
        apply_decision(&mut next, decision, now);
        let applied = match self.audit.append_all(&events).await {
            Ok(_) => self
                .store
                .replace_application(&current, &next)
                .map_err(conflict),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = applied {
            // Nothing applied: the vendor's retry must find the request waiting again.
            self.store.record_vendor_pending(&reference, &taken)?;
            return Err(e);
        }
        self.announce(&next);
        Ok((&next).into())
    }

    /// The compliance reports: one per high-risk rejection (automatic or a reviewer's), oldest
    /// first. Derived from the rejected applications themselves, so a report cannot be lost
    /// apart from its decision: a rejected application's decision and checks never change.
    pub fn reports(&self) -> Result<Vec<ReportRecord>, ApplicationError> {
        let mut reports: Vec<ReportRecord> = self
            .store
            .applications_in(ApplicationState::Rejected)?
            .into_iter()
            .filter_map(|a| {
                let decision = a.decision.clone()?;
                if decision.level != RiskLevel::High || decision.action != DecisionAction::Reject {
                    return None;
                }
                // The policy version the checks ran under, as the identity check recorded it.
                let jurisdiction = a
                    .checks
                    .iter()
                    .find(|c| c.check == AuditCheck::Identity)
                    .and_then(|c| c.data_version.clone())
                    .unwrap_or_else(|| a.jurisdiction.clone());
                Some(ReportRecord {
                    application: a.id,
                    subject: a.subject,
                    jurisdiction,
                    created_at: decision.at,
                    decision,
                    checks: a.checks,
                })
            })
            .collect();
        reports.sort_by_key(|r| r.created_at);
        Ok(reports)
    }

    /// The holder uploads the documents a reviewer asked for; the application is checked again.
    ///
    /// Only `document`, `selfie`, `livenessFrames` and `proofOfAddress` may be sent; they
    /// replace the submitted ones, and the whole submission must still match the schema.
    pub async fn upload_documents(
        &self,
        id: &str,
        holder: &str,
        additions: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<ApplicationView, ApplicationError> {
        let current = self.for_holder(id, holder)?;
        if current.state != ApplicationState::MoreDocumentsRequested {
            return Err(ApplicationError::WrongState(
                "no documents were requested for this application".into(),
            ));
        }
        let serde_json::Value::Object(additions) = additions else {
            return Err(ApplicationError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        };
        if additions.is_empty() || additions.keys().any(|k| !UPLOADABLE.contains(&k.as_str())) {
            return Err(ApplicationError::BadRequest(
                "only document, selfie, livenessFrames and proofOfAddress can be uploaded".into(),
            ));
        }
        let key = self.subject_key(&current.subject)?;
        let where_ = context(&current.subject, id, "submission");
        let mut merged: serde_json::Value =
            serde_json::from_slice(&pii::open(&key, &current.sealed_submission, &where_)?)
                .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        for (name, value) in additions {
            merged[name] = value.clone();
        }
        let submission = self.validate(&merged)?;
        let plaintext = serde_json::to_vec(&submission)
            .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        let mut next = current.clone();
        next.sealed_submission = pii::seal(&key, &plaintext, &where_)?;
        let mut events = vec![AuditEvent::DocumentsSubmitted {
            application: id.to_owned(),
        }];
        let (decision, traces) = self
            .assess(&mut next, &submission, &mut events, now)
            .await?;
        apply_decision(&mut next, decision, now);
        self.log_and_store(&events, &traces, || {
            self.store
                .replace_application(&current, &next)
                .map_err(conflict)
        })
        .await?;
        self.events.publish(StateChange {
            id: next.id.clone(),
            state: ApplicationState::Checking,
            at: now,
        });
        self.announce(&next);
        Ok((&next).into())
    }

    async fn record_decision(
        &self,
        application: &mut ApplicationRecord,
        decision: DecisionRecord,
        now: DateTime<Utc>,
    ) -> Result<(), ApplicationError> {
        self.audit
            .append(&decision_event(&application.id, &decision))
            .await?;
        apply_decision(application, decision, now);
        Ok(())
    }

    /// The application `id` if `holder` is its holder (404 otherwise: no probing of others' ids).
    pub fn for_holder(
        &self,
        id: &str,
        holder: &str,
    ) -> Result<ApplicationRecord, ApplicationError> {
        match self.store.application(id)? {
            Some(a) if a.holder == holder => Ok(a),
            _ => Err(ApplicationError::NotFound),
        }
    }

    /// The status stream of application `id` for its holder (404 for anyone else): its current
    /// state, then each change, until a final state, the stream timeout or shutdown
    /// ([`Events::watch`]).
    pub fn watch(
        &self,
        id: &str,
        holder: &str,
    ) -> Result<impl futures_util::Stream<Item = StateChange> + Send + 'static, ApplicationError>
    {
        // Subscribe first: a change between reading and subscribing would be lost.
        let changes = self.events.subscribe();
        let current = self.for_holder(id, holder)?;
        Ok(self.events.watch(
            StateChange::current(&current),
            changes,
            Arc::clone(&self.store),
        ))
    }

    /// The subject `subject`'s applications, if `holder` holds one of them (404 otherwise: no
    /// probing of others' subject ids).
    fn applications_for_holder(
        &self,
        subject: &str,
        holder: &str,
    ) -> Result<(SubjectRecord, Vec<ApplicationRecord>), ApplicationError> {
        let record = self
            .store
            .subject(subject)?
            .ok_or(ApplicationError::NotFound)?;
        let applications = self.store.applications_of(subject)?;
        if !applications.iter().any(|a| a.holder == holder) {
            return Err(ApplicationError::NotFound);
        }
        Ok((record, applications))
    }

    /// Everything the issuer holds about `subject`, decrypted, for `holder`, who must hold one
    /// of its applications. 410 once erased.
    pub fn export(&self, subject: &str, holder: &str) -> Result<SubjectExport, ApplicationError> {
        let (record, applications) = self.applications_for_holder(subject, holder)?;
        let key = record
            .key
            .map(SubjectKey::from_bytes)
            .ok_or(ApplicationError::Erased)?;
        let mut export = SubjectExport {
            subject: record.id.clone(),
            created_at: record.created_at,
            applications: Vec::with_capacity(applications.len()),
            credentials: Vec::new(),
        };
        for application in applications {
            let submission = open_submission(&key, &application)?;
            if let Some(id) = &application.credential {
                let credential = self
                    .store
                    .credential(id)?
                    .ok_or_else(|| ApplicationError::Internal("credential missing".into()))?;
                export.credentials.push(ExportedCredential {
                    id: credential.id,
                    application: credential.application,
                    tier: credential.tier,
                    issued_at: credential.issued_at,
                    revoked: credential.revoked,
                });
            }
            export.applications.push(ExportedApplication {
                id: application.id,
                state: application.state,
                jurisdiction: application.jurisdiction,
                holder: application.holder,
                created_at: application.created_at,
                updated_at: application.updated_at,
                submission,
                checks: application.checks,
                decision: application.decision,
                credential: application.credential,
            });
        }
        Ok(export)
    }

    /// Erase subject `subject` (admin): destroy its key once the retention period has passed
    /// since its last activity, after logging `subject_erased`. 404 for an unknown subject, 409
    /// when already erased or still retained.
    pub async fn erase(
        &self,
        subject: &str,
        admin: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApplicationError> {
        let _one_at_a_time = self.erasure.lock().await;
        let current = self
            .store
            .subject(subject)?
            .ok_or(ApplicationError::NotFound)?;
        if current.key.is_none() || current.erased_at.is_some() {
            return Err(ApplicationError::WrongState(
                "the subject's data has already been erased".into(),
            ));
        }
        let until = self.last_activity(&current)? + self.retention;
        if now < until {
            return Err(ApplicationError::RetentionNotOver { until });
        }
        // What the indexes hold of the subject, found while its data can still be read.
        let key = current
            .key
            .map(SubjectKey::from_bytes)
            .ok_or(ApplicationError::Erased)?;
        let mut traces = Vec::new();
        for application in self.store.applications_of(subject)? {
            let submission = open_submission(&key, &application)?;
            let associations: Vec<[u8; 17]> = association_keys(&self.index_key, &submission)
                .iter()
                .map(|k| k.bytes)
                .collect();
            let frames: Vec<[u8; 32]> = submission_frame_digests(&submission)
                .map(|(set, each)| std::iter::once(set).chain(each).collect())
                .unwrap_or_default();
            traces.push((application.id, submission.holder, associations, frames));
        }
        self.audit
            .append(&AuditEvent::SubjectErased {
                subject: subject.into(),
                by: admin.into(),
            })
            .await?;
        for (application, holder, associations, frames) in &traces {
            self.store
                .forget_traces(subject, application, holder, associations, frames)?;
        }
        let next = SubjectRecord {
            key: None,
            erased_at: Some(now),
            ..current.clone()
        };
        self.store
            .replace_subject(&current, &next)
            .map_err(conflict)?;
        tracing::info!(subject, by = admin, "subject erased");
        Ok(())
    }

    /// The latest change to anything of the subject's: application, issuance, revocation.
    fn last_activity(&self, subject: &SubjectRecord) -> Result<DateTime<Utc>, ApplicationError> {
        let mut last = subject.created_at;
        for application in self.store.applications_of(&subject.id)? {
            last = last.max(application.updated_at);
            if let Some(id) = &application.credential {
                if let Some(credential) = self.store.credential(id)? {
                    last = last.max(credential.issued_at);
                    if let Some(revoked) = &credential.revoked {
                        last = last.max(revoked.at);
                    }
                }
            }
        }
        Ok(last)
    }

    /// The review queue: applications waiting for a person, oldest first.
    pub fn review_queue(&self) -> Result<Vec<ApplicationView>, ApplicationError> {
        Ok(self
            .store
            .applications_in(ApplicationState::InReview)?
            .iter()
            .map(ApplicationView::for_staff)
            .collect())
    }

    /// A reviewer decides on an application in review.
    pub async fn review(
        &self,
        id: &str,
        reviewer: &str,
        decision: ReviewDecision,
        now: DateTime<Utc>,
    ) -> Result<ApplicationView, ApplicationError> {
        let current = self
            .store
            .application(id)?
            .ok_or(ApplicationError::NotFound)?;
        if current.state != ApplicationState::InReview {
            return Err(ApplicationError::WrongState(
                "the application is not in review".into(),
            ));
        }
        let level = current
            .decision
            .as_ref()
            .map_or(RiskLevel::Medium, |d| d.level);
        let tier = match decision.action {
            DecisionAction::Approve => {
                let tier = decision
                    .tier
                    .ok_or_else(|| ApplicationError::BadRequest("approve needs a tier".into()))?;
                let clear = |c: &AuditCheck| {
                    current
                        .checks
                        .iter()
                        .any(|r| r.check == *c && r.outcome == CheckOutcome::Clear)
                };
                if let Some(missing) = required_checks(tier).iter().find(|c| !clear(c)) {
                    return Err(ApplicationError::TierNotEarned(format!(
                        "tier {tier} needs a clear {} check",
                        missing.as_str()
                    )));
                }
                if !approval_allows(tier, level, Some(reviewer)) {
                    return Err(ApplicationError::TierNotEarned(format!(
                        "tier {tier} cannot be approved at this risk level"
                    )));
                }
                Some(tier)
            }
            DecisionAction::Reject | DecisionAction::RequestDocuments => None,
            DecisionAction::Review => {
                return Err(ApplicationError::BadRequest(
                    "a reviewer approves, rejects or requests documents".into(),
                ))
            }
        };
        let cleared = decision.cleared_screening_matches;
        if cleared.len() > 64
            || cleared.iter().any(|e| {
                e.is_empty()
                    || e.len() > 128
                    || !e
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
            })
        {
            return Err(ApplicationError::BadRequest(
                "clearedScreeningMatches: at most 64 matches (`list/entity`) of 1 to 128 \
                 characters [A-Za-z0-9-_.:/]"
                    .into(),
            ));
        }
        let mut reasons = decision.reasons;
        reasons.push("reviewer_decision".into());
        reasons.extend(cleared.iter().map(|_| "screening_match_cleared".to_owned()));
        let decided = DecisionRecord {
            level,
            action: decision.action,
            tier,
            reasons,
            reviewer: Some(reviewer.into()),
            at: now,
        };
        // Only the matches this application's screening named (`match:list/entity`).
        let named = |key: &String| {
            current.checks.iter().any(|c| {
                c.check == AuditCheck::Screening
                    && c.reasons
                        .iter()
                        .any(|r| r.strip_prefix(crate::checks::MATCH_PREFIX) == Some(key.as_str()))
            })
        };
        if let Some(other) = cleared.iter().find(|k| !named(k)) {
            return Err(ApplicationError::BadRequest(format!(
                "clearedScreeningMatches: {other} is not a match of this application"
            )));
        }
        // Before the decision: a clearance stored for a decision that then fails to be stored
        // is harmless (the reviewer decides again); the other order could lose it.
        self.store
            .add_screening_clearances(&current.subject, &cleared)?;
        let mut next = current.clone();
        self.record_decision(&mut next, decided, now).await?;
        self.store
            .replace_application(&current, &next)
            .map_err(conflict)?;
        self.announce(&next);
        Ok(ApplicationView::for_staff(&next))
    }

    fn subject_key(&self, subject: &str) -> Result<SubjectKey, ApplicationError> {
        let record = self
            .store
            .subject(subject)?
            .ok_or_else(|| ApplicationError::Internal("subject missing".into()))?;
        record
            .key
            .map(SubjectKey::from_bytes)
            .ok_or(ApplicationError::Erased)
    }

    /// The holder collects the credential of an approved application (issued on first collect;
    /// the same credential afterwards).
    pub async fn collect(
        &self,
        id: &str,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<CollectedCredential, ApplicationError> {
        let current = self.for_holder(id, holder)?;
        let key = self.subject_key(&current.subject)?;
        match current.state {
            ApplicationState::Issued => {
                let credential_id = current.credential.clone().ok_or_else(|| {
                    ApplicationError::Internal("issued without credential".into())
                })?;
                let record = self
                    .store
                    .credential(&credential_id)?
                    .ok_or(ApplicationError::NotFound)?;
                let forms = pii::open(
                    &key,
                    &record.sealed_forms,
                    &context(&current.subject, id, "credential"),
                )?;
                serde_json::from_slice(&forms)
                    .map_err(|e| ApplicationError::Internal(e.to_string()))
            }
            ApplicationState::Approved => self.issue(current, &key, now).await,
            _ => Err(ApplicationError::WrongState(
                "the application is not approved".into(),
            )),
        }
    }

    async fn issue(
        &self,
        current: ApplicationRecord,
        key: &SubjectKey,
        now: DateTime<Utc>,
    ) -> Result<CollectedCredential, ApplicationError> {
        let decision = current
            .decision
            .clone()
            .ok_or_else(|| ApplicationError::Internal("approved without decision".into()))?;
        let tier = decision
            .tier
            .ok_or_else(|| ApplicationError::Internal("approved without tier".into()))?;
        let submission = open_submission(key, &current)?;
        let index = self.store.next_status_index()?;
        let (list, position) = (index / MIN_ENTRIES as u64 + 1, index % MIN_ENTRIES as u64);
        self.highest_list
            .fetch_max(list, std::sync::atomic::Ordering::SeqCst);
        let slot = StatusSlot {
            list_url: self.status_list_url(list),
            index: position,
        };
        // The configured validity, capped by the jurisdiction's policy.
        let t = usize::from(tier.as_u8());
        let policy_cap = self
            .checks
            .policy(&current.jurisdiction)
            .map_or(u32::MAX, |p| p.credential.max_validity_days[t]);
        let validity = Duration::days(self.settings.validity_days[t].min(policy_cap).into());
        let subject = attested_claims(&current.holder, tier, &submission, now);
        let issued = issuance::issue(
            &self.key,
            subject,
            now,
            validity,
            Some(&slot),
            evidence(&current.checks),
        )
        .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        let collected = CollectedCredential {
            id: issued.credential.id.clone(),
            tier,
            jwt: issued.jwt,
            sd_jwt: issued.sd_jwt,
        };
        let forms = serde_json::to_vec(&collected)
            .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        let record = CredentialRecord {
            id: collected.id.clone(),
            application: current.id.clone(),
            subject: current.subject.clone(),
            tier,
            status_index: index,
            sealed_forms: pii::seal(
                key,
                &forms,
                &context(&current.subject, &current.id, "credential"),
            )?,
            issued_at: now,
            revoked: None,
        };
        self.audit
            .append(&AuditEvent::CredentialIssued {
                application: current.id.clone(),
                credential: collected.id.clone(),
                credential_hash: kyc_core::sd_jwt::digest(&collected.jwt),
                tier,
                status_list: slot.list_url.clone(),
                status_index: position,
            })
            .await?;
        let mut next = current.clone();
        next.state = ApplicationState::Issued;
        next.credential = Some(collected.id.clone());
        next.updated_at = now;
        self.store
            .record_issuance(&record, &current, &next)
            .map_err(conflict)?;
        self.announce(&next);
        Ok(collected)
    }

    /// Revoke a credential (admin); revoking twice is a conflict.
    pub async fn revoke(
        &self,
        id: &str,
        admin: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApplicationError> {
        let current = self
            .store
            .credential(id)?
            .ok_or(ApplicationError::NotFound)?;
        if current.revoked.is_some() {
            return Err(ApplicationError::WrongState(
                "the credential is already revoked".into(),
            ));
        }
        self.audit
            .append(&AuditEvent::CredentialRevoked {
                credential: id.into(),
                reason: reason.into(),
                by: admin.into(),
            })
            .await?;
        let mut next = current.clone();
        next.revoked = Some(Revocation {
            at: now,
            reason: reason.into(),
            by: admin.into(),
        });
        self.store
            .replace_credential(&current, &next)
            .map_err(conflict)?;
        self.status_lists
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(current.status_index / MIN_ENTRIES as u64 + 1));
        Ok(())
    }

    /// URL of status list `list`.
    pub fn status_list_url(&self, list: u64) -> String {
        format!("{}/v1/status-lists/{list}", self.settings.public_url)
    }

    /// The signed status list `list` (1-based), re-signed when it changed or nears expiry.
    pub fn status_list(
        &self,
        list: u64,
        now: DateTime<Utc>,
    ) -> Result<SignedStatusList, ApplicationError> {
        if list == 0 || list > self.highest_list.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ApplicationError::NotFound);
        }
        let mut cache = self
            .status_lists
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(signed) = cache.get(&list) {
            if signed.valid_until - now > self.settings.status_list_validity / 2 {
                return Ok(signed.clone());
            }
        }
        let first = (list - 1) * MIN_ENTRIES as u64;
        let revoked: Vec<u64> = self
            .store
            .revoked_indexes()?
            .into_iter()
            .filter(|i| (first..first + MIN_ENTRIES as u64).contains(i))
            .map(|i| i - first)
            .collect();
        let valid_until = now + self.settings.status_list_validity;
        let jwt = issuance::status_list(
            &self.key,
            &self.status_list_url(list),
            &revoked,
            now,
            self.settings.status_list_validity,
        )
        .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        let etag = format!("\"{}\"", kyc_core::sd_jwt::digest(&jwt));
        let signed = SignedStatusList {
            jwt,
            etag,
            valid_until,
        };
        cache.insert(list, signed.clone());
        Ok(signed)
    }
}

/// The audit event recording `decision` on application `id`.
fn decision_event(id: &str, decision: &DecisionRecord) -> AuditEvent {
    AuditEvent::Decision {
        application: id.to_owned(),
        level: decision.level,
        action: decision.action,
        tier: decision.tier,
        reasons: decision.reasons.clone(),
        reviewer: decision.reviewer.clone(),
    }
}

/// The state a decision moves an application to, with the decision recorded on it.
fn apply_decision(
    application: &mut ApplicationRecord,
    decision: DecisionRecord,
    now: DateTime<Utc>,
) {
    application.state = match decision.action {
        DecisionAction::Approve => ApplicationState::Approved,
        DecisionAction::Review => ApplicationState::InReview,
        DecisionAction::RequestDocuments => ApplicationState::MoreDocumentsRequested,
        DecisionAction::Reject => ApplicationState::Rejected,
    };
    application.decision = Some(decision);
    application.updated_at = now;
}

fn conflict(e: StateError) -> ApplicationError {
    match e {
        StateError::Conflict => {
            ApplicationError::WrongState("the application changed concurrently; retry".into())
        }
        other => other.into(),
    }
}

/// What the credential attests, by tier. Nothing self-declared is attested as if verified:
/// tier 0 attests nothing but the tier; names, nationality and residence need tier 1 (complete,
/// screened data); the birth date and the age claims need tier 2 (a verified document).
pub fn attested_claims(
    holder: &str,
    tier: KycTier,
    submission: &Submission,
    now: DateTime<Utc>,
) -> KycSubject {
    let identity = &submission.identity;
    let basic = tier >= KycTier::Basic;
    let verified = tier >= KycTier::Verified;
    let age = age_on(identity.birth_date, now.date_naive());
    KycSubject {
        id: holder.into(),
        kyc_tier: tier,
        assurance_level: tier.assurance_level(),
        age_over_18: verified.then_some(age >= 18),
        age_over_21: verified.then_some(age >= 21),
        country_of_residence: basic
            .then(|| identity.residence.as_ref().map(|r| r.country))
            .flatten(),
        nationality: basic.then_some(identity.nationality),
        given_name: basic.then(|| identity.given_name.clone()),
        family_name: basic.then(|| identity.family_name.clone()),
        birth_date: verified.then_some(identity.birth_date),
    }
}

/// Whole years between `born` and `today`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    age
}

fn evidence(checks: &[CheckRecord]) -> Vec<Evidence> {
    checks
        .iter()
        .filter_map(|r| {
            let kind = match r.check {
                AuditCheck::Document => CheckKind::Document,
                AuditCheck::Biometric => CheckKind::Biometric,
                AuditCheck::Screening => CheckKind::Screening,
                AuditCheck::Risk => CheckKind::Risk,
                _ => return None,
            };
            Some(Evidence::new(kind, r.outcome, r.at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_birthdays() {
        let born = NaiveDate::from_ymd_opt(2008, 3, 1).unwrap();
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            17
        );
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
            18
        );
    }
}

//! What every use case works with: [`Applications`] (the store, the audit log, the key, the
//! checks, the settings), its errors, its settings, and the steps several use cases share
//! (sealing, logging then storing, recording a decision).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use kyc_core::audit_event::{AuditEvent, DecisionAction};
use kyc_core::status_list::MIN_ENTRIES;
use kyc_core::DidKey;
use serde::Deserialize;

use super::error::{ApplicationError, Broken};
use crate::audit::AuditLog;
use crate::checks::CheckSuite;
use crate::events::{EventSettings, Events, StateChange};
use crate::model::{
    ApplicationRecord, ApplicationState, CheckRecord, DecisionRecord, LivenessAnswer, Submission,
    VendorPending, APPLICATION_SCHEMA,
};
use crate::pii::{self, SubjectKey};
use crate::secret::IssuerSecret;
use crate::signer::IssuerSigner;
use crate::state::{StateError, StateStore};
use crate::subject_keys::SubjectKeys;
use crate::webhooks::{WebhookSettings, Webhooks};

/// Credential issuance: the `[issuance]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuanceConfig {
    /// Validity of a credential in days, by tier 0, 1, 2, 3.
    pub validity_days: [u32; 4],
    /// How long a signed status list is valid; relying parties refetch after that.
    pub status_list_validity_secs: u32,
}

impl Default for IssuanceConfig {
    fn default() -> Self {
        Self {
            validity_days: [30, 365, 365, 365],
            status_list_validity_secs: 3600,
        }
    }
}

/// Retention of personal data: the `[retention]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days that must pass after a subject's last activity (its latest application change,
    /// credential issuance or revocation) before `DELETE /v1/subjects/{id}` may erase it.
    ///
    /// The default, 1826 days (five years), is the record-keeping period of the EU anti-money
    /// laundering directive (Directive (EU) 2015/849, Art. 40(1)); GDPR Art. 17(3)(b) lets that
    /// legal obligation take precedence over an erasure request. Set it to the period of the
    /// operator's jurisdiction; 0 allows erasure at any time (tests, demos).
    pub min_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { min_days: 1826 }
    }
}

/// What an application's checks leave in the store's indexes, written once the application is
/// stored (so that a request that fails changes nothing there).
#[derive(Debug)]
pub(super) struct Traces {
    pub(super) holder: String,
    pub(super) associations: Vec<[u8; 17]>,
    /// The liveness answer, when the frames answered a challenge.
    pub(super) liveness: Option<LivenessTrace>,
    /// A vendor request waiting for its webhook.
    pub(super) pending: Option<(String, VendorPending)>,
}

/// What an accepted liveness answer leaves in the indexes.
#[derive(Debug)]
pub(super) struct LivenessTrace {
    /// The frame set's digest.
    pub(super) digest: [u8; 32],
    /// The application and the challenge it answered.
    pub(super) answer: LivenessAnswer,
    /// Each frame's SHA-256.
    pub(super) frames: Vec<[u8; 32]>,
    /// Each frame's perceptual hash.
    pub(super) hashes: Vec<u128>,
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
    /// When the signing key took over from its predecessor (the last rotation's `at`), if it
    /// did: no credential it signs is dated before that day, so that a merchant's trust file
    /// (which opens the successor's window at the start of that day) accepts it.
    pub key_since: Option<DateTime<Utc>>,
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
    /// Applications one holder may have open at once.
    pub open_applications_per_holder: usize,
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

/// The issuer's own secrets: its signing key, and its long-term secret (the audit log's
/// commitments, the association index), kept apart so that rotating the first renames nothing.
#[derive(Debug, Clone)]
pub struct IssuerSecrets {
    /// The signing key (credentials, status lists; the audit log signs checkpoints with its own
    /// copy).
    pub key: SigningKey,
    /// The long-term secret.
    pub secret: IssuerSecret,
}

/// The issuer's business logic over its store, audit log and key.
pub struct Applications {
    pub(super) store: Arc<dyn StateStore>,
    /// The subjects' data keys, kept apart from the store ([`crate::subject_keys`]).
    pub(super) keys: Arc<dyn SubjectKeys>,
    pub(super) audit: AuditLog,
    /// The signing key, which signs only what the audit log recorded first.
    pub(super) signer: IssuerSigner,
    /// The audit log's commitments to credentials and staff ([`crate::secret`]).
    pub(super) secret: IssuerSecret,
    pub(super) settings: IssuanceSettings,
    pub(super) checks: Arc<CheckSuite>,
    /// Key of the association index's hashes, derived from the long-term secret.
    pub(super) index_key: [u8; 32],
    pub(super) schema: jsonschema::Validator,
    /// The signed status lists; its lock is held by a revocation from its log entry to its
    /// store update and by a publication from reading the store to signing, so a list is
    /// always what the log's revocations before its `status_list_published` entry imply.
    pub(super) status_lists: tokio::sync::Mutex<HashMap<u64, SignedStatusList>>,
    /// The highest status list any credential points into (0: none yet); lists past it are
    /// 404, so that asking for arbitrary list numbers signs and caches nothing.
    pub(super) highest_list: std::sync::atomic::AtomicU64,
    pub(super) events: Events,
    pub(super) webhooks: Arc<Webhooks>,
    pub(super) retention: Duration,
    /// One erasure at a time, so that two requests cannot both log the same erasure.
    pub(super) erasure: tokio::sync::Mutex<()>,
    /// The open applications of each holder, for the quota.
    pub(super) open: super::quota::OpenApplications,
}

impl std::fmt::Debug for Applications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applications")
            .field("issuer", self.signer.did())
            .finish_non_exhaustive()
    }
}

pub(super) fn context(subject: &str, application: &str, what: &str) -> String {
    format!("subject/{subject}/application/{application}/{what}")
}

/// The submission sealed in `application`, opened with its subject's `key`.
pub(super) fn open_submission(
    key: &SubjectKey,
    application: &ApplicationRecord,
) -> Result<Submission, ApplicationError> {
    let plaintext = zeroize::Zeroizing::new(pii::open(
        key,
        &application.sealed_submission,
        &context(&application.subject, &application.id, "submission"),
    )?);
    serde_json::from_slice(&plaintext).map_err(|e| Broken::Sealed("submission", e).into())
}

impl Applications {
    /// The business logic over these parts.
    pub fn new(
        store: Arc<dyn StateStore>,
        keys: Arc<dyn SubjectKeys>,
        audit: AuditLog,
        secrets: IssuerSecrets,
        settings: IssuanceSettings,
        checks: CheckSuite,
        service: ServiceSettings,
    ) -> Result<Self, ApplicationError> {
        let schema_json: serde_json::Value =
            serde_json::from_str(APPLICATION_SCHEMA).map_err(Broken::ApplicationSchema)?;
        let schema = jsonschema::validator_for(&schema_json)
            .map_err(|e| Broken::SchemaCompile(e.to_string()))?;
        let IssuerSecrets { key, secret } = secrets;
        let webhooks = Arc::new(Webhooks::new(Arc::clone(&store), service.webhooks)?);
        let index_key = secret.association_index_key();
        let open = super::quota::OpenApplications::load(
            store.as_ref(),
            service.open_applications_per_holder,
        )?;
        let highest_list = store
            .max_status_index()?
            .map_or(0, |i| i / MIN_ENTRIES as u64 + 1);
        Ok(Self {
            store,
            keys,
            audit,
            signer: IssuerSigner::new(key),
            secret,
            settings,
            checks: Arc::new(checks),
            index_key,
            schema,
            status_lists: tokio::sync::Mutex::new(HashMap::new()),
            highest_list: highest_list.into(),
            events: Events::new(service.events),
            webhooks,
            retention: service.retention,
            erasure: tokio::sync::Mutex::new(()),
            open,
        })
    }

    /// The issuer's DID.
    pub fn issuer(&self) -> &DidKey {
        self.signer.did()
    }

    /// How many credentials and status lists the signing key has signed since start (each
    /// after the audit entry naming it).
    pub fn signatures(&self) -> u64 {
        self.signer.signatures()
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
    pub(super) fn announce(&self, application: &ApplicationRecord) {
        self.open.update(application);
        self.events.publish(StateChange::current(application));
    }

    /// Log `events`, then `store` the application they describe; then record the checks'
    /// `traces` in the indexes, or, when either write fails, give back what the checks consumed.
    pub(super) async fn log_and_store(
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
    pub(super) fn commit_traces(&self, traces: &Traces) {
        let result = (|| -> Result<(), StateError> {
            self.store
                .record_associations(&traces.associations, &traces.holder)?;
            if let Some(l) = &traces.liveness {
                self.store.record_liveness_answer(&l.digest, &l.answer)?;
                self.store
                    .record_frame_hashes(&l.answer.application, &l.hashes)?;
                self.store
                    .record_frame_sender(&l.frames, &l.answer.application)?;
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
    pub(super) fn abandon_traces(&self, traces: &Traces) {
        if let (Some(l), Some(challenges)) = (&traces.liveness, self.checks.challenges()) {
            challenges.release(l.answer.challenge.id, l.digest);
        }
    }

    pub(super) async fn record_decision(
        &self,
        application: &mut ApplicationRecord,
        decision: DecisionRecord,
        now: DateTime<Utc>,
    ) -> Result<(), ApplicationError> {
        self.audit
            .append(&decision_event(&self.secret, &application.id, &decision))
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

    /// The data key of `subject`; [`ApplicationError::Erased`] once destroyed.
    pub(super) fn subject_key(&self, subject: &str) -> Result<SubjectKey, ApplicationError> {
        if let Some(key) = self.keys.get(subject)? {
            return Ok(key);
        }
        // No key: erased, or (an erasure interrupted before it was recorded) being erased.
        self.store
            .subject(subject)?
            .ok_or(Broken::Missing("the application's subject"))?;
        Err(ApplicationError::Erased)
    }
}

/// The audit event recording `record` on application `id`.
pub(super) fn check_event(id: &str, record: &CheckRecord) -> AuditEvent {
    AuditEvent::CheckCompleted {
        application: id.to_owned(),
        check: record.check,
        outcome: record.outcome,
        reasons: record.wire_reasons(),
        data_version: record.data_version.clone(),
    }
}

/// The audit event recording `decision` on application `id`, its reviewer named by commitment.
pub(super) fn decision_event(
    commitments: &IssuerSecret,
    id: &str,
    decision: &DecisionRecord,
) -> AuditEvent {
    AuditEvent::Decision {
        application: id.to_owned(),
        level: decision.level,
        action: decision.action,
        tier: decision.tier,
        reasons: decision.reasons.clone(),
        reviewer: decision.reviewer.as_deref().map(|r| commitments.staff(r)),
    }
}

/// The state a decision moves an application to, with the decision recorded on it.
pub(super) fn apply_decision(
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

pub(super) fn conflict(e: StateError) -> ApplicationError {
    match e {
        StateError::Conflict => {
            ApplicationError::WrongState("the application changed concurrently; retry".into())
        }
        other => other.into(),
    }
}

//! Submission: a new application validated, sealed, checked and decided; documents uploaded
//! when a reviewer asked for them, and the application checked again.

use std::sync::Arc;

use kyc_core::DidKey;

use chrono::{DateTime, Utc};
use kyc_core::audit_event::AuditEvent;

use super::context::{apply_decision, check_event, conflict, decision_event, Applications};
use super::context::{context, LivenessTrace, Traces};
use super::error::{ApplicationError, Broken};
use super::images;
use super::views::ApplicationView;
use crate::checks::biometric::perceptual::{self, FrameHashes};
use crate::checks::biometric::{submission_frame_digests, submission_frames, PriorAnswer};
use crate::checks::country_risk::{association_keys, AssociationKind};
use crate::checks::CheckContext;
use crate::events::StateChange;
use crate::model::name;
use crate::model::{
    ApplicationRecord, ApplicationState, DecisionRecord, Identity, LivenessAnswer, SubjectRecord,
    Submission, VendorPending, UPLOADABLE,
};
use crate::pii::{self, SubjectKey};
use crate::state::StateStore;

impl Applications {
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
        check_identity_text(&submission.identity)?;
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
        let submission = images_checked(self.validate(body)?).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let reservation = self.open.reserve(&submission.holder, &id)?;
        let subject_key = SubjectKey::generate();
        let subject = SubjectRecord {
            id: uuid::Uuid::new_v4().to_string(),
            created_at: now,
            erased_at: None,
        };
        let plaintext =
            serde_json::to_vec(&submission).map_err(|e| Broken::Encode("submission", e))?;
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
            credentials: Vec::new(),
            revoked: None,
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
        // The key is durable before anything it seals is stored. Should the submission not be
        // stored, the key is destroyed again (a crash in between leaves a key file that opens
        // nothing stored).
        self.keys.insert(&subject.id, &subject_key)?;
        let stored = self
            .log_and_store(&events, &traces, || {
                Ok(self.store.insert_submission(&subject, &application)?)
            })
            .await;
        if let Err(e) = stored {
            if let Err(destroy) = self.keys.destroy(&subject.id) {
                tracing::error!(error = %destroy, "destroying an unused subject key failed");
            }
            return Err(e);
        }
        reservation.keep();
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
            Some((set, each)) => (Some(*set), each.clone()),
            None => (None, Vec::new()),
        };
        let suite = Arc::clone(&self.checks);
        let store = Arc::clone(&self.store);
        let owned = submission.clone();
        let id = application.id.clone();
        // The frames' perceptual hashes take decoding them: on the blocking thread too.
        let (outcome, hashes) = tokio::task::spawn_blocking(move || {
            let hashes = if suite.challenges().is_some() {
                submission_frame_hashes(&owned)
            } else {
                FrameHashes::default()
            };
            let prior = prior_answer(store.as_ref(), &id, digest, &frames, &hashes)?;
            let ctx = CheckContext {
                now,
                shared: &shared,
                cleared: &cleared,
                liveness: &prior,
            };
            Ok::<_, ApplicationError>((suite.run(&owned, ctx), hashes))
        })
        .await
        // Not the panic's text: it may quote the input.
        .map_err(|_| Broken::CheckTask)??;
        let outcome = outcome.ok_or_else(|| ApplicationError::from(Broken::NoPolicy))?;
        let frames = digests.map(|(_, each)| each).unwrap_or_default();
        let traces = Traces {
            holder: submission.holder.clone(),
            associations: bytes,
            liveness: digest.zip(outcome.answered).map(|(digest, challenge)| {
                let answer = LivenessAnswer {
                    application: application.id.clone(),
                    challenge,
                };
                let hashes = hashes.frames.iter().map(|h| h.0).collect();
                LivenessTrace {
                    digest,
                    answer,
                    frames,
                    hashes,
                }
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
            .ok_or_else(|| ApplicationError::from(Broken::NoPolicy))?;
        application.checks = checks;
        let decision = crate::risk::decide(&application.checks, &policy.into(), now);
        events.extend(
            application
                .checks
                .iter()
                .map(|record| check_event(&application.id, record)),
        );
        events.push(decision_event(&self.secret, &application.id, &decision));
        Ok((decision, traces))
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
                .map_err(|e| Broken::Sealed("submission", e))?;
        for (name, value) in additions {
            merged[name] = value.clone();
        }
        let submission = images_checked(self.validate(&merged)?).await?;
        let plaintext =
            serde_json::to_vec(&submission).map_err(|e| Broken::Encode("submission", e))?;
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
}

/// The names by [`name::check_name`], the other free text by [`name::check_text`]: nothing
/// invisible, reordering or punctuated reaches a check or a credential. The error names the
/// field and the rule, never the value.
fn check_identity_text(identity: &Identity) -> Result<(), ApplicationError> {
    let refuse = |field: &str, problem: name::NameProblem| {
        ApplicationError::BadRequest(format!("identity.{field} {problem}"))
    };
    name::check_name(&identity.given_name).map_err(|p| refuse("givenName", p))?;
    name::check_name(&identity.family_name).map_err(|p| refuse("familyName", p))?;
    let mut texts: Vec<(String, &serde_json::Value)> =
        identity.other.iter().map(|(k, v)| (k.clone(), v)).collect();
    if let Some(residence) = &identity.residence {
        texts.extend(
            residence
                .other
                .iter()
                .map(|(k, v)| (format!("residence.{k}"), v)),
        );
    }
    for (field, value) in texts {
        if let Some(text) = value.as_str() {
            name::check_text(text).map_err(|p| refuse(&field, p))?;
        }
    }
    Ok(())
}

/// `submission` once its images passed [`images::check_images`], on a blocking thread (a
/// submission may carry nineteen images to decode).
async fn images_checked(submission: Submission) -> Result<Submission, ApplicationError> {
    tokio::task::spawn_blocking(move || images::check_images(&submission).map(|()| submission))
        .await
        // Not the panic's text: it may quote the input.
        .map_err(|_| Broken::CheckTask)?
}

/// The perceptual hashes of a submission's liveness frames (empty when it has none, or one
/// does not decode: the check then says so).
fn submission_frame_hashes(submission: &Submission) -> FrameHashes {
    submission_frames(submission)
        .and_then(|frames| perceptual::frame_hashes(&frames))
        .unwrap_or_default()
}

/// What the store knows of a frame set (`digest`, each frame's digest in `frames`, and their
/// perceptual `hashes`, mirror images' included): sent by another application (a replay,
/// exact, retouched or mirrored), answered by this one before (checked again), or never seen.
fn prior_answer(
    store: &dyn StateStore,
    application: &str,
    digest: Option<[u8; 32]>,
    frames: &[[u8; 32]],
    hashes: &FrameHashes,
) -> Result<PriorAnswer, ApplicationError> {
    let senders = store.frame_senders(frames)?;
    if senders.iter().any(|s| *s != application) {
        return Ok(PriorAnswer::OtherApplication);
    }
    if !hashes.frames.is_empty() {
        let raw: Vec<u128> = hashes.lookup().map(|h| h.0).collect();
        let similar =
            store.similar_frame_senders(&raw, perceptual::REPLAY_DISTANCE, application)?;
        if !similar.is_empty() {
            return Ok(PriorAnswer::OtherApplication);
        }
    }
    Ok(
        match digest.map(|d| store.liveness_answer(&d)).transpose()? {
            Some(Some(answer)) if answer.application == application => {
                PriorAnswer::ThisApplication(answer.challenge)
            }
            Some(Some(_)) => PriorAnswer::OtherApplication,
            _ => PriorAnswer::None,
        },
    )
}

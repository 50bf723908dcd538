//! The subject's data: everything held about them (GDPR Art. 15 access), and erasure once the
//! retention period allows it (crypto-shredding).

use kyc_core::KycTier;
use serde::Serialize;

use chrono::{DateTime, Utc};
use kyc_core::audit_event::AuditEvent;

use super::context::open_submission;
use super::context::{conflict, Applications};
use super::error::{ApplicationError, Broken};
use crate::checks::biometric::submission_frame_digests;
use crate::checks::country_risk::association_keys;
use crate::model::{
    ApplicationRecord, ApplicationState, CheckRecord, DecisionRecord, Revocation, SubjectRecord,
    Submission,
};
use crate::pii::SubjectKey;

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
    pub tier: KycTier,
    /// Issued at.
    pub issued_at: DateTime<Utc>,
    /// Set once revoked.
    #[schema(required = true)]
    pub revoked: Option<Revocation>,
}

impl Applications {
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
        if record.erased_at.is_some() {
            return Err(ApplicationError::Erased);
        }
        let key = self.subject_key(subject)?;
        let mut export = SubjectExport {
            subject: record.id.clone(),
            created_at: record.created_at,
            applications: Vec::with_capacity(applications.len()),
            credentials: Vec::new(),
        };
        for application in applications {
            let submission = open_submission(&key, &application)?;
            for id in &application.credential_ids() {
                let credential = self.store.credential(id)?.ok_or_else(|| {
                    ApplicationError::from(Broken::Missing("an issued credential"))
                })?;
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
    ///
    /// The key is destroyed in the key store ([`crate::subject_keys`]: overwritten, unlinked,
    /// synced) before the erasure is recorded on the subject, so a crash in between leaves an
    /// erased key, never a recorded erasure with its key still on disk.
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
        let already =
            || ApplicationError::WrongState("the subject's data has already been erased".into());
        if current.erased_at.is_some() {
            return Err(already());
        }
        let until = self.last_activity(&current)? + self.retention;
        if now < until {
            return Err(ApplicationError::RetentionNotOver { until });
        }
        // What the indexes hold of the subject, found while its data can still be read.
        let key: SubjectKey = self.keys.get(subject)?.ok_or_else(already)?;
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
                by: self.secret.staff(admin),
            })
            .await?;
        for (application, holder, associations, frames) in &traces {
            self.store
                .forget_traces(subject, application, holder, associations, frames)?;
        }
        drop(key);
        self.keys.destroy(subject)?;
        let next = SubjectRecord {
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
            for id in &application.credential_ids() {
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
}

//! Credentials: issued when the holder collects an approved application, revoked by an admin,
//! and the signed status lists that say which are revoked.

use std::sync::PoisonError;

use chrono::Duration;
use kyc_core::credential::{CheckKind, Evidence};
use kyc_core::status_list::MIN_ENTRIES;
use kyc_core::{KycSubject, KycTier};
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, AuditEvent};

use super::context::{conflict, Applications};
use super::context::{context, open_submission, SignedStatusList};
use super::error::{ApplicationError, Broken};
use crate::issuance::{self, StatusSlot};
use crate::model::{
    age_on, ApplicationRecord, ApplicationState, CheckRecord, CredentialRecord, Revocation,
    Submission,
};
use crate::pii::{self, SubjectKey};

/// A collected credential, in both securing forms.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectedCredential {
    /// `urn:uuid:…`.
    pub id: String,
    /// Tier.
    pub tier: KycTier,
    /// `vc+jwt`.
    pub jwt: String,
    /// `vc+sd-jwt` with every disclosure.
    pub sd_jwt: String,
}

impl Applications {
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
                    ApplicationError::from(Broken::Missing("an issued application's credential"))
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
                serde_json::from_slice(&forms).map_err(|e| Broken::Sealed("credential", e).into())
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
        let decision = current.decision.clone().ok_or_else(|| {
            ApplicationError::from(Broken::Missing("an approved application's decision"))
        })?;
        let tier = decision
            .tier
            .ok_or_else(|| ApplicationError::from(Broken::Missing("an approval's tier")))?;
        let submission = open_submission(key, &current)?;
        let index = self.store.next_status_index()?;
        let (list, position) = (index / MIN_ENTRIES as u64 + 1, index % MIN_ENTRIES as u64);
        self.highest_list
            .fetch_max(list, std::sync::atomic::Ordering::SeqCst);
        let slot = StatusSlot {
            list_url: self.status_list_url(list),
            index: position,
        };
        let validity = self.validity(&current.jurisdiction, tier);
        let subject = attested_claims(&current.holder, tier, &submission, now);
        let issued = issuance::issue(
            &self.key,
            subject,
            now,
            validity,
            Some(&slot),
            evidence(&current.checks),
        )
        .map_err(|e| Broken::Signing("a credential", e))?;
        let collected = CollectedCredential {
            id: issued.credential.id.clone(),
            tier,
            jwt: issued.jwt,
            sd_jwt: issued.sd_jwt,
        };
        let forms = serde_json::to_vec(&collected).map_err(|e| Broken::Encode("credential", e))?;
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

    /// How long a credential of `tier` under `jurisdiction` is valid: the configured validity,
    /// capped by the jurisdiction's policy.
    fn validity(&self, jurisdiction: &str, tier: KycTier) -> Duration {
        let t = usize::from(tier.as_u8());
        let policy_cap = self
            .checks
            .policy(jurisdiction)
            .map_or(u32::MAX, |p| p.credential.max_validity_days[t]);
        Duration::days(self.settings.validity_days[t].min(policy_cap).into())
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
        .map_err(|e| Broken::Signing("a status list", e))?;
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

//! Credentials: issued when the holder collects an approved application, revoked by an admin,
//! and the signed status lists that say which are revoked.

use chrono::Duration;
use kyc_core::credential::{CheckKind, Evidence};
use kyc_core::status_list::MIN_ENTRIES;
use kyc_core::{DidKey, KycSubject, KycTier};
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
use crate::signer::Draft;

/// A collected credential, in both securing forms.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectedCredential {
    /// `urn:uuid:…`: the id the issuer knows it by (in the `vc+jwt` form; the `vc+sd-jwt` form
    /// carries none).
    pub id: String,
    /// Tier.
    pub tier: KycTier,
    /// `vc+jwt`.
    pub jwt: String,
    /// `vc+sd-jwt` with every disclosure.
    pub sd_jwt: String,
}

/// A batch of credentials for one approval, one per holder key proven, in the proofs' order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectedBatch {
    /// Tier.
    pub tier: KycTier,
    /// The credentials, the `n`-th bound to the `n`-th key.
    pub credentials: Vec<CollectedCredential>,
}

/// The most credentials one collect issues (the most keys it takes).
pub const MAX_BATCH: usize = 50;
/// The most credentials one approval is issued over its life, in all its batches: enough for a
/// few hundred shops, and a bound on what one holder takes from the status lists.
pub const MAX_CREDENTIALS_PER_APPROVAL: usize = 1000;

/// Midnight UTC of `t`'s day: credential times are rounded to the day, so that the credentials
/// of a batch (and of everyone issued the same day) share their times and none is told apart
/// by the second it was signed (`docs/design.md` "Privacy at checkout").
pub fn day_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(t, |d| d.and_utc())
}

impl Applications {
    /// The holder collects a batch of credentials of an approved application, one bound to each
    /// of `keys` (whose possession the caller has checked, `kyc_core::key_proof`). Every
    /// collect issues a new batch for the same approval, valid over the same days as the first
    /// (re-issuance, logged as `credential_issued` events like the first), until the approval
    /// is revoked or has issued [`MAX_CREDENTIALS_PER_APPROVAL`].
    pub async fn collect(
        &self,
        id: &str,
        holder: &str,
        keys: &[DidKey],
        now: DateTime<Utc>,
    ) -> Result<CollectedBatch, ApplicationError> {
        let current = self.for_holder(id, holder)?;
        let key = self.subject_key(&current.subject)?;
        if !matches!(
            current.state,
            ApplicationState::Approved | ApplicationState::Issued
        ) {
            return Err(ApplicationError::WrongState(
                "the application is not approved".into(),
            ));
        }
        if current.revoked.is_some() {
            return Err(ApplicationError::WrongState(
                "the application's credentials are revoked".into(),
            ));
        }
        if keys.is_empty() || keys.len() > MAX_BATCH {
            return Err(ApplicationError::BadRequest(format!(
                "a batch is 1 to {MAX_BATCH} credentials"
            )));
        }
        if current.credential_ids().len() + keys.len() > MAX_CREDENTIALS_PER_APPROVAL {
            return Err(ApplicationError::WrongState(
                "the approval has issued all the credentials it may; apply again".into(),
            ));
        }
        self.issue(current, &key, keys, now).await
    }

    async fn issue(
        &self,
        current: ApplicationRecord,
        key: &SubjectKey,
        holder_keys: &[DidKey],
        now: DateTime<Utc>,
    ) -> Result<CollectedBatch, ApplicationError> {
        let decision = current.decision.clone().ok_or_else(|| {
            ApplicationError::from(Broken::Missing("an approved application's decision"))
        })?;
        let tier = decision
            .tier
            .ok_or_else(|| ApplicationError::from(Broken::Missing("an approval's tier")))?;
        let submission = open_submission(key, &current)?;
        // Every batch of an approval is valid over the days of the first: re-issuance renews
        // the keys, never the attestation.
        let first_issued = match &current.credential {
            None => now,
            Some(first) => {
                self.store
                    .credential(first)?
                    .ok_or_else(|| {
                        ApplicationError::from(Broken::Missing(
                            "an issued application's credential",
                        ))
                    })?
                    .issued_at
            }
        };
        let first_day = day_floor(first_issued);
        let valid_until = first_day + self.validity(&current.jurisdiction, tier);
        // Not before the current key took over: a batch re-issued after a rotation is dated
        // within the new key's window, and ends when the first batch does.
        let valid_from = first_day.max(
            self.settings
                .key_since
                .map_or(DateTime::<Utc>::MIN_UTC, day_floor),
        );
        let validity = valid_until - valid_from;
        if now >= valid_until {
            return Err(ApplicationError::WrongState(
                "the approval's credentials have expired; apply again".into(),
            ));
        }
        let indexes = self.store.allocate_status_indexes(holder_keys.len())?;
        let evidence = evidence(&current.checks);
        let mut drafts = Vec::with_capacity(holder_keys.len());
        let mut events = Vec::with_capacity(holder_keys.len());
        for (holder_key, &index) in holder_keys.iter().zip(&indexes) {
            let (list, position) = (index / MIN_ENTRIES as u64 + 1, index % MIN_ENTRIES as u64);
            self.highest_list
                .fetch_max(list, std::sync::atomic::Ordering::SeqCst);
            let slot = StatusSlot {
                list_url: self.status_list_url(list),
                index: position,
            };
            let subject = attested_claims(holder_key.as_str(), tier, &submission, now);
            let drafted = issuance::draft(
                self.signer.did(),
                subject,
                valid_from,
                validity,
                Some(&slot),
                evidence.clone(),
            )
            .map_err(|e| Broken::Signing("a credential", e))?;
            let credential_id = drafted
                .credential
                .id
                .clone()
                .ok_or_else(|| ApplicationError::from(Broken::Missing("a credential's id")))?;
            events.push(AuditEvent::CredentialIssued {
                application: current.id.clone(),
                credential: self.secret.credential(&credential_id),
                credential_hash: drafted.jwt.digest(),
                sd_jwt_hash: drafted.sd_jwt.jwt.digest(),
                tier,
                status_list: slot.list_url.clone(),
                status_index: position,
            });
            drafts.push((credential_id, index, drafted));
        }
        // Logged first, then signed: every credential the key signs is in the log.
        let unsigned = drafts
            .iter()
            .flat_map(|(_, _, d)| [Draft::Jws(d.jwt.clone()), Draft::SdJwt(d.sd_jwt.clone())])
            .collect();
        let mut signed = self
            .signer
            .log_then_sign(&self.audit, &events, unsigned)
            .await?
            .into_iter();
        let mut batch = Vec::with_capacity(drafts.len());
        let mut records = Vec::with_capacity(drafts.len());
        for (id, index, _) in drafts {
            let (Some(jwt), Some(sd_jwt)) = (signed.next(), signed.next()) else {
                return Err(Broken::Missing("a signed credential").into());
            };
            let collected = CollectedCredential {
                id,
                tier,
                jwt,
                sd_jwt,
            };
            let forms =
                serde_json::to_vec(&collected).map_err(|e| Broken::Encode("credential", e))?;
            records.push(CredentialRecord {
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
            });
            batch.push(collected);
        }
        let mut next = current.clone();
        next.state = ApplicationState::Issued;
        let mut ids = current.credential_ids();
        ids.extend(batch.iter().map(|c| c.id.clone()));
        next.credential = ids.first().cloned();
        next.credentials = ids;
        next.updated_at = now;
        self.store
            .record_issuance(&records, &current, &next)
            .map_err(conflict)?;
        if current.state != next.state {
            self.announce(&next);
        }
        Ok(CollectedBatch {
            tier,
            credentials: batch,
        })
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

    /// Revoke a credential (admin), and with it the approval it was issued under: every
    /// credential of that application, in every batch, is revoked, and no further batch is
    /// issued (a holder has one credential per shop, so revoking one alone would leave the
    /// others working). Revoking an approval already revoked is a conflict; one whose
    /// revocation was cut short (a crash) is finished.
    pub async fn revoke(
        &self,
        id: &str,
        admin: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApplicationError> {
        let named = self
            .store
            .credential(id)?
            .ok_or(ApplicationError::NotFound)?;
        let application = self
            .store
            .application(&named.application)?
            .ok_or_else(|| ApplicationError::from(Broken::Missing("a credential's application")))?;
        // The application first: from here on no batch is issued (a collect that read the
        // application before this fails its compare-and-swap).
        let application = match application.revoked {
            Some(_) => application,
            None => {
                let mut next = application.clone();
                next.revoked = Some(now);
                self.store
                    .replace_application(&application, &next)
                    .map_err(conflict)?;
                next
            }
        };
        let mut ids = application.credential_ids();
        if !ids.contains(&named.id) {
            ids.push(named.id.clone());
        }
        // Held until the store says revoked, so that no status list is published between the
        // log's revocation and the store's (it would lack a bit the log says is set).
        let mut cache = self.status_lists.lock().await;
        let mut pending = Vec::new();
        for credential in ids {
            let record = self.store.credential(&credential)?.ok_or_else(|| {
                ApplicationError::from(Broken::Missing("an issued application's credential"))
            })?;
            if record.revoked.is_none() {
                pending.push(record);
            }
        }
        if pending.is_empty() {
            return Err(ApplicationError::WrongState(
                "the credential is already revoked".into(),
            ));
        }
        let events: Vec<AuditEvent> = pending
            .iter()
            .map(|c| AuditEvent::CredentialRevoked {
                credential: self.secret.credential(&c.id),
                reason: reason.into(),
                by: self.secret.staff(admin),
            })
            .collect();
        self.audit.append_all(&events).await?;
        let mut lists = std::collections::BTreeSet::new();
        for current in pending {
            let mut next = current.clone();
            next.revoked = Some(Revocation {
                at: now,
                reason: reason.into(),
                by: admin.into(),
            });
            self.store
                .replace_credential(&current, &next)
                .map_err(conflict)?;
            lists.insert(current.status_index / MIN_ENTRIES as u64 + 1);
        }
        for list in lists {
            cache.remove(&list);
        }
        Ok(())
    }

    /// URL of status list `list`.
    pub fn status_list_url(&self, list: u64) -> String {
        format!("{}/v1/status-lists/{list}", self.settings.public_url)
    }

    /// The signed status list `list` (1-based), re-signed when it changed or nears expiry.
    /// Each signing is logged first (`status_list_published`, naming the list's digest and how
    /// many bits it sets), so the auditor can tell whether a list a merchant holds is one the
    /// log implies (`kyc-verify audit status-list`).
    pub async fn status_list(
        &self,
        list: u64,
        now: DateTime<Utc>,
    ) -> Result<SignedStatusList, ApplicationError> {
        if list == 0 || list > self.highest_list.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ApplicationError::NotFound);
        }
        let mut cache = self.status_lists.lock().await;
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
        let url = self.status_list_url(list);
        let draft = issuance::status_list(
            self.signer.did(),
            &url,
            &revoked,
            now,
            self.settings.status_list_validity,
        )
        .map_err(|e| Broken::Signing("a status list", e))?;
        let event = AuditEvent::StatusListPublished {
            status_list: url,
            list_hash: draft.digest(),
            revoked: revoked.len() as u64,
        };
        let jwt = self
            .signer
            .log_then_sign(&self.audit, &[event], vec![Draft::Jws(draft)])
            .await?
            .pop()
            .ok_or(Broken::Missing("a signed status list"))?;
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
            // Rounded like the validity, or the checks' exact times would tie every
            // credential of the approval together.
            Some(Evidence::new(kind, r.outcome, day_floor(r.at)))
        })
        .collect()
}

//! The KYC checks an application goes through. Each yields an outcome (clear / consider /
//! rejected / not performed) with machine-readable reasons; a check with no provider
//! configured says *not performed*, which the risk engine never counts as passed.
//!
//! Providers plug in through [`Check`]; [`CheckSuite`] runs an application's checks in order
//! under its jurisdiction's policy ([`crate::jurisdiction`]): identity data, screening, the
//! document, biometrics, risk (country and association), proof of address, and the checks the
//! policy reserves for an external provider. A check with no provider is [`NotConfigured`].

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use serde::Deserialize;

use crate::jurisdiction::{JurisdictionPolicy, Jurisdictions};
use crate::model::{age_on, CheckRecord, MatchDetail, Reason, Submission};

mod check;

pub mod biometric;
pub mod country_risk;
pub mod document;
pub mod screening;

pub use check::{Check, NotConfigured};
use country_risk::{AssociationKind, FatfLists};

/// Jurisdiction policies and risk data.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksConfig {
    /// A directory of jurisdiction policy files (`*.toml`) adding to or replacing the embedded
    /// ones (`issuer/policies/`).
    pub policies_dir: Option<PathBuf>,
    /// The FATF lists in force (`issuer/data/fatf/*.toml` format); the embedded ones if unset.
    pub fatf_file: Option<PathBuf>,
    /// Age in days after which the FATF lists are a start-up warning. The FATF meets three
    /// times a year, so lists older than about five months have likely been superseded.
    pub fatf_stale_after_days: u32,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self {
            policies_dir: None,
            fatf_file: None,
            fatf_stale_after_days: 150,
        }
    }
}

/// Oldest plausible age; an older birth date is a typing error or a fabrication.
const MAX_AGE_YEARS: u32 = 130;

/// The identity-data check under `policy`: the birth date is plausible, the holder is of age,
/// the fields the policy requires are present, and every ID number the policy names a scheme
/// for follows it. Reason codes name the field, never its value.
pub fn identity_check(
    submission: &Submission,
    policy: &JurisdictionPolicy,
    now: DateTime<Utc>,
) -> CheckRecord {
    let identity = &submission.identity;
    let born = identity.birth_date;
    let today = now.date_naive();
    let mut reasons = Vec::new();
    if born > today {
        reasons.push(Reason::BirthDateInFuture);
    } else if today.year() - born.year() > MAX_AGE_YEARS as i32 {
        reasons.push(Reason::BirthDateImplausible);
    } else if age_on(born, today) < i32::from(policy.min_age) {
        reasons.push(Reason::UnderMinimumAge);
    }
    for field in &policy.required_fields {
        let present = match field.as_str() {
            "residence" => identity.residence.is_some(),
            other => identity.other.contains_key(other),
        };
        if !present {
            reasons.push(Reason::Missing(snake(field)));
        }
    }
    for (field, scheme) in &policy.id_numbers {
        let Some(value) = identity.other.get(field).and_then(|v| v.as_str()) else {
            continue;
        };
        if let Err(e) = scheme.check(value, born) {
            reasons.push(Reason::IdNumber(snake(field), e));
        }
    }
    let outcome = if reasons.is_empty() {
        reasons.push(Reason::IdentityDataComplete);
        if !policy.id_numbers.is_empty() {
            reasons.push(Reason::IdNumbersValid);
        }
        CheckOutcome::Clear
    } else {
        CheckOutcome::Rejected
    };
    CheckRecord {
        data_version: Some(format!("policy:{}:{}", policy.code, policy.version)),
        ..CheckRecord::new(AuditCheck::Identity, outcome, reasons, now)
    }
}

/// `nationalId` → `national_id`.
fn snake(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The data embedded in the binary does not load (a build with a broken policy or FATF file).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedDataError {
    /// A jurisdiction policy.
    #[error(transparent)]
    Policy(#[from] crate::jurisdiction::PolicyFileError),
    /// The FATF lists.
    #[error(transparent)]
    Fatf(#[from] country_risk::FatfFileError),
}

/// What the checks of one application may need beyond the submission.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// When they run.
    pub now: DateTime<Utc>,
    /// The kinds of identity value another holder used too (the association index).
    pub shared: &'a [AssociationKind],
    /// Screening-list entities a reviewer cleared for this subject.
    pub cleared: &'a [String],
    /// What the store knows of the submission's liveness frames.
    pub liveness: &'a biometric::PriorAnswer,
}

/// What running the checks gives.
#[derive(Debug, Clone)]
pub struct SuiteOutcome {
    /// The check records, in order.
    pub records: Vec<CheckRecord>,
    /// The liveness challenge the frames answered, when the biometric check reached a verdict.
    pub answered: Option<biometric::LivenessChallenge>,
    /// A biometric vendor's pending request: its reference, and whether liveness was asked.
    pub pending: Option<(String, bool)>,
}

/// The checks an application goes through, in order, under its jurisdiction's policy.
#[derive(Debug)]
pub struct CheckSuite {
    jurisdictions: Arc<Jurisdictions>,
    fatf: Arc<FatfLists>,
    screening: Option<(Arc<screening::Screener>, screening::ScreeningSettings)>,
    biometric: Option<biometric::BiometricCheck>,
    address: Box<dyn Check>,
}

impl CheckSuite {
    /// The suite over these policies and lists; screening, biometric and address checks not
    /// configured.
    pub fn new(jurisdictions: Arc<Jurisdictions>, fatf: Arc<FatfLists>) -> Self {
        Self {
            jurisdictions,
            fatf,
            screening: None,
            biometric: None,
            address: Box::new(NotConfigured(AuditCheck::Address)),
        }
    }

    /// The embedded policies and FATF lists, nothing else configured.
    pub fn embedded() -> Result<Self, EmbeddedDataError> {
        let jurisdictions = Jurisdictions::embedded()?;
        let fatf = FatfLists::embedded()?;
        Ok(Self::new(Arc::new(jurisdictions), Arc::new(fatf)))
    }

    /// With this biometric check; its liveness challenges are handed out when it runs.
    pub fn with_biometric(mut self, check: biometric::BiometricCheck) -> Self {
        self.biometric = Some(check);
        self
    }

    /// The biometric check, when configured.
    pub fn biometric(&self) -> Option<&biometric::BiometricCheck> {
        self.biometric.as_ref()
    }

    /// The liveness challenge registry, when a biometric provider runs.
    pub fn challenges(&self) -> Option<&Arc<biometric::ChallengeRegistry>> {
        self.biometric
            .as_ref()
            .filter(|b| b.is_performed())
            .map(biometric::BiometricCheck::challenges)
    }

    /// Screening against `screener`'s lists, `config.max_candidates` names scored per query;
    /// the hit threshold is each jurisdiction's (`thresholds.screening_hit`).
    pub fn with_screening(
        mut self,
        screener: Arc<screening::Screener>,
        config: screening::ScreeningSettings,
    ) -> Self {
        self.screening = Some((screener, config));
        self
    }

    /// The screener, when lists are configured.
    pub fn screener(&self) -> Option<&Arc<screening::Screener>> {
        self.screening.as_ref().map(|(s, _)| s)
    }

    /// The jurisdictions.
    pub fn jurisdictions(&self) -> &Jurisdictions {
        &self.jurisdictions
    }

    /// The policy of `code`.
    pub fn policy(&self, code: &str) -> Option<&JurisdictionPolicy> {
        self.jurisdictions.get(code)
    }

    /// The FATF lists in force.
    pub fn fatf(&self) -> &FatfLists {
        &self.fatf
    }

    /// Run every check on `submission`. `None` when its jurisdiction has no policy (refused at
    /// validation before it gets here).
    pub fn run(&self, submission: &Submission, ctx: CheckContext<'_>) -> Option<SuiteOutcome> {
        let policy = self.policy(&submission.jurisdiction)?;
        let now = ctx.now;
        let (biometric, answered, pending) = match &self.biometric {
            Some(check) => {
                let e = check.evaluate_in(submission, now, ctx.liveness);
                let record = CheckRecord::new(AuditCheck::Biometric, e.outcome, e.reasons, now);
                (record, e.answered, e.pending)
            }
            None => (
                NotConfigured(AuditCheck::Biometric).run(submission, now),
                None,
                None,
            ),
        };
        let mut records = vec![
            identity_check(submission, policy, now),
            self.screen(submission, policy, ctx),
            document_under(policy, submission, now),
            biometric,
            country_risk::risk_check(submission, &self.fatf, ctx.shared, now),
            self.address.run(submission, now),
        ];
        records.extend(policy.provider_checks.iter().map(|p| {
            CheckRecord::new(
                AuditCheck::Provider,
                CheckOutcome::NotPerformed,
                vec![Reason::NoProvider(p.code().to_owned())],
                now,
            )
        }));
        Some(SuiteOutcome {
            records,
            answered,
            pending,
        })
    }
}

impl CheckSuite {
    /// Screening under `policy`'s threshold, with the subject's clearances. The record names
    /// each open hit (`list/entity`) in its matches, so that a reviewer can clear it.
    fn screen(
        &self,
        submission: &Submission,
        policy: &JurisdictionPolicy,
        ctx: CheckContext<'_>,
    ) -> CheckRecord {
        let Some((screener, config)) = &self.screening else {
            return CheckRecord::new(
                AuditCheck::Screening,
                CheckOutcome::NotPerformed,
                vec![Reason::NoListsConfigured],
                ctx.now,
            );
        };
        let config = screening::ScreeningSettings {
            threshold: policy.thresholds.screening_hit,
            ..*config
        };
        let result = screener.current().screen_submission(submission, &config);
        let mut record = screening::check_record(&result, ctx.cleared, ctx.now);
        if record.outcome != CheckOutcome::Clear {
            let open: Vec<&screening::Hit> = result
                .hits
                .iter()
                .filter(|h| !ctx.cleared.contains(&h.key()))
                .collect();
            record.matches = open.iter().map(|h| h.key()).collect();
            record.match_details = open
                .iter()
                .map(|h| MatchDetail {
                    entry: h.key(),
                    score: h.score,
                    name: h.name.clone(),
                    evidence: h.reasons.clone(),
                })
                .collect();
        }
        record
    }
}

/// The document check, with the policy's accepted document types.
fn document_under(
    policy: &JurisdictionPolicy,
    submission: &Submission,
    now: DateTime<Utc>,
) -> CheckRecord {
    let mut record = document::DocumentCheck.run(submission, now);
    let doc_type = submission
        .document
        .get("type")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if !policy.accepts_document(doc_type) {
        if record.outcome != CheckOutcome::Rejected {
            record.reasons.clear();
        }
        record.outcome = CheckOutcome::Rejected;
        record.reasons.push(Reason::DocumentTypeNotAccepted);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(jurisdiction: &str, identity: serde_json::Value) -> Submission {
        serde_json::from_value(serde_json::json!({
            "jurisdiction": jurisdiction,
            "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "identity": identity,
            "document": {"type": "passport"}
        }))
        .unwrap()
    }

    fn identity(extra: serde_json::Value) -> serde_json::Value {
        let mut base = serde_json::json!({
            "givenName": "Hanako", "familyName": "Yamada", "birthDate": "1990-01-31",
            "nationality": "JP", "residence": {"country": "JP"}
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    fn run(jurisdiction: &str, extra: serde_json::Value) -> CheckRecord {
        let j = Jurisdictions::embedded().unwrap();
        let s = submission(jurisdiction, identity(extra));
        let now = "2026-11-26T12:00:00Z".parse().unwrap();
        identity_check(&s, j.get(jurisdiction).unwrap(), now)
    }

    #[test]
    fn identity_under_each_policy() {
        let r = run("JP", serde_json::json!({"nationalId": "1234 5678 9018"}));
        assert_eq!(r.outcome, CheckOutcome::Clear, "{:?}", r.reasons);
        assert_eq!(r.data_version.as_deref(), Some("policy:JP:2026-11-01"));

        let r = run("JP", serde_json::json!({"nationalId": "123456789012"}));
        assert_eq!(
            (r.outcome, r.wire_reasons()),
            (
                CheckOutcome::Rejected,
                vec!["national_id_check_digit_invalid".to_owned()]
            )
        );
        let r = run("JP", serde_json::json!({}));
        assert_eq!(r.reasons, ["national_id_missing"]);

        let r = run(
            "CN",
            serde_json::json!({"nationalId": "11010519491231002X", "phone": "+8613800000000"}),
        );
        assert_eq!(r.reasons, ["national_id_birth_date_mismatch"]);
        let r = run(
            "CN",
            serde_json::json!({"birthDate": "1949-12-31", "nationalId": "11010519491231002X"}),
        );
        assert_eq!(r.reasons, ["phone_missing"]);

        let r = run("US", serde_json::json!({"taxId": "666-12-3456"}));
        assert_eq!(r.reasons, ["tax_id_never_issued"]);
        let r = run("EU", serde_json::json!({"birthDate": "2010-01-01"}));
        assert_eq!(r.reasons, ["under_minimum_age"]);
        let r = run("EU", serde_json::json!({"birthDate": "1850-01-01"}));
        assert_eq!(r.reasons, ["birth_date_implausible"]);
        let r = run("EU", serde_json::json!({"birthDate": "2030-01-01"}));
        assert_eq!(r.reasons, ["birth_date_in_future"]);
        assert_eq!(
            run("EU", serde_json::json!({})).outcome,
            CheckOutcome::Clear
        );
    }

    #[test]
    fn documents_the_jurisdiction_does_not_accept_are_rejected() {
        let j = Jurisdictions::embedded().unwrap();
        let mut s = submission("default", identity(serde_json::json!({})));
        s.document = serde_json::json!({"type": "driving_licence", "image": "AAAA"});
        let now = Utc::now();
        let r = document_under(j.get("default").unwrap(), &s, now);
        assert_eq!(
            (r.outcome, r.wire_reasons()),
            (
                CheckOutcome::Rejected,
                vec!["document_type_not_accepted".to_owned()]
            )
        );
        let r = document_under(j.get("US").unwrap(), &s, now);
        assert_eq!(r.outcome, CheckOutcome::NotPerformed);
    }

    #[test]
    fn provider_checks_are_not_performed_without_a_provider() {
        let suite = CheckSuite::embedded().unwrap();
        let s = submission("CN", identity(serde_json::json!({})));
        let ctx = CheckContext {
            now: Utc::now(),
            shared: &[],
            cleared: &[],
            liveness: &biometric::PriorAnswer::None,
        };
        let records = suite.run(&s, ctx).unwrap().records;
        let provider = records
            .iter()
            .find(|r| r.check == AuditCheck::Provider)
            .unwrap();
        assert_eq!(provider.outcome, CheckOutcome::NotPerformed);
        assert_eq!(provider.reasons, ["cn_mobile_verification_no_provider"]);
        assert!(suite
            .run(&submission("XX", identity(serde_json::json!({}))), ctx)
            .is_none());
    }
}

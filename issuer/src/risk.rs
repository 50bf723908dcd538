//! The risk engine: check outcomes in; a score, a level, an action and the tier reached out,
//! every contribution listed as a reason. Pure and deterministic: the same checks under the same
//! policy give the same decision, byte for byte.
//!
//! # Scoring
//! Each reason of each finding (a check *rejected* or *consider*) contributes points
//! ([`points`]); a check contributes the sum of its reasons', capped at 100, and the score is the
//! sum over checks. The level comes from the jurisdiction's thresholds: high when the severe
//! findings (the 100-point ones: fraud, a prohibited customer) reach `high_risk`, medium when the
//! score reaches `medium_risk`, else low. However many *consider* findings add up, they make a
//! case medium, never high: each is a question for a person, not evidence of fraud.
//!
//! A check that was *not performed* is a gap, not a finding: it adds no points (two absent
//! providers are not evidence of fraud), but some gaps need a person ([`needs_person`]), which
//! makes the level at least medium.
//!
//! | what | points | why |
//! |---|---|---|
//! | a confirmed sanctions match, a FATF call-for-action country, MRZ arithmetic or data that contradicts the submission, a failed face match or liveness | 100 | fraud or a prohibited customer: reject and report |
//! | any other *rejected* reason not listed below | 100 | |
//! | an MRZ that does not parse, an expired document, one the jurisdiction does not accept, a type that contradicts the MRZ | 40 | remediable: a person may ask for another document |
//! | a PEP match | 50 | enhanced due diligence needs a person |
//! | a FATF increased-monitoring country | 40 | |
//! | the same document number, phone or address used by another holder | 30 | |
//! | any other *consider* reason | 40 | |
//!
//! | gap | needs a person | why |
//! |---|---|---|
//! | identity or screening *not performed* | yes | tier 1 needs them; a person decides what their absence means |
//! | a provider check *not performed* (China's mobile-number verification) | yes | the policy requires it |
//! | biometrics *not performed* | under `review`; not under `cap_tier` | per policy; under `cap_tier` the tier stops at 1 |
//! | document, risk or address *not performed* | no | the tier reached already stops below what needs them |
//!
//! # Action
//! High → reject (and report). Otherwise, a reason that makes the customer ineligible (under
//! age, an implausible birth date, a required field missing, an ID number that is not one) →
//! reject, without a report: nothing suspicious, nothing to earn. Medium → manual review. Low →
//! approve at the highest tier whose required checks all came back clear.

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{required_checks, AuditCheck, CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::KycTier;

use crate::jurisdiction::{BiometricNotPerformed, JurisdictionPolicy};
use crate::model::{CheckRecord, DecisionRecord, Reason};

/// The parts of a jurisdiction's policy the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskPolicy {
    /// Score at or above which a case is medium risk.
    pub medium_risk: u32,
    /// Score at or above which a case is high risk.
    pub high_risk: u32,
    /// What a missing biometric check means.
    pub biometric_not_performed: BiometricNotPerformed,
}

impl From<&JurisdictionPolicy> for RiskPolicy {
    fn from(p: &JurisdictionPolicy) -> Self {
        Self {
            medium_risk: p.thresholds.medium_risk,
            high_risk: p.thresholds.high_risk,
            biometric_not_performed: p.biometric_not_performed,
        }
    }
}

/// The highest tier whose required checks all came back clear.
pub fn tier_reached(checks: &[CheckRecord]) -> KycTier {
    let clear = |c| {
        checks
            .iter()
            .any(|r| r.check == c && r.outcome == CheckOutcome::Clear)
    };
    let provider_missing = checks
        .iter()
        .any(|r| r.check == AuditCheck::Provider && r.outcome != CheckOutcome::Clear);
    KycTier::ALL
        .into_iter()
        // Tier 3 also needs a reviewer: never reached automatically.
        .filter(|t| *t != KycTier::Enhanced)
        // A provider check the policy requires gates every verified tier.
        .filter(|t| !(provider_missing && *t != KycTier::Unverified))
        .take_while(|t| required_checks(*t).iter().all(|c| clear(*c)))
        .last()
        .unwrap_or(KycTier::Unverified)
}

/// Points at or above which a finding is severe: only severe findings make a case high; any
/// number of *consider* findings makes it medium at most (`docs/design.md`: any "consider" result →
/// manual review).
const SEVERE: u32 = 100;

/// How the engine counts a reason of a check that did not come back clear (see the module's
/// table). The match is exhaustive: a new reason does not compile until it is weighed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    /// A part of a check that passed (the biometric check's face match beside a failed
    /// liveness): never a finding, whatever the check's outcome.
    Passed,
    /// Rejected, but a new document can remedy it.
    Remediable,
    /// Makes the customer ineligible rather than suspicious (from the identity check only).
    Ineligible,
    /// A PEP match: enhanced due diligence needs a person.
    Pep,
    /// An identity value another holder used too.
    Association,
    /// Any other finding: severe when rejected, a question when *consider*.
    Finding,
}

fn weight(check: AuditCheck, reason: &Reason) -> Weight {
    use Reason::*;
    match reason {
        FaceMatch | LivenessPassed | ScreeningClear | ScreeningHitCleared
        | IdentityDataComplete | IdNumbersValid | CountryRiskLow | NoAssociationSignal | MrzTd1
        | MrzTd2 | MrzTd3 | MrzMrvA | MrzMrvB | MrzOther | MrzCheckDigitsValid | DocumentInDate
        | MrzMatchesIdentity => Weight::Passed,
        MrzMalformed | DocumentExpired | DocumentTypeNotAccepted | DocumentTypeMismatch => {
            Weight::Remediable
        }
        // The same code from the document check is about the document: reportable.
        UnderMinimumAge | BirthDateInFuture | BirthDateImplausible | Missing(_) | IdNumber(..)
            if check == AuditCheck::Identity =>
        {
            Weight::Ineligible
        }
        PepMatch => Weight::Pep,
        AssociationSharedDocumentNumber | AssociationSharedPhone | AssociationSharedAddress => {
            Weight::Association
        }
        UnderMinimumAge
        | BirthDateInFuture
        | BirthDateImplausible
        | Missing(_)
        | IdNumber(..)
        | NoProviderConfigured
        | NoProvider(_)
        | NoMrz
        | MrzCheckDigitDocumentNumber
        | MrzCheckDigitBirthDate
        | MrzCheckDigitExpiryDate
        | MrzCheckDigitOptionalData
        | MrzCheckDigitComposite
        | BirthDateMismatch
        | BirthDateUnknownInMrz
        | NamePartialMatch
        | NameMismatch
        | DocumentNumberMismatch
        | NationalityMismatch
        | NationalityNotMapped
        | NoListsConfigured
        | NameNotScreenable
        | SanctionsMatchConfirmed
        | SanctionsMatch
        | BiometricPending
        | BiometricProviderFailed
        | NoSelfie
        | NoDocumentImage
        | NoLivenessFrames
        | TooManyLivenessFrames
        | DocumentImageUnreadable
        | SelfieUnreadable
        | LivenessFrameUnreadable
        | FaceMatchUncertain
        | FaceNoMatch
        | NoFaceOnDocument
        | NoFaceOnSelfie
        | SeveralFacesOnDocument
        | SeveralFacesOnSelfie
        | SpoofDetected
        | LivenessWrongOrder
        | LivenessFaceMismatch
        | LivenessNoFaceInFrame
        | LivenessSeveralFacesInFrame
        | LivenessUnknown
        | LivenessChallengeUnknown
        | LivenessChallengeExpired
        | LivenessChallengeReplayed
        | FatfCallForActionNationality
        | FatfCallForActionResidence
        | FatfIncreasedMonitoringNationality
        | FatfIncreasedMonitoringResidence => Weight::Finding,
    }
}

/// Whether `reason` of a rejected `check` makes the customer ineligible rather than suspicious.
fn is_ineligibility(check: AuditCheck, reason: &Reason) -> bool {
    weight(check, reason) == Weight::Ineligible
}

/// The points `reason` of a check with `outcome` contributes (see the module's table).
pub fn points(check: AuditCheck, outcome: CheckOutcome, reason: &Reason) -> u32 {
    match (outcome, weight(check, reason)) {
        (CheckOutcome::Clear | CheckOutcome::NotPerformed, _) => 0,
        (_, Weight::Passed) => 0,
        (CheckOutcome::Rejected, Weight::Remediable) => 40,
        (CheckOutcome::Rejected, Weight::Ineligible) => 0,
        (CheckOutcome::Rejected, _) => 100,
        (CheckOutcome::Consider, Weight::Pep) => 50,
        (CheckOutcome::Consider, Weight::Association) => 30,
        (CheckOutcome::Consider, _) => 40,
    }
}

/// Whether `check` not having been performed needs a person (see the module's table).
pub fn needs_person(check: AuditCheck, policy: &RiskPolicy) -> bool {
    match check {
        AuditCheck::Identity | AuditCheck::Screening | AuditCheck::Provider => true,
        AuditCheck::Biometric => policy.biometric_not_performed == BiometricNotPerformed::Review,
        AuditCheck::Document | AuditCheck::Risk | AuditCheck::Address => false,
    }
}

/// Decide on an application from its checks under `policy`.
///
/// The decision's reasons list every contribution as `check.reason+points` (e.g.
/// `screening.pep_match+50`), every gap that needs a person as `check.reason:review`, then
/// `score=N`, then what the action rests on (`reportable`, `ineligible`,
/// `tier_N_checks_clear`).
pub fn decide(checks: &[CheckRecord], policy: &RiskPolicy, now: DateTime<Utc>) -> DecisionRecord {
    let mut reasons = Vec::new();
    let mut score = 0u32;
    // Points of the findings that alone make a case high (the 100-point ones).
    let mut severe = 0u32;
    let mut is_ineligible = false;
    let mut gap = false;
    for record in checks {
        if record.outcome == CheckOutcome::NotPerformed {
            if needs_person(record.check, policy) {
                gap = true;
                for reason in &record.reasons {
                    reasons.push(format!("{}.{reason}:review", record.check.as_str()));
                }
            }
            continue;
        }
        let mut contribution = 0u32;
        let mut record_ineligible = false;
        for reason in &record.reasons {
            let p = points(record.check, record.outcome, reason);
            if record.outcome == CheckOutcome::Rejected && is_ineligibility(record.check, reason) {
                is_ineligible = true;
                record_ineligible = true;
                reasons.push(format!("{}.{reason}+0", record.check.as_str()));
            } else if p > 0 {
                contribution += p;
                if p >= SEVERE {
                    severe += p;
                }
                reasons.push(format!("{}.{reason}+{p}", record.check.as_str()));
            }
        }
        score += contribution.min(100);
        // A check that did not pass needs at least a person, whatever its reasons score.
        if record.outcome != CheckOutcome::Clear && contribution == 0 && !record_ineligible {
            gap = true;
        }
    }
    reasons.push(format!("score={score}"));
    let level = if severe.min(score) >= policy.high_risk {
        RiskLevel::High
    } else if score >= policy.medium_risk || gap {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    };
    let (action, tier) = match level {
        RiskLevel::High => {
            reasons.push("reportable".into());
            (DecisionAction::Reject, None)
        }
        _ if is_ineligible => {
            reasons.push("ineligible".into());
            (DecisionAction::Reject, None)
        }
        RiskLevel::Medium => (DecisionAction::Review, None),
        RiskLevel::Low => {
            let tier = tier_reached(checks);
            reasons.push(format!("tier_{}_checks_clear", tier.as_u8()));
            (DecisionAction::Approve, Some(tier))
        }
    };
    DecisionRecord {
        level,
        action,
        tier,
        reasons,
        reviewer: None,
        at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuditCheck::*;
    use CheckOutcome::*;

    const CAP: RiskPolicy = RiskPolicy {
        medium_risk: 30,
        high_risk: 70,
        biometric_not_performed: BiometricNotPerformed::CapTier,
    };
    const REVIEW: RiskPolicy = RiskPolicy {
        biometric_not_performed: BiometricNotPerformed::Review,
        ..CAP
    };

    fn record(check: AuditCheck, outcome: CheckOutcome, reasons: &[&str]) -> CheckRecord {
        let reasons = reasons.iter().map(|r| r.parse().unwrap()).collect();
        CheckRecord::new(check, outcome, reasons, Utc::now())
    }

    fn clear(check: AuditCheck) -> CheckRecord {
        CheckRecord::new(check, Clear, Vec::new(), Utc::now())
    }

    /// Every check clear but `replaced`, which is `with`.
    fn all_clear_but(with: CheckRecord) -> Vec<CheckRecord> {
        let mut v: Vec<_> = [Identity, Screening, Document, Biometric, Risk, Address]
            .into_iter()
            .filter(|c| *c != with.check)
            .map(clear)
            .collect();
        v.push(with);
        v
    }

    type Outcome = (RiskLevel, DecisionAction, Option<KycTier>);

    fn outcome(d: &DecisionRecord) -> Outcome {
        (d.level, d.action, d.tier)
    }

    #[test]
    fn all_clear_is_tier_two_at_low_risk() {
        let d = decide(&all_clear_but(clear(Address)), &CAP, Utc::now());
        assert_eq!(
            outcome(&d),
            (
                RiskLevel::Low,
                DecisionAction::Approve,
                Some(KycTier::Verified)
            )
        );
        assert_eq!(d.reasons, ["score=0", "tier_2_checks_clear"]);
    }

    #[test]
    fn table_of_single_findings() {
        use DecisionAction::{Approve, Reject, Review};
        use RiskLevel::{High, Low, Medium};
        let t2 = Some(KycTier::Verified);
        let t1 = Some(KycTier::Basic);
        #[rustfmt::skip]
        let table: Vec<(CheckRecord, RiskPolicy, Outcome, &str)> = vec![
            (record(Screening, Rejected, &["sanctions_match_confirmed"]), CAP, (High, Reject, None), "screening.sanctions_match_confirmed+100"),
            (record(Screening, Consider, &["pep_match"]), CAP, (Medium, Review, None), "screening.pep_match+50"),
            (record(Screening, Consider, &["sanctions_match"]), CAP, (Medium, Review, None), "screening.sanctions_match+40"),
            (record(Screening, NotPerformed, &["no_lists_configured"]), CAP, (Medium, Review, None), "screening.no_lists_configured:review"),
            (record(Risk, Rejected, &["fatf_call_for_action_nationality"]), CAP, (High, Reject, None), "risk.fatf_call_for_action_nationality+100"),
            (record(Risk, Consider, &["fatf_increased_monitoring_residence"]), CAP, (Medium, Review, None), "risk.fatf_increased_monitoring_residence+40"),
            (record(Risk, Consider, &["association_shared_phone"]), CAP, (Medium, Review, None), "risk.association_shared_phone+30"),
            (record(Document, Rejected, &["mrz_check_digit_composite"]), CAP, (High, Reject, None), "document.mrz_check_digit_composite+100"),
            (record(Document, Rejected, &["document_expired"]), CAP, (Medium, Review, None), "document.document_expired+40"),
            (record(Document, Consider, &["name_partial_match"]), CAP, (Medium, Review, None), "document.name_partial_match+40"),
            (record(Document, NotPerformed, &["no_mrz"]), CAP, (Low, Approve, t1), "score=0"),
            (record(Biometric, NotPerformed, &["no_provider_configured"]), CAP, (Low, Approve, t1), "score=0"),
            (record(Biometric, NotPerformed, &["no_provider_configured"]), REVIEW, (Medium, Review, None), "biometric.no_provider_configured:review"),
            (record(Biometric, Rejected, &["face_no_match"]), CAP, (High, Reject, None), "biometric.face_no_match+100"),
            (record(Biometric, Consider, &["face_match_uncertain"]), CAP, (Medium, Review, None), "biometric.face_match_uncertain+40"),
            (record(Identity, Rejected, &["under_minimum_age"]), CAP, (Low, Reject, None), "ineligible"),
            // The same code from the document check is about the document: suspicious, not ineligible.
            (record(Document, Rejected, &["birth_date_in_future"]), CAP, (High, Reject, None), "document.birth_date_in_future+100"),
            // A check that did not pass needs a person even when none of its reasons scores.
            (record(Biometric, Consider, &["face_match"]), CAP, (Medium, Review, None), "score=0"),
            (record(Identity, Rejected, &["national_id_check_digit_invalid"]), CAP, (Low, Reject, None), "identity.national_id_check_digit_invalid+0"),
            (record(Provider, NotPerformed, &["cn_mobile_verification_no_provider"]), CAP, (Medium, Review, None), "provider.cn_mobile_verification_no_provider:review"),
            (record(Address, NotPerformed, &["no_provider_configured"]), CAP, (Low, Approve, t2), "tier_2_checks_clear"),
        ];
        for (finding, policy, expected, reason) in table {
            let what = format!(
                "{:?} {:?} {:?}",
                finding.check, finding.outcome, finding.reasons
            );
            let d = decide(&all_clear_but(finding), &policy, Utc::now());
            assert_eq!(outcome(&d), expected, "{what}");
            assert!(
                d.reasons.iter().any(|r| r == reason),
                "{what}: {:?}",
                d.reasons
            );
        }
    }

    #[test]
    fn contributions_add_up_and_each_check_is_capped() {
        // Medium findings in different checks add up, but a person decides: never high.
        let mut checks = all_clear_but(record(Screening, Consider, &["pep_match"]));
        checks.retain(|c| c.check != Risk);
        checks.push(record(
            Risk,
            Consider,
            &[
                "fatf_increased_monitoring_nationality",
                "association_shared_address",
            ],
        ));
        let d = decide(&checks, &CAP, Utc::now());
        assert_eq!(
            outcome(&d),
            (RiskLevel::Medium, DecisionAction::Review, None)
        );
        assert!(
            d.reasons.contains(&"score=120".to_owned()),
            "{:?}",
            d.reasons
        );

        // Every MRZ digit wrong: one check, capped at 100.
        let d = decide(
            &all_clear_but(record(
                Document,
                Rejected,
                &["mrz_check_digit_birth_date", "mrz_check_digit_composite"],
            )),
            &CAP,
            Utc::now(),
        );
        assert!(d.reasons.contains(&"score=100".to_owned()));
    }

    #[test]
    fn the_parts_that_passed_do_not_count_in_a_failed_check() {
        let d = decide(
            &all_clear_but(record(
                Biometric,
                Rejected,
                &["face_match", "liveness_face_mismatch"],
            )),
            &CAP,
            Utc::now(),
        );
        assert!(
            d.reasons.contains(&"score=100".to_owned()),
            "{:?}",
            d.reasons
        );
        assert!(!d
            .reasons
            .iter()
            .any(|r| r.starts_with("biometric.face_match")));
    }

    #[test]
    fn gaps_need_a_person_but_never_make_a_case_high() {
        let checks = vec![
            clear(Identity),
            record(Screening, NotPerformed, &["no_lists_configured"]),
            clear(Document),
            record(Biometric, NotPerformed, &["no_provider_configured"]),
            record(
                Provider,
                NotPerformed,
                &["cn_mobile_verification_no_provider"],
            ),
            clear(Risk),
        ];
        let d = decide(&checks, &REVIEW, Utc::now());
        assert_eq!(
            outcome(&d),
            (RiskLevel::Medium, DecisionAction::Review, None)
        );
        assert!(d.reasons.contains(&"score=0".to_owned()));
    }

    #[test]
    fn thresholds_come_from_the_policy() {
        let lenient = RiskPolicy {
            medium_risk: 40,
            high_risk: 100,
            ..CAP
        };
        let checks = all_clear_but(record(Risk, Consider, &["association_shared_phone"]));
        assert_eq!(decide(&checks, &CAP, Utc::now()).level, RiskLevel::Medium);
        assert_eq!(decide(&checks, &lenient, Utc::now()).level, RiskLevel::Low);
        // A severe finding is high under any valid threshold (at most 100).
        let checks = all_clear_but(record(Screening, Rejected, &["sanctions_match_confirmed"]));
        assert_eq!(decide(&checks, &lenient, Utc::now()).level, RiskLevel::High);
    }

    #[test]
    fn deterministic() {
        let checks = all_clear_but(record(Screening, Consider, &["pep_match"]));
        let now = Utc::now();
        assert_eq!(decide(&checks, &CAP, now), decide(&checks, &CAP, now));
    }

    #[test]
    fn tier_three_is_never_automatic_and_providers_gate_tiers() {
        let everything: Vec<_> = [Identity, Screening, Document, Biometric, Risk, Address]
            .into_iter()
            .map(clear)
            .collect();
        assert_eq!(tier_reached(&everything), KycTier::Verified);
        let mut with_provider = everything.clone();
        with_provider.push(record(
            Provider,
            NotPerformed,
            &["cn_mobile_verification_no_provider"],
        ));
        assert_eq!(tier_reached(&with_provider), KycTier::Unverified);
        assert_eq!(tier_reached(&[]), KycTier::Unverified);
        assert_eq!(
            tier_reached(&[clear(Identity), clear(Screening)]),
            KycTier::Basic
        );
    }
}

//! The risk engine: check outcomes in, a level, an action and the tier reached out, every
//! contribution listed as a reason. Pure and deterministic.
//!
//! This is the engine's first cut: outcomes only. Country risk, PEP status and screening scores
//! join it with the checks that produce them.

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{required_checks, CheckOutcome, DecisionAction, RiskLevel};
use kyc_core::KycTier;

use crate::store::{CheckRecord, DecisionRecord};

/// The highest tier whose required checks all came back clear.
pub fn tier_reached(checks: &[CheckRecord]) -> KycTier {
    let clear = |c| {
        checks
            .iter()
            .any(|r| r.check == c && r.outcome == CheckOutcome::Clear)
    };
    KycTier::ALL
        .into_iter()
        // Tier 3 also needs a reviewer: never reached automatically.
        .filter(|t| *t != KycTier::Enhanced)
        .take_while(|t| required_checks(*t).iter().all(|c| clear(*c)))
        .last()
        .unwrap_or(KycTier::Unverified)
}

/// Decide on an application from its checks.
///
/// - any check *rejected* → high, reject;
/// - any *consider*, or a check of tier 1 (identity, screening) *not performed* → medium,
///   manual review (a person decides what an absent check means);
/// - otherwise → low, approve at the tier the clear checks reach.
pub fn decide(checks: &[CheckRecord], now: DateTime<Utc>) -> DecisionRecord {
    let mut reasons = Vec::new();
    let mut level = RiskLevel::Low;
    for record in checks {
        let check = serde_json::to_value(record.check).ok();
        let name = check.as_ref().and_then(|v| v.as_str()).unwrap_or("check");
        match record.outcome {
            CheckOutcome::Rejected => {
                level = RiskLevel::High;
                reasons.push(format!("{name}_rejected"));
            }
            CheckOutcome::Consider => {
                level = level.max(RiskLevel::Medium);
                reasons.push(format!("{name}_consider"));
            }
            CheckOutcome::NotPerformed => {
                if required_checks(KycTier::Basic).contains(&record.check) {
                    level = level.max(RiskLevel::Medium);
                }
                reasons.push(format!("{name}_not_performed"));
            }
            CheckOutcome::Clear => {}
        }
    }
    let tier = tier_reached(checks);
    let (action, tier) = match level {
        RiskLevel::High => (DecisionAction::Reject, None),
        RiskLevel::Medium => (DecisionAction::Review, None),
        RiskLevel::Low => {
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
    use kyc_core::audit_event::AuditCheck;

    fn record(check: AuditCheck, outcome: CheckOutcome) -> CheckRecord {
        CheckRecord {
            check,
            outcome,
            reasons: vec![],
            at: Utc::now(),
        }
    }

    #[test]
    fn table() {
        use AuditCheck::*;
        use CheckOutcome::*;
        let all_clear: Vec<_> = [Identity, Screening, Document, Biometric, Risk]
            .into_iter()
            .map(|c| record(c, Clear))
            .collect();
        let d = decide(&all_clear, Utc::now());
        assert_eq!(
            (d.level, d.action, d.tier),
            (
                RiskLevel::Low,
                DecisionAction::Approve,
                Some(KycTier::Verified)
            )
        );

        let basic = vec![
            record(Identity, Clear),
            record(Screening, Clear),
            record(Document, NotPerformed),
        ];
        let d = decide(&basic, Utc::now());
        assert_eq!(
            (d.action, d.tier),
            (DecisionAction::Approve, Some(KycTier::Basic))
        );
        assert!(d.reasons.contains(&"document_not_performed".to_owned()));

        let unscreened = vec![record(Identity, Clear), record(Screening, NotPerformed)];
        let d = decide(&unscreened, Utc::now());
        assert_eq!(
            (d.level, d.action, d.tier),
            (RiskLevel::Medium, DecisionAction::Review, None)
        );

        let consider = vec![record(Identity, Clear), record(Screening, Consider)];
        assert_eq!(decide(&consider, Utc::now()).action, DecisionAction::Review);

        let rejected = vec![record(Identity, Rejected), record(Screening, Clear)];
        let d = decide(&rejected, Utc::now());
        assert_eq!(
            (d.level, d.action),
            (RiskLevel::High, DecisionAction::Reject)
        );
        assert_eq!(d.reasons, ["identity_rejected"]);
    }

    #[test]
    fn tier_three_is_never_automatic() {
        use AuditCheck::*;
        let everything: Vec<_> = [Identity, Screening, Document, Biometric, Risk, Address]
            .into_iter()
            .map(|c| record(c, CheckOutcome::Clear))
            .collect();
        assert_eq!(tier_reached(&everything), KycTier::Verified);
    }
}

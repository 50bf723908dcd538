//! The business half of a replay: every application's state machine rebuilt from the events,
//! and the invariants of `docs/design.md` checked as each event arrives.
//!
//! An application is created by `application_submitted`. Its checks run in *rounds*: the first
//! starts at submission, and each `documents_submitted` starts another, forgetting the previous
//! round's check results and decision. Within a round, `check_completed` records the latest
//! outcome of each check and `decision` the latest decision. `credential_issued` needs, in the
//! current round, a standing `approve` decision of the credential's tier that
//! [`approval_allows`], and every check of [`required_checks`] for that tier completed `clear`.
//! A `reject` decision closes the application: any later event for it is a violation. An
//! application may be issued more than one credential (each meeting the rule; ids unique).
//! `credential_revoked` must name an issued credential not yet revoked. `subject_erased`,
//! `key_rotated`, `webhook_registered` and `webhook_deleted` carry no invariant here. An event kind this auditor does not know is a
//! violation: it cannot vouch for rules it has not read.

use std::collections::HashMap;

use kyc_core::audit_event::{
    approval_allows, required_checks, AuditCheck, AuditEvent, CheckOutcome, DecisionAction,
    RiskLevel,
};
use kyc_core::KycTier;

use super::failure::Violation;
use super::report::DecisionsByLevel;

/// The checks, in [`AuditCheck`]'s order, for indexing a round's results.
const CHECKS: [AuditCheck; 7] = [
    AuditCheck::Identity,
    AuditCheck::Document,
    AuditCheck::Biometric,
    AuditCheck::Screening,
    AuditCheck::Risk,
    AuditCheck::Address,
    AuditCheck::Provider,
];

fn check_index(check: AuditCheck) -> usize {
    CHECKS.iter().position(|c| *c == check).unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
struct Decision {
    level: RiskLevel,
    action: DecisionAction,
    tier: Option<KycTier>,
    reviewed: bool,
}

#[derive(Debug, Default)]
struct Application {
    /// The latest outcome of each check in the current round.
    checks: [Option<CheckOutcome>; CHECKS.len()],
    /// The latest decision in the current round.
    decision: Option<Decision>,
    rejected: bool,
}

/// What the business replay counts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) applications: u64,
    pub(crate) credentials_issued: u64,
    pub(crate) credentials_revoked: u64,
    pub(crate) decisions: DecisionsByLevel,
}

/// Every application and credential seen so far.
#[derive(Debug, Default)]
pub(crate) struct BusinessReplay {
    applications: HashMap<String, Application>,
    /// Credential id → revoked.
    credentials: HashMap<String, bool>,
    pub(crate) counts: Counts,
}

impl BusinessReplay {
    /// Applies the next event, or says which rule it breaks.
    pub(crate) fn apply(&mut self, event: AuditEvent) -> Result<(), Violation> {
        match event {
            AuditEvent::ApplicationSubmitted { application, .. } => {
                if self.applications.contains_key(&application) {
                    return Err(Violation::DuplicateApplication);
                }
                self.applications
                    .insert(application, Application::default());
                self.counts.applications += 1;
            }
            AuditEvent::DocumentsSubmitted { application } => {
                let app = self.open(&application)?;
                app.checks = Default::default();
                app.decision = None;
            }
            AuditEvent::CheckCompleted {
                application,
                check,
                outcome,
                ..
            } => {
                self.open(&application)?.checks[check_index(check)] = Some(outcome);
            }
            AuditEvent::Decision {
                application,
                level,
                action,
                tier,
                reviewer,
                ..
            } => {
                let app = self.open(&application)?;
                if action == DecisionAction::Approve && tier.is_none() {
                    return Err(Violation::ApproveWithoutTier);
                }
                app.decision = Some(Decision {
                    level,
                    action,
                    tier,
                    reviewed: reviewer.is_some(),
                });
                app.rejected = action == DecisionAction::Reject;
                let counter = match level {
                    RiskLevel::Low => &mut self.counts.decisions.low,
                    RiskLevel::Medium => &mut self.counts.decisions.medium,
                    RiskLevel::High => &mut self.counts.decisions.high,
                };
                *counter += 1;
            }
            AuditEvent::CredentialIssued {
                application,
                credential,
                tier,
                ..
            } => {
                let app = self.open(&application)?;
                earned(app, tier)?;
                if self.credentials.contains_key(&credential) {
                    return Err(Violation::DuplicateCredential);
                }
                self.credentials.insert(credential, false);
                self.counts.credentials_issued += 1;
            }
            AuditEvent::CredentialRevoked { credential, .. } => {
                match self.credentials.get_mut(&credential) {
                    None => return Err(Violation::RevokeUnknownCredential),
                    Some(true) => return Err(Violation::RevokeTwice),
                    Some(revoked) => *revoked = true,
                }
                self.counts.credentials_revoked += 1;
            }
            AuditEvent::SubjectErased { .. }
            | AuditEvent::KeyRotated { .. }
            | AuditEvent::WebhookRegistered { .. }
            | AuditEvent::WebhookDeleted { .. } => {}
            other => {
                let (kind, _) = other.to_parts();
                return Err(Violation::UnsupportedEvent(kind));
            }
        }
        Ok(())
    }

    /// The application, submitted and not rejected.
    fn open(&mut self, application: &str) -> Result<&mut Application, Violation> {
        match self.applications.get_mut(application) {
            None => Err(Violation::UnknownApplication),
            Some(app) if app.rejected => Err(Violation::ApplicationClosed),
            Some(app) => Ok(app),
        }
    }
}

/// Whether the current round earned a credential of `tier` (`docs/design.md`, "Invariants": issued
/// only on completed checks and an approve decision, at the tier the checks earned).
fn earned(app: &Application, tier: KycTier) -> Result<(), Violation> {
    let decision = match app.decision {
        Some(d) if d.action == DecisionAction::Approve => d,
        _ => return Err(Violation::IssuedWithoutApproval),
    };
    let approved = decision.tier.ok_or(Violation::ApproveWithoutTier)?;
    if approved != tier {
        return Err(Violation::TierMismatch {
            approved,
            issued: tier,
        });
    }
    if let Some(&check) = required_checks(tier)
        .iter()
        .find(|&&c| app.checks[check_index(c)] != Some(CheckOutcome::Clear))
    {
        return Err(Violation::TierNotEarned { tier, check });
    }
    // The reviewer's name is not needed to decide, only whether there was one.
    let reviewer = decision.reviewed.then_some("reviewer");
    if !approval_allows(tier, decision.level, reviewer) {
        return Err(Violation::ApprovalNotAllowed {
            tier,
            level: decision.level,
            reviewer: if decision.reviewed {
                "by a reviewer"
            } else {
                "without a reviewer"
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_index_covers_every_check() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert_eq!(check_index(*c), i);
        }
    }
}

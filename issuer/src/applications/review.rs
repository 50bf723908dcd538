//! Manual review: the queue, a reviewer's decision, and the compliance officer's reports.

use kyc_core::audit_event::{approval_allows, required_checks};

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome, DecisionAction, RiskLevel};

use super::context::{conflict, Applications};
use super::error::ApplicationError;
use super::views::ApplicationView;
use kyc_core::KycTier;

use crate::model::{
    ApplicationRecord, ApplicationState, DecisionRecord, ReportRecord, ReviewDecision,
};

impl Applications {
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
        let tier = approved_tier(&current, &decision, level, reviewer)?;
        let cleared = decision.cleared_screening_matches;
        check_clearances(&current, &cleared)?;
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
}

/// The tier a reviewer's `decision` approves at, checked: the tier's checks all came back clear
/// and the risk `level` allows it; `None` for a rejection or a request for documents.
fn approved_tier(
    current: &ApplicationRecord,
    decision: &ReviewDecision,
    level: RiskLevel,
    reviewer: &str,
) -> Result<Option<KycTier>, ApplicationError> {
    match decision.action {
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
            Ok(Some(tier))
        }
        DecisionAction::Reject | DecisionAction::RequestDocuments => Ok(None),
        DecisionAction::Review => Err(ApplicationError::BadRequest(
            "a reviewer approves, rejects or requests documents".into(),
        )),
    }
}

/// The screening matches a reviewer clears: at most 64 well-formed `list/entity` keys, each a
/// match this application's screening named.
fn check_clearances(
    current: &ApplicationRecord,
    cleared: &[String],
) -> Result<(), ApplicationError> {
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
    let named = |key: &String| {
        current
            .checks
            .iter()
            .any(|c| c.check == AuditCheck::Screening && c.matches.contains(key))
    };
    match cleared.iter().find(|k| !named(k)) {
        Some(other) => Err(ApplicationError::BadRequest(format!(
            "clearedScreeningMatches: {other} is not a match of this application"
        ))),
        None => Ok(()),
    }
}

//! The KYC checks an application goes through. Each yields an outcome (clear / consider /
//! rejected / not performed) with machine-readable reasons; a check with no provider
//! configured says *not performed*, which the risk engine never counts as passed.
//!
//! Providers plug in through [`Check`]; the document, biometric, screening and address checks
//! have their own modules as they are built. Until then they are [`NotConfigured`].

use chrono::{DateTime, Datelike as _, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};

use crate::applications::Submission;
use crate::store::CheckRecord;

pub mod document;

/// One check.
pub trait Check: Send + Sync + std::fmt::Debug {
    /// Which check this is.
    fn kind(&self) -> AuditCheck;
    /// Run it on a submission at `now`.
    fn run(&self, submission: &Submission, now: DateTime<Utc>) -> CheckRecord;
}

/// A check with no provider: always *not performed*.
#[derive(Debug, Clone, Copy)]
pub struct NotConfigured(pub AuditCheck);

impl Check for NotConfigured {
    fn kind(&self) -> AuditCheck {
        self.0
    }

    fn run(&self, _: &Submission, now: DateTime<Utc>) -> CheckRecord {
        CheckRecord {
            check: self.0,
            outcome: CheckOutcome::NotPerformed,
            reasons: vec!["no_provider_configured".into()],
            at: now,
        }
    }
}

/// Identity data: what the schema cannot say about the submitted data (a birth date in the
/// past, a plausible age). Jurisdiction rules (required fields, ID-number schemes) join it with
/// the jurisdiction policies.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityData;

/// Oldest plausible age; an older birth date is a typing error or a fabrication.
const MAX_AGE_YEARS: i32 = 130;

impl Check for IdentityData {
    fn kind(&self) -> AuditCheck {
        AuditCheck::Identity
    }

    fn run(&self, submission: &Submission, now: DateTime<Utc>) -> CheckRecord {
        let born = submission.identity.birth_date;
        let today = now.date_naive();
        let mut reasons = Vec::new();
        if born > today {
            reasons.push("birth_date_in_future".to_owned());
        } else if today.year() - born.year() > MAX_AGE_YEARS {
            reasons.push("birth_date_implausible".to_owned());
        }
        let outcome = if reasons.is_empty() {
            reasons.push("identity_data_complete".into());
            CheckOutcome::Clear
        } else {
            CheckOutcome::Rejected
        };
        CheckRecord {
            check: AuditCheck::Identity,
            outcome,
            reasons,
            at: now,
        }
    }
}

/// The checks every application goes through, in order.
pub fn default_checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(IdentityData),
        Box::new(NotConfigured(AuditCheck::Screening)),
        Box::new(document::DocumentCheck),
        Box::new(NotConfigured(AuditCheck::Biometric)),
        Box::new(NotConfigured(AuditCheck::Risk)),
        Box::new(NotConfigured(AuditCheck::Address)),
    ]
}

//! What every check is: a [`Check`] runs on a submission and gives a record; a check with no
//! provider is [`NotConfigured`] and says *not performed*.

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};

use crate::model::{CheckRecord, Reason, Submission};

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
        CheckRecord::new(
            self.0,
            CheckOutcome::NotPerformed,
            vec![Reason::NoProviderConfigured],
            now,
        )
    }
}

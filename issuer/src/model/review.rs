//! A reviewer's decision on an application in review, as the domain takes it (the HTTP body
//! that carries it is `api`'s).

use kyc_core::audit_event::DecisionAction;
use kyc_core::KycTier;

/// A reviewer's decision on an application in review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDecision {
    /// Approve, reject or request documents (`review` is refused: a reviewer decides).
    pub action: DecisionAction,
    /// The tier, with approve.
    pub tier: Option<KycTier>,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Screening-list entries (`list/entity`) the reviewer found are not this customer (false
    /// positives); remembered for the subject, so that later checks of it do not raise them
    /// again.
    pub cleared_screening_matches: Vec<String>,
}

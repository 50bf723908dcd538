//! The domain's types, below everything else in the issuer: what a customer submits, the
//! records the store keeps and the audit log describes, the liveness challenge, a reviewer's
//! decision. Plain data: no I/O, no HTTP, no configuration.

pub mod country;
mod liveness;
pub mod name;
mod reasons;
mod records;
mod review;
mod submission;

pub use liveness::{HeadTurn, LivenessChallenge};
pub use reasons::{IdNumberProblem, Reason, UnknownReason};
pub use records::{
    ApplicationRecord, ApplicationState, CheckRecord, CheckRecordWire, CredentialRecord,
    DecisionRecord, LivenessAnswer, MatchDetail, ReportRecord, Revocation, SubjectRecord,
    VendorPending, WebhookRecord, MATCH_PREFIX,
};
pub use review::ReviewDecision;
pub use submission::{age_on, Identity, Residence, Submission, APPLICATION_SCHEMA, UPLOADABLE};

//! The replay report: one JSON object saying what the log holds and whether it verifies.

use kyc_core::tlog::{Checkpoint, Hash};
use serde::Serialize;

use super::failure::AuditFailure;
use super::state::AuditorState;

/// The checkpoint a replay checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointSummary {
    /// The log's origin.
    pub origin: String,
    /// The tree size it signs.
    pub size: u64,
    /// The root it signs, standard base64.
    pub root: Hash,
}

impl From<&Checkpoint> for CheckpointSummary {
    fn from(checkpoint: &Checkpoint) -> Self {
        Self {
            origin: checkpoint.origin().to_owned(),
            size: checkpoint.size(),
            root: *checkpoint.root(),
        }
    }
}

/// Decisions counted by risk level.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionsByLevel {
    /// Low risk.
    pub low: u64,
    /// Medium risk.
    pub medium: u64,
    /// High risk.
    pub high: u64,
}

/// The first failure, as printed: `seq` (when it concerns an entry), a stable `code` and a
/// message without personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstFailure {
    /// See [`AuditFailure::seq`].
    pub seq: Option<u64>,
    /// See [`AuditFailure::code`].
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

/// What a replay found. Replay stops at the first failure, so the counts cover the entries
/// before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// True only when the chain, the tree, the checkpoint, the saved state and (when replayed)
    /// the business invariants all hold.
    pub valid: bool,
    /// Entries that parsed and linked into the chain (an entry that breaks a business rule
    /// counts: it is in the chain).
    pub entries: u64,
    /// Bytes of log checked (on a failure: those of the chunks before the failing one).
    pub bytes: u64,
    /// The checkpoint, once its signature verified.
    pub checkpoint: Option<CheckpointSummary>,
    /// Whether the business replay ran (see [`super::ReplayOptions::cryptographic_only`]);
    /// when not, the counts below are zero.
    pub business_replayed: bool,
    /// Applications submitted.
    pub applications: u64,
    /// Credentials issued.
    pub credentials_issued: u64,
    /// Credentials revoked.
    pub credentials_revoked: u64,
    /// Decisions by risk level.
    pub decisions_by_level: DecisionsByLevel,
    /// The first failure; `None` when valid.
    pub first_failure: Option<FirstFailure>,
    #[serde(skip)]
    failure: Option<AuditFailure>,
}

impl ReplayReport {
    pub(crate) fn new(business_replayed: bool) -> Self {
        Self {
            valid: false,
            entries: 0,
            bytes: 0,
            checkpoint: None,
            business_replayed,
            applications: 0,
            credentials_issued: 0,
            credentials_revoked: 0,
            decisions_by_level: DecisionsByLevel::default(),
            first_failure: None,
            failure: None,
        }
    }

    pub(crate) fn conclude(&mut self, failure: Option<AuditFailure>) {
        self.valid = failure.is_none();
        self.first_failure = failure.as_ref().map(|f| FirstFailure {
            seq: f.seq(),
            code: f.code(),
            message: f.to_string(),
        });
        self.failure = failure;
    }

    /// The first failure, typed.
    pub fn failure(&self) -> Option<&AuditFailure> {
        self.failure.as_ref()
    }

    /// The state to save for the next audit: the checkpoint just verified; `None` unless
    /// valid.
    pub fn next_state(&self) -> Option<AuditorState> {
        match (&self.checkpoint, self.valid) {
            (Some(c), true) => Some(AuditorState {
                origin: c.origin.clone(),
                size: c.size,
                root: c.root,
            }),
            _ => None,
        }
    }

    /// The CLI's exit code: 0 valid, 1 not valid, 2 unreadable or unparseable.
    pub fn exit_code(&self) -> u8 {
        match &self.failure {
            None => 0,
            Some(f) if f.is_malformed() => 2,
            Some(_) => 1,
        }
    }
}

//! What can go wrong in an audit, typed, each with a stable code.
//!
//! Every failure is one of three classes, as everywhere in this project: *malformed* (the input
//! cannot be parsed: the CLI exits 2), *does not verify* (a hash, signature or size says no) and
//! *invariant broken* (the log is intact but records something the business rules forbid); the
//! last two exit 1. Messages name seqs, sizes, tiers and check names, never ids or values.

use kyc_core::audit_event::{AuditCheck, RiskLevel};
use kyc_core::tlog::note::NoteError;
use kyc_core::tlog::{ChainError, CheckpointError, EntryError, ProofError};
use kyc_core::KycTier;

/// The first thing wrong with a log, its checkpoint or the saved state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditFailure {
    /// The checkpoint note is malformed, or does not verify with the key.
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// An entry is malformed (not the exact canonical line of an entry, not UTF-8, longer than
    /// [`super::entry_line::MAX_ENTRY_LEN`]) or breaks the hash chain (seq, prev, time).
    #[error(transparent)]
    Chain(ChainError),
    /// Malformed: an entry's `kind` and `data` are not a known audit event.
    #[error("audit entry {seq}: {reason}")]
    Event {
        /// The entry's seq.
        seq: u64,
        /// What is wrong with it (field names, never values).
        reason: String,
    },
    /// Does not verify: the log ends before the checkpoint's size.
    #[error("log holds {entries} entries but the checkpoint covers {size}: the log is truncated")]
    Truncated {
        /// Entries read.
        entries: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// Does not verify: the first `size` entries do not hash to the checkpoint's root.
    #[error("the first {size} entries do not hash to the checkpoint root")]
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// Does not verify: the checkpoint belongs to another log than the saved state.
    #[error("checkpoint origin {checkpoint:?} is not the saved state's origin {state:?}")]
    StateOrigin {
        /// The saved state's origin.
        state: String,
        /// The checkpoint's origin.
        checkpoint: String,
    },
    /// Does not verify: the checkpoint is older than the one verified before.
    #[error("checkpoint size {checkpoint} is below the {state} entries verified before")]
    Rollback {
        /// The size verified before.
        state: u64,
        /// The checkpoint's size.
        checkpoint: u64,
    },
    /// Does not verify: the first `size` entries no longer hash to the root verified before
    /// (the log was rewritten or forked; the change is at or before entry `size - 1`).
    #[error(
        "the first {size} entries do not hash to the root verified before: the log was rewritten"
    )]
    Forked {
        /// The size verified before.
        size: u64,
    },
    /// Invariant broken: an intact entry records something the business rules forbid.
    #[error("audit entry {seq}: {violation}")]
    Invariant {
        /// The entry's seq.
        seq: u64,
        /// Which rule.
        violation: Violation,
    },
}

impl AuditFailure {
    /// Stable machine-readable code (`prev_mismatch`, `tier_not_earned`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Checkpoint(e) => checkpoint_code(e),
            Self::Chain(ChainError::Malformed {
                source: EntryError::NotCanonical,
                ..
            }) => "entry_not_canonical",
            Self::Chain(ChainError::Seq { .. }) => "seq_mismatch",
            Self::Chain(ChainError::Prev { .. }) => "prev_mismatch",
            Self::Chain(ChainError::TimeReversed { .. }) => "time_reversed",
            Self::Chain(_) => "entry_malformed",
            Self::Event { .. } => "event_malformed",
            Self::Truncated { .. } => "log_truncated",
            Self::RootMismatch { .. } => "checkpoint_root_mismatch",
            Self::StateOrigin { .. } => "state_origin_mismatch",
            Self::Rollback { .. } => "checkpoint_rollback",
            Self::Forked { .. } => "state_fork",
            Self::Invariant { violation, .. } => violation.code(),
        }
    }

    /// The seq of the first entry the failure concerns, when there is one: the entry that is
    /// malformed, breaks a link or a rule; the first missing entry of a truncated log; the
    /// first entry a rolled-back checkpoint no longer covers; for a root mismatch, the last
    /// entry the root covers (the change is at or before it).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Checkpoint(_) | Self::StateOrigin { .. } => None,
            Self::Chain(e) => Some(e.seq()),
            Self::Event { seq, .. } | Self::Invariant { seq, .. } => Some(*seq),
            Self::Truncated { entries, .. } => Some(*entries),
            Self::Rollback { checkpoint, .. } => Some(*checkpoint),
            Self::RootMismatch { size } | Self::Forked { size } => size.checked_sub(1),
        }
    }

    /// Whether the input could not be parsed (the CLI's exit code 2) rather than parsed and
    /// found wrong (exit code 1).
    pub fn is_malformed(&self) -> bool {
        match self {
            Self::Checkpoint(e) => checkpoint_is_malformed(e),
            Self::Chain(e) => matches!(e, ChainError::Malformed { .. }),
            Self::Event { .. } => true,
            _ => false,
        }
    }
}

/// The code of a checkpoint that fails to open.
pub(crate) fn checkpoint_code(e: &CheckpointError) -> &'static str {
    match e {
        CheckpointError::Note(
            NoteError::NoKnownSignature { .. } | NoteError::BadSignature { .. },
        ) => "checkpoint_signature",
        CheckpointError::OriginMismatch { .. } => "checkpoint_origin",
        _ => "checkpoint_malformed",
    }
}

/// Whether a checkpoint that fails to open is malformed, rather than signed by another key or
/// for another log.
pub(crate) fn checkpoint_is_malformed(e: &CheckpointError) -> bool {
    checkpoint_code(e) == "checkpoint_malformed"
}

/// Whether a proof error says the proof is malformed (RFC 9162 sizes and lengths) rather than
/// well formed but not matching the roots.
pub(crate) fn proof_is_malformed(e: &ProofError) -> bool {
    !matches!(e, ProofError::RootMismatch | ProofError::FirstRootMismatch)
}

/// A business rule of `docs/design.md` ("Invariants", "KYC tiers and risk") that an entry breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// An application id submitted a second time.
    #[error("application submitted twice")]
    DuplicateApplication,
    /// An event for an application never submitted.
    #[error("event for an application never submitted")]
    UnknownApplication,
    /// An event for an application already rejected.
    #[error("event for an application already rejected")]
    ApplicationClosed,
    /// An approve decision without a tier.
    #[error("approve decision without a tier")]
    ApproveWithoutTier,
    /// A credential issued without an approve decision standing for the application's latest
    /// round of documents.
    #[error("credential issued without an approve decision for the latest round")]
    IssuedWithoutApproval,
    /// A credential of another tier than the approve decision's.
    #[error("credential of tier {issued} issued on an approval of tier {approved}")]
    TierMismatch {
        /// The tier approved.
        approved: KycTier,
        /// The credential's tier.
        issued: KycTier,
    },
    /// A credential of a tier whose required check did not complete `clear` in the latest
    /// round.
    #[error("tier {tier} issued but check {check:?} did not complete clear in the latest round")]
    TierNotEarned {
        /// The credential's tier.
        tier: KycTier,
        /// The first required check missing or not clear.
        check: AuditCheck,
    },
    /// An approval the tier's rules do not allow at this risk level or without a reviewer.
    #[error("tier {tier} may not be approved at {level:?} risk {reviewer}")]
    ApprovalNotAllowed {
        /// The tier approved.
        tier: KycTier,
        /// The decision's risk level.
        level: RiskLevel,
        /// "by a reviewer" or "without a reviewer".
        reviewer: &'static str,
    },
    /// A credential id issued a second time.
    #[error("credential id issued twice")]
    DuplicateCredential,
    /// A revocation of a credential never issued.
    #[error("revocation of a credential never issued")]
    RevokeUnknownCredential,
    /// A revocation of a credential already revoked.
    #[error("credential revoked twice")]
    RevokeTwice,
    /// A status list published with another number of revoked bits than the log's revocations
    /// of credentials in that list imply.
    #[error("status list published with {published} revoked bits where the log implies {logged}")]
    StatusListCount {
        /// The bits the publication says it set.
        published: u64,
        /// The revocations the log holds for that list.
        logged: u64,
    },
    /// A key rotation that retires another key than the one the previous rotation put in
    /// service.
    #[error("key rotation retiring a key that is not in service")]
    RotationOutOfChain,
    /// The checkpoint is signed by another key than the one the log's last key rotation put in
    /// service: a key the log never named.
    #[error("checkpoint signed by a key the log's key rotations do not name")]
    CheckpointKeyNotInLog,
    /// A key rotation whose statement is not signed by the key it retires, or names other
    /// keys than the entry.
    #[error("key rotation without a valid statement by the retiring key")]
    RotationNotSigned,
    /// An event kind this auditor has no rules for (a newer `kyc-core`): it cannot vouch for it.
    #[error("event kind {0:?} has no replay rules in this auditor")]
    UnsupportedEvent(String),
}

impl Violation {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicateApplication => "duplicate_application",
            Self::StatusListCount { .. } => "status_list_count_mismatch",
            Self::RotationNotSigned => "rotation_not_signed",
            Self::CheckpointKeyNotInLog => "checkpoint_key_not_in_log",
            Self::RotationOutOfChain => "rotation_out_of_chain",
            Self::UnknownApplication => "unknown_application",
            Self::ApplicationClosed => "application_closed",
            Self::ApproveWithoutTier => "approve_without_tier",
            Self::IssuedWithoutApproval => "issued_without_approval",
            Self::TierMismatch { .. } => "tier_mismatch",
            Self::TierNotEarned { .. } => "tier_not_earned",
            Self::ApprovalNotAllowed { .. } => "approval_not_allowed",
            Self::DuplicateCredential => "duplicate_credential",
            Self::RevokeUnknownCredential => "revoke_unknown_credential",
            Self::RevokeTwice => "revoke_twice",
            Self::UnsupportedEvent(_) => "unsupported_event",
        }
    }
}

/// Reading the log failed: the audit could not run (the CLI's exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The log could not be read.
    #[error("reading the log: {0}")]
    Io(#[from] std::io::Error),
}

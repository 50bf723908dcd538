//! What can go wrong with the audit log, kept in three groups: the stored log does not verify
//! (refuse to start), the request is malformed (the caller's mistake; nothing changes), and the
//! storage or the writer failed.

use kyc_core::tlog::{ChainError, CheckpointError, ProofError};

use super::store::StoreError;

/// An audit log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Configuration: a value in [`super::AuditSettings`] cannot work (a zero interval or entry
    /// count).
    #[error("invalid audit log configuration: {0}")]
    Config(&'static str),
    /// Configuration: the checkpoint key's name is not the log's origin. C2SP recommends naming
    /// a log's key after its origin, and [`kyc_core::tlog::Checkpoint::open`] requires it.
    #[error("the checkpoint key is named {key_name:?}, not after the log origin {origin:?}")]
    OriginMismatch {
        /// The configured origin.
        origin: String,
        /// The signer key's name.
        key_name: String,
    },
    /// Does not verify: the stored log breaks at entry `seq` (everything before it checked
    /// out). The log refuses to open; the store needs an operator.
    #[error("stored audit log is corrupt at entry {seq}: {source}")]
    Corrupt {
        /// The first seq that fails.
        seq: u64,
        /// How it fails.
        source: Corruption,
    },
    /// Does not verify: the latest stored checkpoint does not describe the stored log (a log
    /// cut short or rewritten after the checkpoint was signed). The log refuses to open.
    #[error("stored checkpoint at size {size} does not match the stored log: {reason}")]
    CheckpointMismatch {
        /// The size the checkpoint claims.
        size: u64,
        /// What differs.
        reason: &'static str,
    },
    /// Malformed request: the range is not `from <= to <= size`.
    #[error("entry range {from}..{to} is not within the log of {size} entries")]
    BadRange {
        /// Start (inclusive).
        from: u64,
        /// End (exclusive).
        to: u64,
        /// The log's size when asked.
        size: u64,
    },
    /// Malformed request: the range holds more than [`super::MAX_ENTRIES_PER_READ`] entries.
    #[error("entry range {from}..{to} holds more than {max} entries")]
    RangeTooLarge {
        /// Start (inclusive).
        from: u64,
        /// End (exclusive).
        to: u64,
        /// The most entries one read returns.
        max: u64,
    },
    /// Malformed request: a proof between sizes or of an index the log cannot have (beyond its
    /// size, sizes out of order, from the empty tree).
    #[error("proof request: {0}")]
    Proof(#[from] ProofError),
    /// Malformed request: the event cannot be written as an entry (a number RFC 8785 cannot
    /// represent). Nothing was appended.
    #[error("event cannot be entered in the audit log: {0}")]
    Event(ChainError),
    /// The storage backend failed. If this came from an append, the entry's fate is unknown
    /// (it may be on disk) and the log stops accepting appends ([`AuditError::Failed`]).
    #[error("audit store: {0}")]
    Store(#[from] StoreError),
    /// An earlier commit failed, so the writer no longer knows what is on disk (after a failed
    /// fsync the OS may have dropped the pages) and refuses further appends and checkpoints.
    /// Reopening the log re-reads and re-verifies the store.
    #[error("audit log stopped after a storage failure ({0}); reopen it")]
    Failed(StoreError),
    /// A checkpoint could not be signed.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Writing the export failed.
    #[error("writing the audit log export: {0}")]
    Export(#[source] std::io::Error),
    /// The writer thread could not be started.
    #[error("starting the audit log writer: {0}")]
    Thread(#[source] std::io::Error),
    /// The log has been closed; nothing more can be appended.
    #[error("audit log is closed")]
    Closed,
}

/// How a stored entry fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The stored bytes are not UTF-8, so they are no audit line at all.
    #[error("entry bytes are not UTF-8")]
    NotUtf8,
    /// The entry for this seq is missing: the next stored key is `found`.
    #[error("entry is missing; the next stored entry is {found}")]
    Missing {
        /// The next seq present in the store.
        found: u64,
    },
    /// The line is malformed or its link in the hash chain does not verify.
    #[error(transparent)]
    Chain(ChainError),
}

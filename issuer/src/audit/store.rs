//! The storage seam under the audit log: what a backend must keep, and the durability it must
//! give. The log itself (seq, chain, tree, checkpoints) never sees a backend's types.
//!
//! A backend stores two things: entries, keyed by seq, each the bytes of its canonical line;
//! and signed checkpoints, keyed by the tree size they sign. [`super::sled_store`] is the
//! embedded backend. A PostgreSQL backend would map [`AuditStore::commit`] to one transaction
//! (`INSERT` of the batch's rows into a table whose primary key is `seq`; `COMMIT` is its one
//! WAL flush), and report a duplicate `seq` as [`StoreError::Conflict`]: that is how several
//! issuer nodes sharing one database would learn that another node appended first. (This log's
//! writer serves one node; on a conflict it stops, and a multi-node writer would re-read the
//! tip and retry inside the transaction instead.)

use std::fmt;

/// Entries read back from a store: `(seq, line bytes)` in seq order.
pub type StoredEntries<'a> =
    Box<dyn Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + Send + 'a>;

/// Durable storage for audit entries and checkpoints.
///
/// Implementations must be safe to read from many threads while one writer commits.
pub trait AuditStore: Send + Sync + fmt::Debug + 'static {
    /// Stores `batch` and returns only once all of it is durable (survives a crash or power
    /// loss); one call is one durable commit (for sled, one `fdatasync`). Entries are stored under
    /// seq `batch.first_seq`, `first_seq + 1`, …; each checkpoint under its size.
    ///
    /// Fails with [`StoreError::Conflict`] unless `batch.first_seq` is the number of entries
    /// stored, so an append can neither overwrite an entry nor leave a gap.
    fn commit(&self, batch: &StoreBatch) -> Result<(), StoreError>;

    /// The stored entries with `from <= seq < to`, in seq order. The log checks what comes
    /// back (keys without gaps, UTF-8, the hash chain); the store only reads.
    fn entries(&self, from: u64, to: u64) -> StoredEntries<'_>;

    /// The stored checkpoint of the largest size, if any.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
}

/// One durable commit: consecutive entries, and checkpoints signed over them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreBatch {
    /// The seq of the first line.
    pub first_seq: u64,
    /// Canonical entry lines, without terminators, in seq order.
    pub lines: Vec<String>,
    /// Signed checkpoints, each at a size no larger than the log after this batch.
    pub checkpoints: Vec<StoredCheckpoint>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size it signs.
    pub size: u64,
    /// The C2SP signed note.
    pub note: String,
}

/// A storage backend failed or returned something it cannot have stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend reported an error (I/O, a corrupt file, a lost connection); its message.
    #[error("{0}")]
    Backend(String),
    /// A stored key is not an 8-byte big-endian number.
    #[error("stored key of {len} bytes is not an 8-byte big-endian number")]
    BadKey {
        /// The key's length.
        len: usize,
    },
    /// The stored checkpoint for this size is not UTF-8 text.
    #[error("stored checkpoint at size {size} is not UTF-8")]
    BadCheckpoint {
        /// The key it is stored under.
        size: u64,
    },
    /// A commit did not start at the next free seq: another writer appended, or the caller's
    /// view of the log is stale. Nothing of the batch was stored.
    #[error("commit starts at seq {found}, but the store's next seq is {expected}")]
    Conflict {
        /// The store's next seq.
        expected: u64,
        /// The batch's first seq.
        found: u64,
    },
}

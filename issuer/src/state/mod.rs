//! The issuer's state behind one trait: subjects, applications, credentials, the status list
//! allocation, and the registered webhooks.
//!
//! Personal data never sits here in clear: an application holds its submission, and a
//! credential record its signed forms, only as JWE under the subject's key ([`crate::pii`]), so
//! erasing the key erases them. The subject keys themselves are not here but in
//! [`crate::subject_keys`], where deletion is physical: a store keeps old versions of what it
//! overwrites or removes. Every mutation is durable before it returns.
//!
//! Ordering with the audit log: a state change is appended to the audit log first and stored
//! second, so a crash between the two leaves a logged change that the store has not applied
//! (the application is retried from its last stored state), never an unlogged one.
//!
//! sled is the embedded backend ([`sled`]); [`memory`] keeps the same contract in memory, for
//! tests; the trait is what a PostgreSQL backend would implement for several issuer nodes.
//!
//! Lookups by something other than the key ([`StateStore::applications_in`],
//! [`StateStore::applications_of`]) are scans in the sled backend: they serve the review queue,
//! erasure and the GDPR export, all rare next to submissions. A backend with secondary indexes
//! (PostgreSQL: an index on the subject column) answers them without scanning.

pub mod memory;
pub mod sled;

pub use crate::model::{
    ApplicationRecord, ApplicationState, CheckRecord, CredentialRecord, DecisionRecord,
    LivenessAnswer, ReportRecord, Revocation, SubjectRecord, VendorPending, WebhookRecord,
};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The backend failed (I/O, corruption); the message names no stored value.
    #[error("state store: {0}")]
    Backend(String),
    /// A record changed between read and write (another request got there first).
    #[error("the record changed concurrently; retry")]
    Conflict,
    /// A record to insert exists already.
    #[error("the record exists already")]
    Exists,
    /// A stored record does not decode.
    #[error("stored record {0} does not decode")]
    Corrupt(String),
}

/// Entries of one status list: the smallest list Bitstring Status List allows.
pub const STATUS_LIST_ENTRIES: u64 = kyc_core::status_list::MIN_ENTRIES as u64;
/// Entries of a list allocated before the next list is opened: half of it, so that an index
/// drawn at random is free at the first try at least half the time, and a list's herd is large.
pub const STATUS_LIST_FILL: u64 = STATUS_LIST_ENTRIES / 2;

/// The status index allocation both backends follow: which list is current and how full it is.
///
/// An index is `(list - 1) * STATUS_LIST_ENTRIES + position`. Positions are drawn uniformly at
/// random from `0..STATUS_LIST_ENTRIES` and retried while taken, so neighbouring indexes say
/// nothing about issuance order, and two credentials issued together are as far apart as any two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusAllocation {
    /// The current list, from 1 (0: nothing allocated yet).
    pub list: u64,
    /// Entries of the current list taken.
    pub taken: u64,
}

impl StatusAllocation {
    /// The allocation whose highest index is `highest` (if any) and whose list holds `taken`
    /// allocated entries.
    pub fn resume(highest: Option<u64>, taken: u64) -> Self {
        match highest {
            None => Self::default(),
            Some(i) => Self {
                list: i / STATUS_LIST_ENTRIES + 1,
                taken,
            },
        }
    }

    /// The list the next index comes from (opening a new one when the current is full enough).
    pub fn advance(&mut self) -> u64 {
        if self.list == 0 || self.taken >= STATUS_LIST_FILL {
            self.list += 1;
            self.taken = 0;
        }
        self.list
    }

    /// A random candidate index in `list`.
    pub fn candidate(list: u64) -> u64 {
        use rand::Rng as _;
        let position = rand::rngs::OsRng.gen_range(0..STATUS_LIST_ENTRIES);
        (list - 1) * STATUS_LIST_ENTRIES + position
    }
}

/// The issuer's state.
pub trait StateStore: Send + Sync + std::fmt::Debug + 'static {
    /// Insert or replace a subject.
    fn put_subject(&self, subject: &SubjectRecord) -> Result<(), StateError>;
    /// A subject by id.
    fn subject(&self, id: &str) -> Result<Option<SubjectRecord>, StateError>;
    /// Replace `current` (as last read) by `next`; [`StateError::Conflict`] if it changed since.
    fn replace_subject(
        &self,
        current: &SubjectRecord,
        next: &SubjectRecord,
    ) -> Result<(), StateError>;
    /// Insert a new application ([`StateError::Exists`] if the id is taken).
    fn insert_application(&self, application: &ApplicationRecord) -> Result<(), StateError>;
    /// An application by id.
    fn application(&self, id: &str) -> Result<Option<ApplicationRecord>, StateError>;
    /// Replace `current` (as last read) by `next`; [`StateError::Conflict`] if it changed since.
    fn replace_application(
        &self,
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError>;
    /// Every application in `state` (the review queue), oldest first.
    fn applications_in(
        &self,
        state: ApplicationState,
    ) -> Result<Vec<ApplicationRecord>, StateError>;
    /// Every application of `subject`, oldest first (a scan in the sled backend; see the
    /// module documentation).
    fn applications_of(&self, subject: &str) -> Result<Vec<ApplicationRecord>, StateError>;
    /// `count` status list indexes never handed out before, even across restarts and crashes,
    /// durable on return: each drawn uniformly at random from the unused entries of the current
    /// list, which is left for the next one once [`STATUS_LIST_FILL`] of its entries are taken
    /// ([`StatusAllocation`]). A restart resumes the list where the stored allocation stands.
    fn allocate_status_indexes(&self, count: usize) -> Result<Vec<u64>, StateError>;
    /// A new subject and its first application, durable together (one sync).
    fn insert_submission(
        &self,
        subject: &SubjectRecord,
        application: &ApplicationRecord,
    ) -> Result<(), StateError>;
    /// New credentials (a batch) and their application moved from `current` to `next`, durable
    /// together (one sync); [`StateError::Conflict`] if the application changed since it was
    /// read, and then nothing is stored.
    fn record_issuance(
        &self,
        credentials: &[CredentialRecord],
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError>;
    /// Insert a new credential ([`StateError::Exists`] if the id is taken).
    fn insert_credential(&self, credential: &CredentialRecord) -> Result<(), StateError>;
    /// A credential by id.
    fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, StateError>;
    /// Replace `current` by `next`; [`StateError::Conflict`] if it changed since.
    fn replace_credential(
        &self,
        current: &CredentialRecord,
        next: &CredentialRecord,
    ) -> Result<(), StateError>;
    /// Status indexes of every revoked credential.
    fn revoked_indexes(&self) -> Result<Vec<u64>, StateError>;
    /// The highest status index allocated (read once at start).
    fn max_status_index(&self) -> Result<Option<u64>, StateError>;
    /// Insert a new webhook endpoint ([`StateError::Exists`] if the id is taken).
    fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<(), StateError>;
    /// Remove a webhook endpoint; whether it existed.
    fn delete_webhook(&self, id: &str) -> Result<bool, StateError>;
    /// Every webhook endpoint, oldest first.
    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StateError>;
    /// The association index: for each of `keys` (keyed hashes of identity values, see
    /// [`crate::checks::country_risk::AssociationKey`]), whether a holder other than `holder`
    /// has used it.
    fn associated(&self, keys: &[[u8; 17]], holder: &str) -> Result<Vec<bool>, StateError>;
    /// Record `holder` against each of `keys`; durable on return.
    fn record_associations(&self, keys: &[[u8; 17]], holder: &str) -> Result<(), StateError>;
    /// The screening-list entities a reviewer cleared for `subject`.
    fn screening_clearances(&self, subject: &str) -> Result<Vec<String>, StateError>;
    /// Remember that a reviewer cleared `entities` for `subject`; durable on return.
    fn add_screening_clearances(
        &self,
        subject: &str,
        entities: &[String],
    ) -> Result<(), StateError>;
    /// The application that answered a liveness challenge with the frame set of `digest`.
    fn liveness_answer(&self, digest: &[u8; 32]) -> Result<Option<LivenessAnswer>, StateError>;
    /// Remember that `answer.application` answered `answer.challenge` with the frame set of
    /// `digest`, unless the frames are already remembered. Not yet durable
    /// ([`StateStore::record_frame_sender`], which follows, syncs).
    fn record_liveness_answer(
        &self,
        digest: &[u8; 32],
        answer: &LivenessAnswer,
    ) -> Result<(), StateError>;
    /// The applications that sent any of these liveness frames (by SHA-256), first sender each.
    fn frame_senders(&self, frames: &[[u8; 32]]) -> Result<Vec<String>, StateError>;
    /// Remember `application` as the sender of these frames (where none is remembered yet);
    /// durable on return.
    fn record_frame_sender(&self, frames: &[[u8; 32]], application: &str)
        -> Result<(), StateError>;
    /// The applications other than `except` with an accepted liveness frame whose perceptual
    /// hash ([`crate::checks::biometric::perceptual`]) is within `max_distance` bits of one of
    /// `hashes`: a frame set replayed re-encoded, cropped or retouched. A linear scan over every
    /// application's hashes (16 bytes a frame; see the sled backend for what it costs).
    fn similar_frame_senders(
        &self,
        hashes: &[u128],
        max_distance: u32,
        except: &str,
    ) -> Result<Vec<String>, StateError>;
    /// Remember the perceptual hashes of the frames `application` answered a challenge with
    /// (replacing any it had). Not yet durable ([`StateStore::record_frame_sender`], which
    /// follows, syncs).
    fn record_frame_hashes(&self, application: &str, hashes: &[u128]) -> Result<(), StateError>;
    /// Forget what the indexes hold of an erased subject's `application`: `holder`'s entries
    /// under these association keys, the screening clearances of `subject`, these liveness
    /// frames (each frame's and the set's digest) where `application` is the one remembered for
    /// them, and the perceptual hashes of `application`'s frames. Durable on return.
    fn forget_traces(
        &self,
        subject: &str,
        application: &str,
        holder: &str,
        associations: &[[u8; 17]],
        frames: &[[u8; 32]],
    ) -> Result<(), StateError>;
    /// Remember a vendor request waiting for its webhook; durable on return.
    fn record_vendor_pending(
        &self,
        reference: &str,
        pending: &VendorPending,
    ) -> Result<(), StateError>;
    /// The vendor request `reference`, if it is still waiting.
    fn vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError>;
    /// Take the vendor request `reference` (it is waiting no more); `None` if another caller
    /// took it first.
    fn take_vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError>;
}

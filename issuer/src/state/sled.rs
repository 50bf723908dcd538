//! The embedded backend: the issuer's state in sled trees of the same database as the audit
//! log, one JSON value per record, compare-and-swap for every update, durable on return.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use sha2::{Digest as _, Sha256};

use super::{
    ApplicationRecord, ApplicationState, CredentialRecord, LivenessAnswer, StateError, StateStore,
    SubjectRecord, VendorPending, WebhookRecord,
};
use crate::audit::SyncGroup;

/// The state in sled.
#[derive(Debug)]
pub struct SledState {
    sync: SyncGroup,
    subjects: sled::Tree,
    applications: sled::Tree,
    credentials: sled::Tree,
    webhooks: sled::Tree,
    /// Association index: key bytes (17) ‖ SHA-256(holder)[..8] → nothing.
    associations: sled::Tree,
    /// Subject id → JSON array of cleared screening entity ids.
    clearances: sled::Tree,
    /// SHA-256 of a liveness frame set → the answer (JSON).
    liveness: sled::Tree,
    /// Vendor reference → the application waiting for its result (JSON).
    vendor_pending: sled::Tree,
    /// SHA-256 of one liveness frame → the application that first sent it.
    frame_senders: sled::Tree,
    /// Status index (8 bytes, big-endian) → nothing: every index handed out.
    status_indexes: sled::Tree,
    /// Where the allocation stands (read from `status_indexes` on first use).
    status: std::sync::Mutex<Option<super::StatusAllocation>>,
    /// Application id → the perceptual hashes of its accepted liveness frames, 16 bytes each
    /// (big-endian), scanned whole for near matches.
    frame_hashes: sled::Tree,
}

/// The association index's 8-byte tag of a holder: `SHA-256(holder)[..8]`.
fn holder_tag(holder: &str) -> Result<[u8; 8], StateError> {
    Sha256::digest(holder.as_bytes())[..8]
        .try_into()
        .map_err(backend)
}

/// The status index tree; in a data directory from before it existed, seeded with the index of
/// every stored credential (and flushed), so that none is handed out again.
fn open_status_indexes(db: &sled::Db) -> Result<sled::Tree, StateError> {
    let tree = db.open_tree("status_indexes").map_err(backend)?;
    if tree.is_empty() {
        let credentials = db.open_tree("credentials").map_err(backend)?;
        let mut seeded = false;
        for item in credentials.iter() {
            let (_, value) = item.map_err(backend)?;
            let record: CredentialRecord = decode("credential", &value)?;
            tree.insert(record.status_index.to_be_bytes(), &[])
                .map_err(backend)?;
            seeded = true;
        }
        if seeded {
            db.flush().map_err(backend)?;
        }
    }
    Ok(tree)
}

fn index_of(key: &[u8]) -> Result<u64, StateError> {
    key.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StateError::Corrupt("status index".into()))
}

fn backend(e: impl std::fmt::Display) -> StateError {
    StateError::Backend(e.to_string())
}

fn encode(value: &impl Serialize) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(value).map_err(backend)
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|_| StateError::Corrupt(what.to_owned()))
}

/// The tree of facts about the store itself.
const META_TREE: &str = "state_meta";
/// Key in [`META_TREE`]: where subject keys are kept.
const KEY_LAYOUT: &str = "subject_keys";
/// Its value since subject keys left the store (`crate::subject_keys`).
const KEYS_OUTSIDE: &[u8] = b"outside/v1";

/// Refuse a store whose subject records carry their keys (an earlier version's layout).
///
/// Such a store is not migrated: moving the keys out and rewriting the records would leave the
/// old record versions, keys included, in sled's log files, which is what erasure must not do.
/// The operator starts from a new data directory (or copies what must be kept with a tool that
/// writes a fresh database). A new store is marked as keeping its keys outside.
fn check_key_layout(db: &sled::Db, subjects: &sled::Tree, dir: &Path) -> Result<(), StateError> {
    let meta = db.open_tree(META_TREE).map_err(backend)?;
    match meta.get(KEY_LAYOUT).map_err(backend)? {
        Some(layout) if layout.as_ref() == KEYS_OUTSIDE => Ok(()),
        Some(_) => Err(StateError::Backend(format!(
            "the store at {} names a subject key layout this version does not know",
            dir.display()
        ))),
        None if subjects.is_empty() => {
            meta.insert(KEY_LAYOUT, KEYS_OUTSIDE).map_err(backend)?;
            Ok(())
        }
        None => Err(StateError::Backend(format!(
            "the store at {} was written by an earlier kyc-issuer that kept subject keys inside \
             it, where erasure cannot remove them; this version keeps them in a separate key \
             store and does not migrate (the old copies would stay in the store's files). \
             Start with a new data_dir",
            dir.display()
        ))),
    }
}

impl SledState {
    /// The state trees in `db`, opened at `dir` (shared with [`crate::audit::SledStore`]).
    ///
    /// Refused when the store was written by a version that kept subject keys in its subject
    /// records (see [`check_key_layout`]).
    pub fn new(db: &sled::Db, dir: &Path) -> Result<Self, StateError> {
        let subjects = db.open_tree("subjects").map_err(backend)?;
        check_key_layout(db, &subjects, dir)?;
        Ok(Self {
            sync: SyncGroup::new(db, dir).map_err(backend)?,
            subjects,
            applications: db.open_tree("applications").map_err(backend)?,
            credentials: db.open_tree("credentials").map_err(backend)?,
            webhooks: db.open_tree("webhooks").map_err(backend)?,
            associations: db.open_tree("associations").map_err(backend)?,
            clearances: db.open_tree("screening_clearances").map_err(backend)?,
            liveness: db.open_tree("liveness_answers").map_err(backend)?,
            vendor_pending: db.open_tree("vendor_pending").map_err(backend)?,
            frame_senders: db.open_tree("liveness_frame_senders").map_err(backend)?,
            status_indexes: open_status_indexes(db)?,
            status: std::sync::Mutex::new(None),
            frame_hashes: db.open_tree("liveness_frame_hashes").map_err(backend)?,
        })
    }

    /// The allocation as stored: the list of the highest index handed out, and how many of
    /// that list's entries are taken.
    fn stored_allocation(&self) -> Result<super::StatusAllocation, StateError> {
        let highest = match self.status_indexes.last().map_err(backend)? {
            None => return Ok(super::StatusAllocation::default()),
            Some((k, _)) => index_of(&k)?,
        };
        let list = highest / super::STATUS_LIST_ENTRIES;
        let start = (list * super::STATUS_LIST_ENTRIES).to_be_bytes();
        let mut taken = 0;
        for item in self.status_indexes.range(start..) {
            item.map_err(backend)?;
            taken += 1;
        }
        Ok(super::StatusAllocation::resume(Some(highest), taken))
    }

    /// Durable on return; concurrent requests share one flush ([`SyncGroup`]).
    ///
    /// The store is called from async handlers; waiting for the disk there would stall a tokio
    /// worker and every task queued on it, so on a multi-threaded runtime the wait is declared
    /// with `block_in_place` and the worker's other tasks move elsewhere meanwhile.
    fn sync(&self) -> Result<(), StateError> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let on_multi_thread =
            Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
        if on_multi_thread {
            tokio::task::block_in_place(|| self.sync.sync()).map_err(backend)
        } else {
            self.sync.sync().map_err(backend)
        }
    }

    /// Insert where nothing is, not yet durable.
    fn write_new(&self, tree: &sled::Tree, key: &str, value: Vec<u8>) -> Result<(), StateError> {
        tree.compare_and_swap(key, None as Option<&[u8]>, Some(value))
            .map_err(backend)?
            .map_err(|_| StateError::Exists)
    }

    /// Replace `current` by `next`, not yet durable.
    fn write_swap(
        &self,
        tree: &sled::Tree,
        key: &str,
        current: Vec<u8>,
        next: Vec<u8>,
    ) -> Result<(), StateError> {
        tree.compare_and_swap(key, Some(current), Some(next))
            .map_err(backend)?
            .map_err(|_| StateError::Conflict)
    }

    fn insert_new(&self, tree: &sled::Tree, key: &str, value: Vec<u8>) -> Result<(), StateError> {
        self.write_new(tree, key, value)?;
        self.sync()
    }

    fn swap(
        &self,
        tree: &sled::Tree,
        key: &str,
        current: Vec<u8>,
        next: Vec<u8>,
    ) -> Result<(), StateError> {
        self.write_swap(tree, key, current, next)?;
        self.sync()
    }

    fn get<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        what: &str,
        key: &str,
    ) -> Result<Option<T>, StateError> {
        tree.get(key)
            .map_err(backend)?
            .map(|v| decode(what, &v))
            .transpose()
    }

    /// Every record of `tree` that `keep` accepts, decoded (a full scan).
    fn scan<T: DeserializeOwned>(
        tree: &sled::Tree,
        what: &str,
        mut keep: impl FnMut(&T) -> bool,
    ) -> Result<Vec<T>, StateError> {
        let mut found = Vec::new();
        for item in tree.iter() {
            let (_, value) = item.map_err(backend)?;
            let record: T = decode(what, &value)?;
            if keep(&record) {
                found.push(record);
            }
        }
        Ok(found)
    }
}

impl StateStore for SledState {
    fn put_subject(&self, subject: &SubjectRecord) -> Result<(), StateError> {
        self.subjects
            .insert(subject.id.as_str(), encode(subject)?)
            .map_err(backend)?;
        self.sync()
    }

    fn subject(&self, id: &str) -> Result<Option<SubjectRecord>, StateError> {
        self.get(&self.subjects, "subject", id)
    }

    fn replace_subject(
        &self,
        current: &SubjectRecord,
        next: &SubjectRecord,
    ) -> Result<(), StateError> {
        self.swap(&self.subjects, &current.id, encode(current)?, encode(next)?)
    }

    fn insert_application(&self, application: &ApplicationRecord) -> Result<(), StateError> {
        self.insert_new(&self.applications, &application.id, encode(application)?)
    }

    fn application(&self, id: &str) -> Result<Option<ApplicationRecord>, StateError> {
        self.get(&self.applications, "application", id)
    }

    fn replace_application(
        &self,
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError> {
        self.swap(
            &self.applications,
            &current.id,
            encode(current)?,
            encode(next)?,
        )
    }

    fn applications_in(
        &self,
        state: ApplicationState,
    ) -> Result<Vec<ApplicationRecord>, StateError> {
        let mut found = Self::scan(
            &self.applications,
            "application",
            |a: &ApplicationRecord| a.state == state,
        )?;
        found.sort_by_key(|a| a.created_at);
        Ok(found)
    }

    fn applications_of(&self, subject: &str) -> Result<Vec<ApplicationRecord>, StateError> {
        let mut found = Self::scan(
            &self.applications,
            "application",
            |a: &ApplicationRecord| a.subject == subject,
        )?;
        found.sort_by_key(|a| a.created_at);
        Ok(found)
    }

    fn allocate_status_indexes(&self, count: usize) -> Result<Vec<u64>, StateError> {
        let mut out = Vec::with_capacity(count);
        {
            let mut guard = self
                .status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut allocation = match *guard {
                Some(a) => a,
                None => self.stored_allocation()?,
            };
            while out.len() < count {
                let list = allocation.advance();
                let index = super::StatusAllocation::candidate(list);
                let fresh = self
                    .status_indexes
                    .compare_and_swap(index.to_be_bytes(), None as Option<&[u8]>, Some(&[]))
                    .map_err(backend)?
                    .is_ok();
                if fresh {
                    allocation.taken += 1;
                    out.push(index);
                }
                *guard = Some(allocation);
            }
        }
        // Durable before any credential names them: a crash after this never hands them out
        // again, whatever happened to the credentials.
        self.sync()?;
        Ok(out)
    }

    fn insert_submission(
        &self,
        subject: &SubjectRecord,
        application: &ApplicationRecord,
    ) -> Result<(), StateError> {
        self.subjects
            .insert(subject.id.as_str(), encode(subject)?)
            .map_err(backend)?;
        self.write_new(&self.applications, &application.id, encode(application)?)?;
        self.sync()
    }

    fn record_issuance(
        &self,
        credentials: &[CredentialRecord],
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError> {
        // The application first: when it changed since it was read, nothing is written.
        self.write_swap(
            &self.applications,
            &current.id,
            encode(current)?,
            encode(next)?,
        )?;
        for credential in credentials {
            self.write_new(&self.credentials, &credential.id, encode(credential)?)?;
        }
        self.sync()
    }

    fn insert_credential(&self, credential: &CredentialRecord) -> Result<(), StateError> {
        self.status_indexes
            .insert(credential.status_index.to_be_bytes(), &[])
            .map_err(backend)?;
        self.insert_new(&self.credentials, &credential.id, encode(credential)?)
    }

    fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, StateError> {
        self.get(&self.credentials, "credential", id)
    }

    fn replace_credential(
        &self,
        current: &CredentialRecord,
        next: &CredentialRecord,
    ) -> Result<(), StateError> {
        self.swap(
            &self.credentials,
            &current.id,
            encode(current)?,
            encode(next)?,
        )
    }

    fn revoked_indexes(&self) -> Result<Vec<u64>, StateError> {
        Ok(
            Self::scan(&self.credentials, "credential", |c: &CredentialRecord| {
                c.revoked.is_some()
            })?
            .into_iter()
            .map(|c| c.status_index)
            .collect(),
        )
    }

    fn max_status_index(&self) -> Result<Option<u64>, StateError> {
        match self.status_indexes.last().map_err(backend)? {
            None => Ok(None),
            Some((k, _)) => index_of(&k).map(Some),
        }
    }

    fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<(), StateError> {
        self.insert_new(&self.webhooks, &webhook.id, encode(webhook)?)
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StateError> {
        let existed = self.webhooks.remove(id).map_err(backend)?.is_some();
        if existed {
            self.sync()?;
        }
        Ok(existed)
    }

    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StateError> {
        let mut found = Self::scan(&self.webhooks, "webhook", |_: &WebhookRecord| true)?;
        found.sort_by_key(|w| w.created_at);
        Ok(found)
    }

    fn associated(&self, keys: &[[u8; 17]], holder: &str) -> Result<Vec<bool>, StateError> {
        let holder_tag = holder_tag(holder)?;
        let mut shared = Vec::with_capacity(keys.len());
        for key in keys {
            let mut others = false;
            for item in self.associations.scan_prefix(key) {
                let (k, _) = item.map_err(backend)?;
                if k.get(17..) != Some(&holder_tag[..]) {
                    others = true;
                    break;
                }
            }
            shared.push(others);
        }
        Ok(shared)
    }

    fn record_associations(&self, keys: &[[u8; 17]], holder: &str) -> Result<(), StateError> {
        let holder_tag = holder_tag(holder)?;
        for key in keys {
            let mut entry = key.to_vec();
            entry.extend_from_slice(&holder_tag);
            self.associations
                .insert(entry, &[] as &[u8])
                .map_err(backend)?;
        }
        self.sync()
    }

    fn screening_clearances(&self, subject: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .get(&self.clearances, "screening clearances", subject)?
            .unwrap_or_default())
    }

    fn add_screening_clearances(
        &self,
        subject: &str,
        entities: &[String],
    ) -> Result<(), StateError> {
        if entities.is_empty() {
            return Ok(());
        }
        self.clearances
            .fetch_and_update(subject, |current| {
                let mut ids: Vec<String> = current
                    .and_then(|v| serde_json::from_slice(v).ok())
                    .unwrap_or_default();
                for e in entities {
                    if !ids.contains(e) {
                        ids.push(e.clone());
                    }
                }
                serde_json::to_vec(&ids).ok()
            })
            .map_err(backend)?;
        self.sync()
    }

    fn liveness_answer(&self, digest: &[u8; 32]) -> Result<Option<LivenessAnswer>, StateError> {
        self.liveness
            .get(digest)
            .map_err(backend)?
            .map(|v| decode("liveness answer", &v))
            .transpose()
    }

    fn record_liveness_answer(
        &self,
        digest: &[u8; 32],
        answer: &LivenessAnswer,
    ) -> Result<(), StateError> {
        // The first application to send a frame set keeps it (a lost race changes nothing).
        let _ = self
            .liveness
            .compare_and_swap(digest, None as Option<&[u8]>, Some(encode(answer)?))
            .map_err(backend)?;
        Ok(())
    }

    fn frame_senders(&self, frames: &[[u8; 32]]) -> Result<Vec<String>, StateError> {
        let mut senders: Vec<String> = Vec::new();
        for digest in frames {
            if let Some(v) = self.frame_senders.get(digest).map_err(backend)? {
                let sender = String::from_utf8(v.to_vec())
                    .map_err(|_| StateError::Corrupt("liveness frame sender".into()))?;
                if !senders.contains(&sender) {
                    senders.push(sender);
                }
            }
        }
        Ok(senders)
    }

    fn record_frame_sender(
        &self,
        frames: &[[u8; 32]],
        application: &str,
    ) -> Result<(), StateError> {
        for digest in frames {
            let _ = self
                .frame_senders
                .compare_and_swap(digest, None as Option<&[u8]>, Some(application.as_bytes()))
                .map_err(backend)?;
        }
        self.sync()
    }

    /// A scan of every application's frame hashes (one sled entry of 16 bytes a frame per
    /// application that answered a challenge), on every submission with frames: its cost grows
    /// with the number of answers kept (not measured here). When that matters, index the hashes
    /// by bands (multi-index hashing: a 128-bit hash in 21 bands of 6 bits guarantees that two
    /// hashes within 20 bits share a band) or keep them in memory.
    fn similar_frame_senders(
        &self,
        hashes: &[u128],
        max_distance: u32,
        except: &str,
    ) -> Result<Vec<String>, StateError> {
        let mut senders = Vec::new();
        for entry in self.frame_hashes.iter() {
            let (application, value) = entry.map_err(backend)?;
            if application.as_ref() == except.as_bytes() {
                continue;
            }
            let theirs: Vec<u128> = value
                .chunks_exact(16)
                .map(|c| u128::from_be_bytes(c.try_into().unwrap_or_default()))
                .collect();
            if super::memory::near(hashes, &theirs, max_distance) {
                let application = String::from_utf8(application.to_vec())
                    .map_err(|_| StateError::Corrupt("liveness frame hashes".into()))?;
                senders.push(application);
            }
        }
        Ok(senders)
    }

    fn record_frame_hashes(&self, application: &str, hashes: &[u128]) -> Result<(), StateError> {
        let value: Vec<u8> = hashes.iter().flat_map(|h| h.to_be_bytes()).collect();
        self.frame_hashes
            .insert(application, value)
            .map_err(backend)?;
        Ok(())
    }

    fn forget_traces(
        &self,
        subject: &str,
        application: &str,
        holder: &str,
        associations: &[[u8; 17]],
        frames: &[[u8; 32]],
    ) -> Result<(), StateError> {
        let holder_tag = holder_tag(holder)?;
        for key in associations {
            let mut entry = key.to_vec();
            entry.extend_from_slice(&holder_tag);
            self.associations.remove(entry).map_err(backend)?;
        }
        for digest in frames {
            // Only this application's: frames it replayed from another stay that one's.
            let _ = self
                .frame_senders
                .compare_and_swap(digest, Some(application.as_bytes()), None as Option<&[u8]>)
                .map_err(backend)?;
            if let Some(current) = self.liveness.get(digest).map_err(backend)? {
                let answer: LivenessAnswer = decode("liveness answer", &current)?;
                if answer.application == application {
                    let _ = self
                        .liveness
                        .compare_and_swap(digest, Some(current), None as Option<&[u8]>)
                        .map_err(backend)?;
                }
            }
        }
        self.clearances.remove(subject).map_err(backend)?;
        self.frame_hashes.remove(application).map_err(backend)?;
        self.sync()
    }

    fn record_vendor_pending(
        &self,
        reference: &str,
        pending: &VendorPending,
    ) -> Result<(), StateError> {
        // A reference the vendor reuses names the latest request.
        self.vendor_pending
            .insert(reference, encode(pending)?)
            .map_err(backend)?;
        self.sync()
    }

    fn vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError> {
        self.get(&self.vendor_pending, "vendor request", reference)
    }

    fn take_vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError> {
        let taken = self
            .vendor_pending
            .remove(reference)
            .map_err(backend)?
            .map(|v| decode("vendor request", &v))
            .transpose()?;
        if taken.is_some() {
            self.sync()?;
        }
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_store_with_keys_inside_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        // A store as an earlier version wrote it: a subject record carrying its key, no marker.
        {
            let db = sled::Config::new().path(&path).open().unwrap();
            let old = serde_json::json!({
                "id": "s1", "key": vec![7u8; 32], "created_at": "2026-01-01T00:00:00Z",
                "erased_at": null
            });
            db.open_tree("subjects")
                .unwrap()
                .insert("s1", serde_json::to_vec(&old).unwrap())
                .unwrap();
            db.flush().unwrap();
        }
        let db = sled::Config::new().path(&path).open().unwrap();
        let err = SledState::new(&db, &path).unwrap_err().to_string();
        assert!(err.contains("earlier kyc-issuer"), "{err}");
        assert!(err.contains("new data_dir"), "{err}");
    }

    #[test]
    fn a_new_store_is_marked_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let db = sled::Config::new().path(&path).open().unwrap();
        let state = SledState::new(&db, &path).unwrap();
        let subject = SubjectRecord {
            id: "s1".into(),
            created_at: chrono::Utc::now(),
            erased_at: None,
        };
        state.put_subject(&subject).unwrap();
        drop(state);
        let state = SledState::new(&db, &path).unwrap();
        assert_eq!(state.subject("s1").unwrap(), Some(subject));
    }

    use crate::state::memory::MemoryState;

    /// Both backends: a hash near an accepted frame's names its sender (not the asker), a far
    /// one nobody, and the subject's erasure forgets the application's hashes.
    #[test]
    fn frame_hashes_are_matched_near_and_forgotten_with_the_subject() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let sled = SledState::new(&db, dir.path()).unwrap();
        let memory = MemoryState::new();
        let stores: [&dyn StateStore; 2] = [&sled, &memory];
        for store in stores {
            let frame: u128 = 0x0123_4567_89ab_cdef_0f1e_2d3c_4b5a_6978;
            store
                .record_frame_hashes("app-1", &[frame, !frame])
                .unwrap();
            let near = frame ^ 0b1011; // 3 bits off
            let far = frame ^ u128::from(u64::MAX); // 64 bits off
            assert_eq!(
                store
                    .similar_frame_senders(&[far, near], 20, "app-2")
                    .unwrap(),
                ["app-1"]
            );
            assert!(store
                .similar_frame_senders(&[near], 20, "app-1")
                .unwrap()
                .is_empty());
            assert!(store
                .similar_frame_senders(&[far], 20, "app-2")
                .unwrap()
                .is_empty());
            store
                .forget_traces("subject-1", "app-1", "did:key:z", &[], &[])
                .unwrap();
            assert!(store
                .similar_frame_senders(&[near], 20, "app-2")
                .unwrap()
                .is_empty());
        }
    }
}

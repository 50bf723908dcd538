//! The state in memory: the same contract as the sled backend, nothing durable. For testing the
//! business logic in-process, and for anything that must not touch a disk.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{StateError, StateStore};
use crate::model::{
    ApplicationRecord, ApplicationState, CredentialRecord, LivenessAnswer, SubjectRecord,
    VendorPending, WebhookRecord,
};

/// The issuer's state in memory.
#[derive(Debug, Default)]
pub struct MemoryState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    subjects: HashMap<String, SubjectRecord>,
    applications: HashMap<String, ApplicationRecord>,
    credentials: HashMap<String, CredentialRecord>,
    webhooks: HashMap<String, WebhookRecord>,
    /// Association key → the holders that used it.
    associations: BTreeMap<[u8; 17], BTreeSet<String>>,
    clearances: HashMap<String, Vec<String>>,
    liveness: HashMap<[u8; 32], LivenessAnswer>,
    frame_senders: HashMap<[u8; 32], String>,
    /// Application → the perceptual hashes of its accepted liveness frames.
    frame_hashes: HashMap<String, Vec<u128>>,
    vendor_pending: HashMap<String, VendorPending>,
    /// Status indexes handed out.
    status_indexes: BTreeSet<u64>,
    status: super::StatusAllocation,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    // Every method leaves the maps consistent before it can panic, so a poisoned lock still
    // guards valid state.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Insert `value` under `key` unless the key is taken.
fn insert_new<V>(map: &mut HashMap<String, V>, key: &str, value: V) -> Result<(), StateError> {
    if map.contains_key(key) {
        return Err(StateError::Exists);
    }
    map.insert(key.to_owned(), value);
    Ok(())
}

/// Replace `current` by `next` under `key`, unless what is stored is not `current`.
fn swap<V: PartialEq + Clone>(
    map: &mut HashMap<String, V>,
    key: &str,
    current: &V,
    next: &V,
) -> Result<(), StateError> {
    match map.get_mut(key) {
        Some(stored) if stored == current => {
            *stored = next.clone();
            Ok(())
        }
        _ => Err(StateError::Conflict),
    }
}

fn sorted_by_creation(mut found: Vec<ApplicationRecord>) -> Vec<ApplicationRecord> {
    found.sort_by_key(|a| a.created_at);
    found
}

impl StateStore for MemoryState {
    fn put_subject(&self, subject: &SubjectRecord) -> Result<(), StateError> {
        self.lock()
            .subjects
            .insert(subject.id.clone(), subject.clone());
        Ok(())
    }

    fn subject(&self, id: &str) -> Result<Option<SubjectRecord>, StateError> {
        Ok(self.lock().subjects.get(id).cloned())
    }

    fn replace_subject(
        &self,
        current: &SubjectRecord,
        next: &SubjectRecord,
    ) -> Result<(), StateError> {
        swap(&mut self.lock().subjects, &current.id, current, next)
    }

    fn insert_application(&self, application: &ApplicationRecord) -> Result<(), StateError> {
        insert_new(
            &mut self.lock().applications,
            &application.id,
            application.clone(),
        )
    }

    fn application(&self, id: &str) -> Result<Option<ApplicationRecord>, StateError> {
        Ok(self.lock().applications.get(id).cloned())
    }

    fn replace_application(
        &self,
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError> {
        swap(&mut self.lock().applications, &current.id, current, next)
    }

    fn applications_in(
        &self,
        state: ApplicationState,
    ) -> Result<Vec<ApplicationRecord>, StateError> {
        let inner = self.lock();
        let found = inner.applications.values().filter(|a| a.state == state);
        Ok(sorted_by_creation(found.cloned().collect()))
    }

    fn applications_of(&self, subject: &str) -> Result<Vec<ApplicationRecord>, StateError> {
        let inner = self.lock();
        let found = inner.applications.values().filter(|a| a.subject == subject);
        Ok(sorted_by_creation(found.cloned().collect()))
    }

    fn allocate_status_indexes(&self, count: usize) -> Result<Vec<u64>, StateError> {
        let mut inner = self.lock();
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let list = inner.status.advance();
            let index = super::StatusAllocation::candidate(list);
            if inner.status_indexes.insert(index) {
                inner.status.taken += 1;
                out.push(index);
            }
        }
        Ok(out)
    }

    fn insert_submission(
        &self,
        subject: &SubjectRecord,
        application: &ApplicationRecord,
    ) -> Result<(), StateError> {
        let mut inner = self.lock();
        if inner.applications.contains_key(&application.id) {
            return Err(StateError::Exists);
        }
        inner.subjects.insert(subject.id.clone(), subject.clone());
        inner
            .applications
            .insert(application.id.clone(), application.clone());
        Ok(())
    }

    fn record_issuance(
        &self,
        credentials: &[CredentialRecord],
        current: &ApplicationRecord,
        next: &ApplicationRecord,
    ) -> Result<(), StateError> {
        let mut inner = self.lock();
        if credentials
            .iter()
            .any(|c| inner.credentials.contains_key(&c.id))
        {
            return Err(StateError::Exists);
        }
        swap(&mut inner.applications, &current.id, current, next)?;
        for credential in credentials {
            inner
                .credentials
                .insert(credential.id.clone(), credential.clone());
        }
        Ok(())
    }

    fn insert_credential(&self, credential: &CredentialRecord) -> Result<(), StateError> {
        let mut inner = self.lock();
        insert_new(&mut inner.credentials, &credential.id, credential.clone())?;
        inner.status_indexes.insert(credential.status_index);
        Ok(())
    }

    fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, StateError> {
        Ok(self.lock().credentials.get(id).cloned())
    }

    fn replace_credential(
        &self,
        current: &CredentialRecord,
        next: &CredentialRecord,
    ) -> Result<(), StateError> {
        swap(&mut self.lock().credentials, &current.id, current, next)
    }

    fn revoked_indexes(&self) -> Result<Vec<u64>, StateError> {
        let inner = self.lock();
        let revoked = inner.credentials.values().filter(|c| c.revoked.is_some());
        Ok(revoked.map(|c| c.status_index).collect())
    }

    fn max_status_index(&self) -> Result<Option<u64>, StateError> {
        Ok(self.lock().status_indexes.last().copied())
    }

    fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<(), StateError> {
        insert_new(&mut self.lock().webhooks, &webhook.id, webhook.clone())
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StateError> {
        Ok(self.lock().webhooks.remove(id).is_some())
    }

    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StateError> {
        let mut found: Vec<WebhookRecord> = self.lock().webhooks.values().cloned().collect();
        found.sort_by_key(|w| w.created_at);
        Ok(found)
    }

    fn associated(&self, keys: &[[u8; 17]], holder: &str) -> Result<Vec<bool>, StateError> {
        let inner = self.lock();
        Ok(keys
            .iter()
            .map(|key| {
                inner
                    .associations
                    .get(key)
                    .is_some_and(|holders| holders.iter().any(|h| h != holder))
            })
            .collect())
    }

    fn record_associations(&self, keys: &[[u8; 17]], holder: &str) -> Result<(), StateError> {
        let mut inner = self.lock();
        for key in keys {
            inner
                .associations
                .entry(*key)
                .or_default()
                .insert(holder.to_owned());
        }
        Ok(())
    }

    fn screening_clearances(&self, subject: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .lock()
            .clearances
            .get(subject)
            .cloned()
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
        let mut inner = self.lock();
        let ids = inner.clearances.entry(subject.to_owned()).or_default();
        for e in entities {
            if !ids.contains(e) {
                ids.push(e.clone());
            }
        }
        Ok(())
    }

    fn liveness_answer(&self, digest: &[u8; 32]) -> Result<Option<LivenessAnswer>, StateError> {
        Ok(self.lock().liveness.get(digest).cloned())
    }

    fn record_liveness_answer(
        &self,
        digest: &[u8; 32],
        answer: &LivenessAnswer,
    ) -> Result<(), StateError> {
        self.lock()
            .liveness
            .entry(*digest)
            .or_insert_with(|| answer.clone());
        Ok(())
    }

    fn frame_senders(&self, frames: &[[u8; 32]]) -> Result<Vec<String>, StateError> {
        let inner = self.lock();
        let mut senders: Vec<String> = Vec::new();
        for sender in frames.iter().filter_map(|d| inner.frame_senders.get(d)) {
            if !senders.contains(sender) {
                senders.push(sender.clone());
            }
        }
        Ok(senders)
    }

    fn record_frame_sender(
        &self,
        frames: &[[u8; 32]],
        application: &str,
    ) -> Result<(), StateError> {
        let mut inner = self.lock();
        for digest in frames {
            inner
                .frame_senders
                .entry(*digest)
                .or_insert_with(|| application.to_owned());
        }
        Ok(())
    }

    fn similar_frame_senders(
        &self,
        hashes: &[u128],
        max_distance: u32,
        except: &str,
    ) -> Result<Vec<String>, StateError> {
        let inner = self.lock();
        let mut senders: Vec<String> = inner
            .frame_hashes
            .iter()
            .filter(|(application, _)| application.as_str() != except)
            .filter(|(_, theirs)| near(hashes, theirs, max_distance))
            .map(|(application, _)| application.clone())
            .collect();
        senders.sort();
        Ok(senders)
    }

    fn record_frame_hashes(&self, application: &str, hashes: &[u128]) -> Result<(), StateError> {
        self.lock()
            .frame_hashes
            .insert(application.to_owned(), hashes.to_vec());
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
        let mut inner = self.lock();
        for key in associations {
            if let Some(holders) = inner.associations.get_mut(key) {
                holders.remove(holder);
                if holders.is_empty() {
                    inner.associations.remove(key);
                }
            }
        }
        for digest in frames {
            // Only this application's: frames it replayed from another stay that one's.
            if inner.frame_senders.get(digest).map(String::as_str) == Some(application) {
                inner.frame_senders.remove(digest);
            }
            if inner
                .liveness
                .get(digest)
                .is_some_and(|a| a.application == application)
            {
                inner.liveness.remove(digest);
            }
        }
        inner.clearances.remove(subject);
        inner.frame_hashes.remove(application);
        Ok(())
    }

    fn record_vendor_pending(
        &self,
        reference: &str,
        pending: &VendorPending,
    ) -> Result<(), StateError> {
        // A reference the vendor reuses names the latest request.
        self.lock()
            .vendor_pending
            .insert(reference.to_owned(), pending.clone());
        Ok(())
    }

    fn vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError> {
        Ok(self.lock().vendor_pending.get(reference).cloned())
    }

    fn take_vendor_pending(&self, reference: &str) -> Result<Option<VendorPending>, StateError> {
        Ok(self.lock().vendor_pending.remove(reference))
    }
}

/// Whether any of `a` is within `max_distance` bits of any of `b`.
pub(super) fn near(a: &[u128], b: &[u128], max_distance: u32) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| (x ^ y).count_ones() <= max_distance))
}

//! The quota of open applications per holder: a holder key may have a few applications
//! waiting for a decision (submitted, checking, in review, waiting for documents), not
//! thousands, each with its images kept for years.
//!
//! The open applications are known by holder in memory: loaded from the store at start (the
//! two states an undecided application is stored in), kept current from every announced state
//! change, and reserved before a submission's checks run, so that concurrent submissions for
//! one holder cannot all pass the count. Several issuer nodes would need the count in their
//! shared store, like the nonces.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::error::ApplicationError;
use crate::model::{ApplicationRecord, ApplicationState};
use crate::state::{StateError, StateStore};

/// Whether an application in `state` waits for a decision.
fn is_open(state: ApplicationState) -> bool {
    matches!(
        state,
        ApplicationState::Submitted
            | ApplicationState::Checking
            | ApplicationState::InReview
            | ApplicationState::MoreDocumentsRequested
    )
}

/// The open applications of each holder, by id.
#[derive(Debug)]
pub(super) struct OpenApplications {
    limit: usize,
    by_holder: Mutex<HashMap<String, HashSet<String>>>,
}

impl OpenApplications {
    /// The open applications in `store`, at most `limit` per holder from now on.
    pub(super) fn load(store: &dyn StateStore, limit: usize) -> Result<Self, StateError> {
        let mut by_holder: HashMap<String, HashSet<String>> = HashMap::new();
        // `submitted` and `checking` are never stored: the checks run inside the request.
        for state in [
            ApplicationState::InReview,
            ApplicationState::MoreDocumentsRequested,
        ] {
            for application in store.applications_in(state)? {
                by_holder
                    .entry(application.holder)
                    .or_default()
                    .insert(application.id);
            }
        }
        Ok(Self {
            limit: limit.max(1),
            by_holder: Mutex::new(by_holder),
        })
    }

    // Every update is one insert or remove, so a poisoned lock still guards a valid map.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.by_holder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Count application `id` as open for `holder`, unless the holder is at the limit.
    pub(super) fn reserve<'a>(
        &'a self,
        holder: &str,
        id: &str,
    ) -> Result<Reservation<'a>, ApplicationError> {
        let mut by_holder = self.lock();
        let open = by_holder.entry(holder.to_owned()).or_default();
        if open.len() >= self.limit {
            return Err(ApplicationError::TooManyOpen(self.limit));
        }
        open.insert(id.to_owned());
        Ok(Reservation {
            quota: self,
            holder: holder.to_owned(),
            id: id.to_owned(),
            kept: false,
        })
    }

    /// Follow `application`'s new state: still open, or decided.
    pub(super) fn update(&self, application: &ApplicationRecord) {
        let mut by_holder = self.lock();
        if is_open(application.state) {
            by_holder
                .entry(application.holder.clone())
                .or_default()
                .insert(application.id.clone());
        } else {
            self.remove(&mut by_holder, &application.holder, &application.id);
        }
    }

    fn remove(&self, by_holder: &mut HashMap<String, HashSet<String>>, holder: &str, id: &str) {
        if let Some(open) = by_holder.get_mut(holder) {
            open.remove(id);
            if open.is_empty() {
                by_holder.remove(holder);
            }
        }
    }
}

/// An application counted as open before it is stored: given back when dropped unless
/// [`kept`](Reservation::keep) (the submission failed, so there is nothing open).
#[derive(Debug)]
pub(super) struct Reservation<'a> {
    quota: &'a OpenApplications,
    holder: String,
    id: String,
    kept: bool,
}

impl Reservation<'_> {
    /// The application was stored: from now on its announced states keep the count.
    pub(super) fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let mut by_holder = self.quota.lock();
            self.quota.remove(&mut by_holder, &self.holder, &self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::memory::MemoryState;

    fn record(holder: &str, id: &str, state: ApplicationState) -> ApplicationRecord {
        ApplicationRecord {
            id: id.into(),
            subject: "s".into(),
            holder: holder.into(),
            jurisdiction: "EU".into(),
            state,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            sealed_submission: String::new(),
            checks: Vec::new(),
            decision: None,
            credential: None,
            credentials: Vec::new(),
            revoked: None,
        }
    }

    #[test]
    fn a_holder_may_have_limit_open_applications() {
        let quota = OpenApplications::load(&MemoryState::new(), 2).unwrap();
        let a = quota.reserve("h", "a").unwrap();
        a.keep();
        let b = quota.reserve("h", "b").unwrap();
        assert!(matches!(
            quota.reserve("h", "c"),
            Err(ApplicationError::TooManyOpen(2))
        ));
        // Another holder is not affected.
        quota.reserve("other", "x").unwrap().keep();
        // A failed submission gives its place back.
        drop(b);
        let c = quota.reserve("h", "c").unwrap();
        c.keep();
        // A decision closes one.
        quota.update(&record("h", "a", ApplicationState::Approved));
        quota.reserve("h", "d").unwrap().keep();
        assert!(quota.reserve("h", "e").is_err());
        quota.update(&record("h", "c", ApplicationState::InReview));
        assert!(quota.reserve("h", "e").is_err());
    }
}

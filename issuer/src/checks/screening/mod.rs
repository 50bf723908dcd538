//! Sanctions and PEP screening against lists the operator supplies.
//!
//! # Layout
//! - [`lists`]: the list files (FollowTheMoney JSON Lines as OpenSanctions publishes them,
//!   OFAC's SDN CSV with its aliases file), parsed into [`Entry`]s; [`ListVersion`] says
//!   which bytes were in force; a malformed file is a [`ListError`] naming the line.
//! - `normalise`: names to tokens (transliterated to ASCII, lower case, sorted) and their
//!   Double Metaphone codes.
//! - `score`: the match score (Jaro-Winkler over aligned tokens, phonetic agreement, date of
//!   birth and nationality as boosts, penalty or veto); the formula and its reasons are there.
//! - `index`: [`ScreeningLists`], the compact in-memory index over every list and its search,
//!   which never scans all entities.
//!
//! [`Screener`] holds the lists in force and swaps in a new set on [`Screener::reload`]
//! (all-or-nothing: a list that fails to load leaves the previous set in force), or by itself
//! under [`Screener::watch`]. [`ScreeningCheck`] is the [`Check`] the application pipeline
//! runs; [`check_record`] turns a result and the hits a reviewer cleared for the subject into
//! the check's outcome:
//!
//! | result | outcome | reasons |
//! |---|---|---|
//! | no list configured | not performed | `no_lists_configured` |
//! | a name with no letter or digit to screen | consider | `name_not_screenable` |
//! | no hit | clear | `screening_clear` |
//! | only hits the reviewer cleared | clear | `screening_hit_cleared` |
//! | a sanctions hit, strong name and exact birth date | rejected | `sanctions_match_confirmed` |
//! | another sanctions hit | consider | `sanctions_match` |
//! | a PEP hit | consider | `pep_match` |
//!
//! Hits and reasons carry codes and list ids, never a name or a date.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use kyc_core::audit_event::{AuditCheck, CheckOutcome};
use serde::Deserialize;

use crate::checks::check::Check;
use crate::model::{CheckRecord, Reason, Submission};

/// Sanctions and PEP screening: the list files the operator supplies, reloaded when they
/// change. No list: screening is *not performed* and every case goes to a person.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScreeningConfig {
    /// The lists (`[[screening.lists]]`: `name`, `format` = `ftm` or `ofac_sdn`,
    /// `path`, OFAC's `aliases`).
    pub lists: Vec<ListSource>,
    /// Names scored in full per query after candidate ranking.
    pub max_candidates: usize,
    /// How often the list files are checked for changes, in seconds.
    pub reload_interval_secs: u64,
}

impl Default for ScreeningConfig {
    fn default() -> Self {
        Self {
            lists: Vec::new(),
            max_candidates: ScreeningSettings::default().max_candidates,
            reload_interval_secs: 30,
        }
    }
}

mod index;
pub mod lists;
mod normalise;
mod query;
mod score;

pub use index::ScreeningLists;
pub use lists::{BirthDate, Entry, HitKind, ListError, ListFormat, ListSource, ListVersion};
pub use query::{Hit, ScreeningQuery, ScreeningResult};

/// How screening scores: the hit threshold (each jurisdiction's) and how many candidates are
/// scored in full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreeningSettings {
    /// Score at or above which an entry is a hit, in (0, 1]. Default 0.88: at that level
    /// a transliterated or reordered name, or one missing a middle name, is a hit; a different
    /// given name with the same surname is not.
    pub threshold: f64,
    /// Names scored in full per query after candidate ranking. Default 300.
    pub max_candidates: usize,
}

impl Default for ScreeningSettings {
    fn default() -> Self {
        Self {
            threshold: 0.88,
            max_candidates: 300,
        }
    }
}

impl ScreeningSettings {
    /// Refuse a threshold outside (0, 1] or no candidates at all.
    pub fn validate(&self) -> Result<(), ListError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(ListError::Config("threshold must be in (0, 1]".to_owned()));
        }
        if self.max_candidates == 0 {
            return Err(ListError::Config(
                "max_candidates must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

impl ScreeningLists {
    /// Load every source; all-or-nothing. No source gives the empty set (screening *not
    /// performed*). Source names must be distinct and non-empty.
    pub fn load(sources: &[ListSource]) -> Result<Self, ListError> {
        let mut seen = BTreeSet::new();
        for s in sources {
            if s.name.trim().is_empty() || s.name.contains('/') {
                return Err(ListError::Config(
                    "a list's name must be non-empty and without '/'".to_owned(),
                ));
            }
            if !seen.insert(s.name.as_str()) {
                return Err(ListError::Config(format!(
                    "list name {:?} is used twice",
                    s.name
                )));
            }
        }
        if sources.len() > usize::from(u16::MAX) {
            return Err(ListError::Config("too many lists".to_owned()));
        }
        let lists = sources
            .iter()
            .map(lists::load_source)
            .collect::<Result<Vec<_>, _>>()?;
        let names: usize = lists
            .iter()
            .map(|l| l.entries.iter().map(|e| e.names.len()).sum::<usize>())
            .sum();
        // Ids are u32 throughout the index.
        if names >= u32::MAX as usize / 4 {
            return Err(ListError::Config("lists too large to index".to_owned()));
        }
        let paths: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
        let built = Self::build(lists);
        // Entities whose names all transliterate to nothing are not indexed: a list of only
        // those is as empty as an empty file.
        if let Some(i) = built.versions().iter().position(|v| v.entities == 0) {
            return Err(ListError::Empty {
                file: paths.get(i).cloned().unwrap_or_default(),
            });
        }
        Ok(built)
    }

    /// Screen a submission: the typed name and the name on the document
    /// ([`ScreeningQuery::for_submission`]), the stronger hit kept.
    pub fn screen_submission(
        &self,
        submission: &Submission,
        config: &ScreeningSettings,
    ) -> ScreeningResult {
        let typed = self.screen(&ScreeningQuery::from_identity(&submission.identity), config);
        ScreeningQuery::for_submission(submission)
            .iter()
            .skip(1)
            .fold(typed, |result, q| result.stronger(self.screen(q, config)))
    }

    /// Screen a query against these lists.
    pub fn screen(&self, query: &ScreeningQuery, config: &ScreeningSettings) -> ScreeningResult {
        let (hits, name_tokens) = if self.versions().is_empty() {
            (Vec::new(), 0)
        } else {
            self.search(query, config.threshold, config.max_candidates)
        };
        ScreeningResult {
            list_version: self.versions().to_vec(),
            hits,
            name_tokens,
        }
    }
}

/// The lists in force, swapped whole on reload.
#[derive(Debug)]
pub struct Screener {
    sources: Vec<ListSource>,
    config: ScreeningSettings,
    current: RwLock<Arc<ScreeningLists>>,
    /// The files' modification times and lengths as they were just before the lists in
    /// force were read (a change during the read triggers another reload); serialises
    /// reloads, so two never build at once.
    loaded_from: Mutex<Fingerprint>,
}

/// Modification time and length of each source file (`None`: could not be read).
type Fingerprint = Vec<Option<(SystemTime, u64)>>;

impl Screener {
    /// Load `sources` and start with them.
    pub fn new(sources: Vec<ListSource>, config: ScreeningSettings) -> Result<Self, ListError> {
        config.validate()?;
        let before = fingerprint(&sources);
        let lists = ScreeningLists::load(&sources)?;
        let me = Self::with_lists(sources, config, lists);
        *me.loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = before;
        Ok(me)
    }

    /// Start with lists already built (from memory, or loaded elsewhere); `reload` reads
    /// `sources`, and `watch` reloads when they change from what they are now.
    pub fn with_lists(
        sources: Vec<ListSource>,
        config: ScreeningSettings,
        lists: ScreeningLists,
    ) -> Self {
        let loaded_from = Mutex::new(fingerprint(&sources));
        Self {
            sources,
            config,
            current: RwLock::new(Arc::new(lists)),
            loaded_from,
        }
    }

    /// The lists in force now.
    pub fn current(&self) -> Arc<ScreeningLists> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Read every source again and swap the new lists in. On error the lists in force stay.
    /// Blocking (reads files, builds the index): call it off the async workers.
    pub fn reload(&self) -> Result<Vec<ListVersion>, ListError> {
        let mut loaded_from = self
            .loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = fingerprint(&self.sources);
        let lists = ScreeningLists::load(&self.sources)?;
        let versions = lists.versions().to_vec();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(lists);
        *loaded_from = before;
        Ok(versions)
    }

    /// Screen a query against the lists in force.
    pub fn screen(&self, query: &ScreeningQuery) -> ScreeningResult {
        self.current().screen(query, &self.config)
    }

    /// Poll the sources' files every `interval` (modification time and length) and reload
    /// when one changed. Success is logged with the new versions, failure with the error (the
    /// previous lists stay in force); a failed file is retried when it changes again.
    pub fn watch(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        // What the lists in force were read from, taken now: a change made before the task
        // first runs is still seen.
        let mut seen = self
            .loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let now = fingerprint(&self.sources);
                if now == seen {
                    continue;
                }
                seen = now;
                let me = Arc::clone(&self);
                match tokio::task::spawn_blocking(move || me.reload()).await {
                    Ok(Ok(versions)) => {
                        for v in &versions {
                            tracing::info!(
                                list = %v.list,
                                sha256 = %v.sha256,
                                entities = v.entities,
                                "screening list reloaded"
                            );
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "screening list reload failed; previous lists stay in force");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "screening list reload panicked; previous lists stay in force");
                    }
                }
            }
        })
    }
}

fn fingerprint(sources: &[ListSource]) -> Fingerprint {
    let stat = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    };
    sources
        .iter()
        .flat_map(|s| std::iter::once(&s.path).chain(s.aliases.as_ref()))
        .map(stat)
        .collect()
}

/// The screening check's record for `result`, given the hit keys ([`Hit::key`]) a reviewer
/// cleared for this subject.
pub fn check_record(
    result: &ScreeningResult,
    cleared: &[String],
    now: DateTime<Utc>,
) -> CheckRecord {
    let (outcome, reasons) = outcome(result, cleared);
    CheckRecord {
        data_version: result.data_version(),
        ..CheckRecord::new(AuditCheck::Screening, outcome, reasons, now)
    }
}

fn outcome(result: &ScreeningResult, cleared: &[String]) -> (CheckOutcome, Vec<Reason>) {
    if result.list_version.is_empty() {
        return (CheckOutcome::NotPerformed, vec![Reason::NoListsConfigured]);
    }
    if result.name_tokens == 0 {
        return (CheckOutcome::Consider, vec![Reason::NameNotScreenable]);
    }
    if result.hits.is_empty() {
        return (CheckOutcome::Clear, vec![Reason::ScreeningClear]);
    }
    let open: Vec<&Hit> = result
        .hits
        .iter()
        // A confirmed sanctions match (strong name, exact birth date) is never cleared.
        .filter(|h| h.is_confirmed_sanction() || !cleared.contains(&h.key()))
        .collect();
    if open.is_empty() {
        return (CheckOutcome::Clear, vec![Reason::ScreeningHitCleared]);
    }
    let mut reasons = Vec::new();
    let mut outcome = CheckOutcome::Consider;
    if open.iter().any(|h| h.is_confirmed_sanction()) {
        outcome = CheckOutcome::Rejected;
        reasons.push(Reason::SanctionsMatchConfirmed);
    } else if open.iter().any(|h| h.kind == HitKind::Sanction) {
        reasons.push(Reason::SanctionsMatch);
    }
    if open.iter().any(|h| h.kind == HitKind::Pep) {
        reasons.push(Reason::PepMatch);
    }
    (outcome, reasons)
}

/// The screening check for the application pipeline. Reviewer clearances are not known here
/// (none are applied); the caller that knows the subject uses [`check_record`] with them.
#[derive(Debug, Clone)]
pub struct ScreeningCheck {
    /// The lists in force.
    pub screener: Arc<Screener>,
}

impl Check for ScreeningCheck {
    fn kind(&self) -> AuditCheck {
        AuditCheck::Screening
    }

    fn run(&self, submission: &Submission, now: DateTime<Utc>) -> CheckRecord {
        let lists = self.screener.current();
        let result = lists.screen_submission(submission, &self.screener.config);
        check_record(&result, &[], now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(list: &str) -> ListVersion {
        ListVersion {
            list: list.into(),
            format: ListFormat::FollowTheMoney,
            file: String::new(),
            sha256: String::new(),
            aliases_sha256: None,
            entities: 0,
            skipped: 0,
            loaded_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn hit(kind: HitKind, reasons: &[&str]) -> Hit {
        Hit {
            list: "l".into(),
            entity_id: format!("{kind:?}"),
            kind,
            score: 0.95,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            name: "ivan sidorov".into(),
        }
    }

    #[test]
    fn outcomes() {
        let none: Vec<String> = Vec::new();
        let empty = ScreeningResult {
            list_version: vec![],
            hits: vec![],
            name_tokens: 2,
        };
        assert_eq!(outcome(&empty, &none).0, CheckOutcome::NotPerformed);
        let mut r = ScreeningResult {
            list_version: vec![version("l")],
            hits: vec![],
            name_tokens: 0,
        };
        assert_eq!(
            outcome(&r, &none),
            (
                CheckOutcome::Consider,
                vec!["name_not_screenable".parse().unwrap()]
            )
        );
        r.name_tokens = 2;
        assert_eq!(
            outcome(&r, &none),
            (
                CheckOutcome::Clear,
                vec!["screening_clear".parse().unwrap()]
            )
        );
        r.hits = vec![hit(HitKind::Pep, &["name_strong", "dob_exact"])];
        assert_eq!(
            outcome(&r, &none),
            (CheckOutcome::Consider, vec!["pep_match".parse().unwrap()])
        );
        r.hits
            .push(hit(HitKind::Sanction, &["name_match", "dob_exact"]));
        assert_eq!(
            outcome(&r, &none),
            (
                CheckOutcome::Consider,
                vec![Reason::SanctionsMatch, Reason::PepMatch]
            )
        );
        r.hits
            .push(hit(HitKind::Sanction, &["name_strong", "dob_exact"]));
        r.hits[2].entity_id = "S2".into();
        assert_eq!(outcome(&r, &none).0, CheckOutcome::Rejected);
        let cleared: Vec<String> = r.hits.iter().map(Hit::key).collect();
        // A confirmed sanctions match is never cleared; the others are.
        assert_eq!(
            outcome(&r, &cleared),
            (
                CheckOutcome::Rejected,
                vec!["sanctions_match_confirmed".parse().unwrap()]
            )
        );
        r.hits.pop();
        assert_eq!(
            outcome(&r, &cleared),
            (
                CheckOutcome::Clear,
                vec!["screening_hit_cleared".parse().unwrap()]
            )
        );
    }

    #[test]
    fn config_is_validated() {
        assert!(ScreeningSettings::default().validate().is_ok());
        let bad = ScreeningSettings {
            threshold: 1.5,
            ..ScreeningSettings::default()
        };
        assert!(matches!(bad.validate(), Err(ListError::Config(_))));
    }
}
